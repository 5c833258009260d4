#!/usr/bin/env python3
"""API robustness: at least 1,000 malformed or adversarial requests against `vessel run
--api-sock`, before and after boot. Every one must get a 4xx answer carrying a JSON
{"fault_message": ...}, and the server must keep answering (GET / stays 200) with the VM
running after boot. Covers wrong types, missing and unknown fields, bad JSON, huge bodies
(declared and chunked), wrong verbs and paths, actions out of order, slow clients that send
half a request, and many idle connections at once. Then the paused phase (snapshots allowed,
bad ones refused), and a fresh vessel that must refuse damaged snapshot files (truncated,
corrupt, wrong magic or version, short memory file) with a 4xx and stay usable.

Usage: api_robustness.py VESSEL_BIN GUEST_BIN   (GUEST_BIN: a flat payload that keeps running)
Standard library only.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

VESSEL, GUEST = sys.argv[1], sys.argv[2]
WORK = tempfile.mkdtemp(prefix="vessel-robust-")
SOCK = os.path.join(WORK, "api.sock")
checked = 0
failures = []


def connect(timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(SOCK)
    return s


def start_vessel(log):
    proc = subprocess.Popen([VESSEL, "run", "--api-sock", SOCK, "--engine",
                             os.environ.get("VESSEL_ENGINE", "emu"), "--console", "none"],
                            stdout=subprocess.DEVNULL, stderr=log)
    for _ in range(200):
        if os.path.exists(SOCK):
            break
        time.sleep(0.05)
    return proc


def stop_vessel(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def damaged_snapshots(snap, mem):
    """(what, snapshot path, memory path) variants of a good snapshot that must be refused."""
    data = open(snap, "rb").read()
    variants = []

    def write(name, content, mem_path=mem):
        path = os.path.join(WORK, name)
        with open(path, "wb") as f:
            f.write(content)
        variants.append((name, path, mem_path))

    for cut in (0, 7, 12, 20, len(data) // 3, len(data) // 2, len(data) - 5, len(data) - 1):
        write(f"truncated-{cut}", data[:cut])
    for at in (16, len(data) // 2, len(data) - 2):
        flipped = bytearray(data)
        flipped[at] ^= 0x20
        write(f"flipped-{at}", bytes(flipped))
    write("magic", b"XESSELSN" + data[8:])
    write("version", data[:8] + bytes([99, 0, 0, 0]) + data[12:])
    write("padded", data + b"\0" * 16)
    short_mem = os.path.join(WORK, "short.mem")
    with open(mem, "rb") as f, open(short_mem, "wb") as out:
        out.write(f.read(1 << 20))
    variants.append(("short memory file", snap, short_mem))
    variants.append(("missing memory file", snap, os.path.join(WORK, "nothing.mem")))
    variants.append(("missing snapshot", os.path.join(WORK, "nothing.snap"), mem))
    variants.append(("memory file as snapshot", mem, mem))
    return variants


def read_response(s):
    """Reads one HTTP response; returns (status, body) or (None, reason)."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                return None, "closed before a response"
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        return status, rest[:length]
    except (socket.timeout, OSError) as e:
        return None, str(e)


def raw(request_bytes, timeout=5.0):
    s = connect(timeout)
    try:
        try:
            s.sendall(request_bytes)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early and closed; the answer may still be readable
        return read_response(s)
    finally:
        s.close()


def request(method, path, body=None, headers=None):
    head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n"
    for k, v in (headers or {}).items():
        head += f"{k}: {v}\r\n"
    payload = b""
    if body is not None:
        payload = body if isinstance(body, bytes) else body.encode()
        head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
    head += "Connection: close\r\n\r\n"
    return raw(head.encode("latin-1") + payload)


