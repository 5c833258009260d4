#!/usr/bin/env bash
# API latency and snapshot cost: see api-snapshot.py and README.md.
exec python3 "$(dirname "$0")/api-snapshot.py" "$@"
