#!/usr/bin/env python3
"""Payload-level snapshots on both engines, and across them.

usage: payload_snapshot.py VESSEL COUNTER_GUEST_BIN
For each (engine that takes the snapshot, engine that loads it) among kvm and emu: boots
counter_guest.bin (a real-mode loop printing an increasing counter) through the API, pauses,
snapshots, kills vessel, loads the snapshot in a fresh vessel started with --engine LOADER,
resumes, and checks the counter goes on from the last value printed. Combinations needing an
engine this host cannot run are skipped with the reason. Exit: 0 pass, 1 fail, 77 all skipped.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest_console import Guest, GuestError  # noqa: E402
from snapshot_session import expect, wait_socket  # noqa: E402

SKIP = 77


def engine_works(vessel, guest, engine):
    try:
        out = subprocess.run([vessel, "run", "--engine", engine, "--kernel", guest],
                             capture_output=True, timeout=2)
        return b"\n3\n" in out.stdout, out.stderr.decode(errors="replace").strip()
    except subprocess.TimeoutExpired as e:  # the payload never ends: look at what it printed
        return b"\n3\n" in (e.stdout or b""), "no output"


def last_counter(log):
    values = [int(n) for n in re.findall(r"^(\d+)\r?$", open(log).read(), re.M)]
    return values[-1] if values else 0


def round_trip(vessel, guest, work, taker, loader):
    sock = os.path.join(work, "api.sock")
    snap, mem = os.path.join(work, "vm.snap"), os.path.join(work, "vm.mem")
    log1, log2 = os.path.join(work, "c1.log"), os.path.join(work, "c2.log")
    first = Guest([vessel, "run", "--api-sock", sock, "--engine", taker], log1)
    second = None
    try:
        wait_socket(sock, first)
        expect(sock, 204, "PUT", "/boot-source", {"kernel_image_path": guest})
        expect(sock, 204, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 16})
        metrics = os.path.join(work, "metrics")
        expect(sock, 204, "PUT", "/metrics", {"metrics_path": metrics})
        expect(sock, 204, "PUT", "/actions", {"action_type": "InstanceStart"})
        first.expect(rb"\n5\r?\n", 30)
        expect(sock, 204, "PATCH", "/vm", {"state": "Paused"})
        # The machine's figures reach the metrics (Firecracker's layout): the payload's
        # console bytes are UART writes, each an I/O port write.
        expect(sock, 204, "PUT", "/actions", {"action_type": "FlushMetrics"})
        line = json.loads(open(metrics).read().splitlines()[-1])
        if line["uart"]["write_count"] < 10 or line["vcpu"]["exit_io_out"] < 10:
            raise GuestError(f"metrics without the guest's output: {line['uart']} {line['vcpu']}")
        time.sleep(0.3)
        while first._read_some(0.2):
            pass
        last = last_counter(log1)
        expect(sock, 204, "PUT", "/snapshot/create", {"snapshot_path": snap, "mem_file_path": mem})
        first.kill()
        if os.path.exists(sock):
            os.unlink(sock)
        second = Guest([vessel, "run", "--api-sock", sock, "--engine", loader], log2)
        wait_socket(sock, second)
        expect(sock, 204, "PUT", "/snapshot/load",
               {"snapshot_path": snap, "mem_file_path": mem, "resume_vm": True})
        second.expect(rb"\d+\r?\n\d+\r?\n", 30)
        first_after = int(re.search(r"(\d+)", open(log2).read()).group(1))
        if first_after != last + 1:
            raise GuestError(f"{taker} -> {loader}: counter {last} then {first_after}")
        print(f"{taker} -> {loader}: counter went on from {last} to {first_after}")
    finally:
        for g in (first, second):
            if g:
                g.kill()
        if os.path.exists(sock):
            os.unlink(sock)


def main():
    vessel, guest = sys.argv[1], sys.argv[2]
    if not shutil.which("curl"):
        print("curl is not installed: skipped")
        return SKIP
    usable = []
    for engine in ("kvm", "emu"):
        ok, why = engine_works(vessel, guest, engine)
        if ok:
            usable.append(engine)
        else:
            print(f"engine {engine} cannot run the payload here ({why}): its cases skipped")
    if not usable:
        return SKIP
    work = tempfile.mkdtemp(prefix="vessel-psnap-")
    try:
        for taker in usable:
            for loader in usable:
                round_trip(vessel, guest, work, taker, loader)
    except GuestError as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("payload snapshots: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