def check_fault(what, result):
    """One adversarial request: 4xx with a fault_message."""
    global checked
    checked += 1
    status, body = result
    ok = status is not None and 400 <= status < 500
    if ok:
        try:
            ok = isinstance(json.loads(body)["fault_message"], str)
        except (ValueError, KeyError, TypeError):
            ok = False
    if not ok:
        failures.append(f"{what}: got {status} {body[:200]!r}")


def check_alive(expected_state):
    status, body = request("GET", "/")
    if status != 200 or json.loads(body)["state"] != expected_state:
        failures.append(f"server not healthy: {status} {body!r}")
        return False
    return True


# Schemas: endpoint → (method, path, valid body, {field: a value of the right type}).
RESOURCES = [
    ("PUT", "/boot-source", {"kernel_image_path": GUEST, "boot_args": "x", "initrd_path": "/i"}),
    ("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 16, "smt": False,
                                "track_dirty_pages": False, "engine": "emu"}),
    ("PATCH", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 16, "smt": False}),
    ("PUT", "/drives/d1", {"drive_id": "d1", "path_on_host": "/x", "is_root_device": False,
                           "is_read_only": True, "partuuid": "p", "cache_type": "Unsafe"}),
    ("PATCH", "/drives/d1", {"drive_id": "d1", "path_on_host": "/x"}),
    ("PUT", "/network-interfaces/e1", {"iface_id": "e1", "host_dev_name": "tap9",
                                       "guest_mac": "06:00:00:00:00:01"}),
    ("PATCH", "/network-interfaces/e1", {"iface_id": "e1", "rx_rate_limiter": {}}),
    ("PUT", "/logger", {"log_path": "/tmp/x", "level": "Info", "show_level": True}),
    ("PUT", "/metrics", {"metrics_path": "/tmp/y"}),
    ("PUT", "/actions", {"action_type": "FlushMetrics"}),
    ("PATCH", "/vm", {"state": "Paused"}),
    ("PUT", "/snapshot/create", {"snapshot_path": "/s", "mem_file_path": "/m",
                                 "snapshot_type": "Full"}),
    ("PUT", "/snapshot/load", {"snapshot_path": "/s", "mem_file_path": "/m", "resume_vm": False}),
    ("PUT", "/entropy", {"rate_limiter": {}}),
]
# Values of each JSON type; a field gets every one that is not of its own type.
# (null is left out: like serde, vessel reads null in an optional field as "absent".)
SAMPLES = [1, -1, 1.5, 10**30, "s", "", True, [], [1, 2], {}, {"a": 1}]


def same_type(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, int) and isinstance(b, int):
        return a >= 0 and b >= 0 and b < 2**64
    return type(a) is type(b)


def adversarial_bodies():
    for method, path, valid in RESOURCES:
        for field, good in valid.items():
            for bad in SAMPLES:
                if not same_type(good, bad):
                    body = dict(valid)
                    body[field] = bad
                    yield f"wrong type {method} {path} {field}={bad!r}", method, path, body
            missing = {k: v for k, v in valid.items() if k != field}
            # Firecracker's required fields; dropping an optional one is fine, so only these.
            if method == "PUT" and field in ("kernel_image_path", "vcpu_count", "mem_size_mib", "drive_id",
                         "is_root_device", "iface_id", "host_dev_name", "metrics_path",
                         "action_type", "state", "snapshot_path"):
                yield f"missing {method} {path} {field}", method, path, missing
        for unknown in ("foo", "Kernel_Image_Path", "vcpu-count", "", "__proto__"):
            body = dict(valid)
            body[unknown] = 1
            yield f"unknown field {method} {path} {unknown!r}", method, path, body
        for top in ([], [valid], "x", 3, None, True):
            yield f"not an object {method} {path} {top!r}", method, path, top
    # Semantic refusals: values of the right type that break a rule.
    rules = [
        ("PUT", "/machine-config", {"vcpu_count": 0, "mem_size_mib": 16}),
        ("PUT", "/machine-config", {"vcpu_count": 33, "mem_size_mib": 16}),
        ("PUT", "/machine-config", {"vcpu_count": 3, "mem_size_mib": 16, "smt": True}),
        ("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 0}),
        ("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 16, "engine": "xen"}),
        ("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 16, "cpu_template": "T2"}),
        ("PATCH", "/machine-config", {}),
        ("PUT", "/drives/d1", {"drive_id": "d2", "path_on_host": "/x", "is_root_device": False}),
        ("PUT", "/drives/d-1", {"drive_id": "d-1", "path_on_host": "/x", "is_root_device": False}),
        ("PUT", "/drives/d1", {"drive_id": "d1", "path_on_host": "", "is_root_device": False}),
        ("PUT", "/network-interfaces/e1", {"iface_id": "e1", "host_dev_name": "tap0",
                                           "guest_mac": "06:00:00:00:00"}),
        ("PUT", "/network-interfaces/e1", {"iface_id": "e1", "host_dev_name": "x" * 20}),
        ("PUT", "/actions", {"action_type": "Reboot"}),
        ("PATCH", "/vm", {"state": "Stopped"}),
        ("PUT", "/logger", {"level": "Loud"}),
        ("PUT", "/snapshot/load", {"snapshot_path": "/s"}),
        ("PUT", "/snapshot/create", {"snapshot_path": "/s", "mem_file_path": "/m",
                                     "snapshot_type": "Half"}),
    ]
    for method, path, body in rules:
        yield f"rule {method} {path} {body}", method, path, body


BAD_JSON = [b"{", b"}", b"{\"a\":}", b"{'a': 1}", b"nul", b"\xff\xfe\xfd", b"{\"a\": \"\xc3\x28\"}",
            b"[" * 5000, b"{\"a\":1,}", b"{\"a\" 1}", b"\x00", b"{\"a\":1}{\"b\":2}",
            b"{\"kernel_image_path\": \"/k\"", b"1e999999", b"\"unterminated"]
VERBS_PATHS = [("POST", "/actions"), ("DELETE", "/drives/d1"), ("OPTIONS", "/"),
               ("GET", "/boot-source"), ("GET", "/drives/d1"), ("PUT", "/"),
               ("PUT", "/nonexistent"), ("PATCH", "/boot-source"), ("PUT", "/snapshot"),
               ("PUT", "/snapshot/delete"), ("PUT", "/drives/a/b/c"), ("GET", "/vm/state"),
               ("PUT", "/" + "a" * 4000), ("GET", "/%00"), ("PUT", "/../etc/passwd"),
               ("TRACE", "/"), ("CONNECT", "/"), ("FOO", "/machine-config")]


def sweep(phase_state, out_of_order):
    valid_bodies = 0
    for what, method, path, body in adversarial_bodies():
        check_fault(f"[{phase_state}] {what}", request(method, path, json.dumps(body)))
        valid_bodies += 1
    for data in BAD_JSON:
        for method, path, _ in RESOURCES:
            check_fault(f"[{phase_state}] bad json {data[:20]!r} {path}", request(method, path, data))
    for method, path in VERBS_PATHS:
        check_fault(f"[{phase_state}] verb/path {method} {path[:40]}", request(method, path, "{}"))
        check_fault(f"[{phase_state}] verb/path no body {method} {path[:40]}", request(method, path))
    check_fault(f"[{phase_state}] GET with a body", request("GET", "/", "{}"))
    for method, path, body in out_of_order:
        check_fault(f"[{phase_state}] out of order {method} {path}",
                    request(method, path, json.dumps(body)))
    # Bodies above the 51,200-byte limit: declared, and streamed in chunks.
    big = json.dumps({"kernel_image_path": "x" * 60000})
    check_fault(f"[{phase_state}] 60 KB body", request("PUT", "/boot-source", big))
    check_fault(f"[{phase_state}] 1 GB declared", raw(
        b"PUT /boot-source HTTP/1.1\r\nHost: l\r\nContent-Length: 1000000000\r\n\r\n{"))
    chunked = b"PUT /boot-source HTTP/1.1\r\nHost: l\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunked += (b"4000\r\n" + b" " * 0x4000 + b"\r\n") * 8 + b"0\r\n\r\n"
    check_fault(f"[{phase_state}] 128 KB chunked", raw(chunked))


def slow_clients_and_many_connections(state):
    # Half-sent requests must not block anyone else.
    slow = []
    for i in range(20):
        s = connect()
        s.sendall(b"PUT /boot-source HTTP/1.1\r\nHost: l\r\nContent-Length: 100\r\n\r\n{\"ker")
        slow.append(s)
    idle = [connect() for _ in range(30)]
    t0 = time.monotonic()
    for _ in range(20):
        check_fault(f"[{state}] while slow clients wait", request("PUT", "/nothing", "{}"))
    if time.monotonic() - t0 > 5:
        failures.append("requests were slowed down by slow clients")
    check_alive(state)
    # The slow ones are cut off by the idle timeout (10 s), without an answer or with a 4xx.
    deadline = time.monotonic() + 20
    closed = 0
    for s in slow:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            data = s.recv(4096)
            closed += 1
            if data and not data.startswith(b"HTTP/1.1 4"):
                failures.append(f"slow client got {data[:40]!r}")
        except socket.timeout:
            failures.append("a slow client was never timed out")
        s.close()
    for s in idle:
        s.close()
    if closed != len(slow):
        failures.append(f"only {closed} of {len(slow)} slow clients were closed")


def paused_phase_and_snapshot(snap, mem):
    """Pause, adversarial requests while paused, a good snapshot, resume."""
    status, answer = request("PATCH", "/vm", json.dumps({"state": "Paused"}))
    if status != 204:
        failures.append(f"pause: {status} {answer!r}")
        return False
    if not check_alive("Paused"):
        return False
    paused_out_of_order = [
        ("PUT", "/snapshot/create", {"snapshot_path": "/nonexistent/dir/s",
                                     "mem_file_path": "/nonexistent/dir/m"}),
        ("PUT", "/snapshot/create", {"snapshot_path": snap, "mem_file_path": mem,
                                     "snapshot_type": "Diff"}),  # no dirty page tracking
        ("PUT", "/snapshot/load", {"snapshot_path": snap, "mem_file_path": mem}),
        ("PUT", "/actions", {"action_type": "InstanceStart"}),
        ("PUT", "/actions", {"action_type": "SendCtrlAltDel"}),  # a payload has no keyboard
        ("PUT", "/boot-source", {"kernel_image_path": GUEST}),
    ]
    sweep("Paused", paused_out_of_order * 5)
    status, answer = request("PUT", "/snapshot/create", json.dumps(
        {"snapshot_path": snap, "mem_file_path": mem, "snapshot_type": "Full"}))
    if status != 204:
        failures.append(f"snapshot create: {status} {answer!r}")
        return False
    status, answer = request("PATCH", "/vm", json.dumps({"state": "Resumed"}))
    if status != 204:
        failures.append(f"resume: {status} {answer!r}")
    return check_alive("Running")


def damaged_snapshot_loads(log, snap, mem):
    """A fresh vessel refuses every damaged variant, then loads the good snapshot."""
    proc = start_vessel(log)
    try:
        if not check_alive("Not started"):
            return
        for what, path, mem_path in damaged_snapshots(snap, mem):
            for body in ({"snapshot_path": path, "mem_file_path": mem_path},
                         {"snapshot_path": path, "resume_vm": True,
                          "mem_backend": {"backend_type": "File", "backend_path": mem_path}}):
                check_fault(f"[load] {what}", request("PUT", "/snapshot/load", json.dumps(body)))
            check_alive("Not started")  # nothing half-loaded
        status, answer = request("PUT", "/snapshot/load",
                                 json.dumps({"snapshot_path": snap, "mem_file_path": mem}))
        if status != 204:
            failures.append(f"good snapshot after damaged ones: {status} {answer!r}")
            return
        check_alive("Paused")  # resume_vm false
        check_fault("[load] a second load", request("PUT", "/snapshot/load", json.dumps(
            {"snapshot_path": snap, "mem_file_path": mem})))
        request("PATCH", "/vm", json.dumps({"state": "Resumed"}))
        check_alive("Running")
        if proc.poll() is not None:
            failures.append(f"restored vessel exited with {proc.returncode}")
    finally:
        stop_vessel(proc)


def main():
    log = open(os.path.join(WORK, "vessel.log"), "w")
    proc = start_vessel(log)
    snap, mem = os.path.join(WORK, "vm.snap"), os.path.join(WORK, "vm.mem")
    try:
        if not check_alive("Not started"):
            return 1
        pre_boot_out_of_order = [
            ("PATCH", "/vm", {"state": "Paused"}), ("PATCH", "/vm", {"state": "Resumed"}),
            ("PUT", "/snapshot/create", {"snapshot_path": "/s", "mem_file_path": "/m"}),
            ("PUT", "/actions", {"action_type": "SendCtrlAltDel"}),
            ("PUT", "/actions", {"action_type": "InstanceStart"}),  # no boot-source yet
            ("PATCH", "/drives/d1", {"drive_id": "d1", "path_on_host": "/x"}),
            ("PATCH", "/network-interfaces/e1", {"iface_id": "e1"}),
            ("PUT", "/actions", {"action_type": "FlushMetrics"}),  # metrics not configured
        ]
        sweep("Not started", pre_boot_out_of_order * 5)
        slow_clients_and_many_connections("Not started")

        for method, path, body in [
                ("PUT", "/boot-source", {"kernel_image_path": GUEST}),
                ("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 16}),
                ("PUT", "/actions", {"action_type": "InstanceStart"})]:
            status, answer = request(method, path, json.dumps(body))
            if status != 204:
                failures.append(f"setup {method} {path}: {status} {answer!r}")
        if not check_alive("Running"):
            return 1
        post_boot_out_of_order = [
            ("PUT", "/boot-source", {"kernel_image_path": GUEST}),
            ("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 16}),
            ("PATCH", "/machine-config", {"mem_size_mib": 32}),
            ("PUT", "/drives/d9", {"drive_id": "d9", "path_on_host": "/x", "is_root_device": False}),
            ("PUT", "/network-interfaces/e9", {"iface_id": "e9", "host_dev_name": "tap9"}),
            ("PUT", "/actions", {"action_type": "InstanceStart"}),
            ("PUT", "/snapshot/load", {"snapshot_path": "/s", "mem_file_path": "/m"}),
            ("PUT", "/logger", {"level": "Info"}),
            ("PUT", "/metrics", {"metrics_path": "/tmp/m"}),
            ("PUT", "/entropy", {}),
            ("PUT", "/snapshot/create", {"snapshot_path": "/s", "mem_file_path": "/m"}),  # not paused
            ("PATCH", "/drives/nope", {"drive_id": "nope", "path_on_host": "/x"}),
        ]
        sweep("Running", post_boot_out_of_order * 5)
        slow_clients_and_many_connections("Running")
        check_alive("Running")
        snapshot_ok = paused_phase_and_snapshot(snap, mem)
        if proc.poll() is not None:
            failures.append(f"vessel exited with {proc.returncode}")
        stop_vessel(proc)
        if snapshot_ok:
            damaged_snapshot_loads(log, snap, mem)
    finally:
        stop_vessel(proc)
        log.close()
    print(f"{checked} adversarial requests checked, {len(failures)} failures")
    for f in failures[:40]:
        print("FAIL:", f)
    if checked < 1000:
        print("FAIL: fewer than 1,000 adversarial requests")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
