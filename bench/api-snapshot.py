#!/usr/bin/env python3
"""API request latency and snapshot create/load cost, vessel next to QEMU (see README.md).

Latency: N GET /machine-config and N PATCH /machine-config over one keep-alive connection to
vessel's API socket, next to N QMP `query-status` commands on QEMU's QMP socket; p50 and p99.
Snapshots, 256 MiB guests on the software engine / TCG:
  - idle: vessel with a spinning payload, QEMU stopped at its reset vector (-S); untouched
    RAM on both. vessel: PUT /snapshot/create and /snapshot/load (new process); QEMU:
    `migrate` to a file and `-incoming` from it. Time, state size, memory file size/on disk.
  - linux (not in --quick): vessel with the default guest booted to its shell.
Usage: api-snapshot.py [--vessel PATH] [--payloads DIR] [-n N] [--quick]
Prints RESULT lines first, then a table. Exit 1 when a run is broken; timings are not checked.
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "120"))


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=TIMEOUT)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(self.path)


def call(conn, method, path, body=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    if r.status >= 300:
        raise RuntimeError(f"{method} {path}: {r.status} {data[:200]!r}")
    return data


def wait_path(path, proc):
    deadline = time.monotonic() + TIMEOUT
    while not os.path.exists(path):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{path} never appeared")
        time.sleep(0.01)


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


class Qmp:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(path)
        self.buf = b""
        self.read()  # greeting
        self.cmd("qmp_capabilities")

    def read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("QMP closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, **args):
        self.sock.sendall(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
        while True:
            msg = self.read()
            if "return" in msg:
                return msg["return"]
            if "error" in msg:
                raise RuntimeError(f"QMP {name}: {msg['error']}")


def start_vessel(vessel, sock, engine="emu"):
    if os.path.exists(sock):
        os.unlink(sock)
    proc = subprocess.Popen([vessel, "run", "--api-sock", sock, "--engine", engine, "--console",
                             "none"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_path(sock, proc)
    return proc


def start_qemu(work, name, extra=()):
    qmp = os.path.join(work, name + ".qmp")
    proc = subprocess.Popen([QEMU, "-M", "pc", "-accel", "tcg", "-m", "256", "-display", "none",
                             "-nodefaults", "-S", "-qmp", f"unix:{qmp},server=on,wait=off",
                             *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_path(qmp, proc)
    return proc, Qmp(qmp)


def stop(proc):
    proc.kill()
    proc.wait()


def vessel_latency(vessel, work, n):
    sock = os.path.join(work, "lat.sock")
    proc = start_vessel(vessel, sock)
    try:
        conn = UnixHTTP(sock)
        gets, patches = [], []
        for i in range(n):
            t = time.perf_counter()
            call(conn, "GET", "/machine-config")
            gets.append(time.perf_counter() - t)
            t = time.perf_counter()
            call(conn, "PATCH", "/machine-config", {"mem_size_mib": 128 + (i % 2) * 128})
            patches.append(time.perf_counter() - t)
        return gets, patches
    finally:
        stop(proc)


def qemu_latency(work, n):
    proc, qmp = start_qemu(work, "lat")
    try:
        times = []
        for _ in range(n):
            t = time.perf_counter()
            qmp.cmd("query-status")
            times.append(time.perf_counter() - t)
        return times
    finally:
        stop(proc)


def files(*paths):
    size = sum(os.path.getsize(p) for p in paths)
    disk = sum(os.stat(p).st_blocks * 512 for p in paths)
    return size, disk


def vessel_snapshot(vessel, work, boot, ready):
    """boot(conn) configures and starts; ready(proc) waits for the guest. Returns figures."""
    sock = os.path.join(work, "snap.sock")
    snap, mem = os.path.join(work, "v.snap"), os.path.join(work, "v.mem")
    proc = start_vessel(vessel, sock)
    try:
        conn = UnixHTTP(sock)
        boot(conn)
        ready()
        conn = UnixHTTP(sock)  # the server closes connections idle for 10 s
        call(conn, "PATCH", "/vm", {"state": "Paused"})
        t = time.perf_counter()
        call(conn, "PUT", "/snapshot/create", {"snapshot_path": snap, "mem_file_path": mem})
        create = time.perf_counter() - t
    finally:
        stop(proc)
    proc = start_vessel(vessel, sock)
    try:
        conn = UnixHTTP(sock)
        t = time.perf_counter()
        call(conn, "PUT", "/snapshot/load",
             {"snapshot_path": snap, "mem_file_path": mem, "resume_vm": True})
        load = time.perf_counter() - t
        if json.loads(call(conn, "GET", "/"))["state"] != "Running":
            raise RuntimeError("restored VM is not running")
    finally:
        stop(proc)
    mem_size, mem_disk = files(mem)
    return create, load, os.path.getsize(snap), mem_size, mem_disk


def qemu_snapshot(work):
    path = os.path.join(work, "q.mig")
    proc, qmp = start_qemu(work, "save")
    try:
        t = time.perf_counter()
        qmp.cmd("migrate", uri=f"exec:cat > {path}")
        while qmp.cmd("query-migrate").get("status") not in ("completed", "failed"):
            time.sleep(0.005)
        create = time.perf_counter() - t
    finally:
        stop(proc)
    t = time.perf_counter()
    proc, qmp = start_qemu(work, "load", ["-incoming", f"exec:cat {path}"])
    try:
        while qmp.cmd("query-migrate").get("status") != "completed":
            time.sleep(0.005)
        load = time.perf_counter() - t  # includes QEMU's start-up, as vessel's includes none
    finally:
        stop(proc)
    size, disk = files(path)
    return create, load, size, size, disk


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vessel", default=os.environ.get("VESSEL_BIN", "build/release/vessel"))
    ap.add_argument("--payloads")
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    vessel = os.path.abspath(args.vessel)
    # busy_guest.bin is built with the integration tests, beside the vessel binary.
    dirs = [d for d in (args.payloads, os.path.join(os.path.dirname(vessel), "tests",
                                                    "integration")) if d]
    spinner = next((os.path.join(d, "busy_guest.bin") for d in dirs
                    if os.path.exists(os.path.join(d, "busy_guest.bin"))), None)
    if not spinner:
        print(f"FAILED: busy_guest.bin not found in {dirs}", file=sys.stderr)
        return 1
    n = 50 if args.quick else args.n
    have_qemu = shutil.which(QEMU) is not None
    work = tempfile.mkdtemp(prefix="vessel-bench-api-")
    rows = []
    try:
        gets, patches = vessel_latency(vessel, work, n)
        for name, v in (("get", gets), ("patch", patches)):
            p50, p99 = percentile(v, 50) * 1e6, percentile(v, 99) * 1e6
            print(f"RESULT api_latency vmm=vessel request={name} n={n} p50_us={p50:.0f} "
                  f"p99_us={p99:.0f}")
            rows.append((f"API {name} /machine-config", "vessel", f"p50 {p50:.0f} µs",
                         f"p99 {p99:.0f} µs"))
        if have_qemu:
            q = qemu_latency(work, n)
            p50, p99 = percentile(q, 50) * 1e6, percentile(q, 99) * 1e6
            print(f"RESULT api_latency vmm=qemu request=qmp-query-status n={n} p50_us={p50:.0f} "
                  f"p99_us={p99:.0f}")
            rows.append(("QMP query-status", "qemu", f"p50 {p50:.0f} µs", f"p99 {p99:.0f} µs"))

        def boot_spinner(conn):
            call(conn, "PUT", "/boot-source", {"kernel_image_path": spinner})
            call(conn, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 256})
            call(conn, "PUT", "/actions", {"action_type": "InstanceStart"})

        cases = [("idle", "vessel", lambda: vessel_snapshot(vessel, work, boot_spinner,
                                                            lambda: time.sleep(0.2)))]
        if have_qemu:
            cases.append(("idle", "qemu", lambda: qemu_snapshot(work)))
        gdir = os.environ.get("VESSEL_GUEST_DIR") or os.path.expanduser("~/.cache/vessel/guest")
        if not args.quick and os.path.exists(os.path.join(gdir, "vmlinux")):
            def boot_linux(conn):
                call(conn, "PUT", "/boot-source", {
                    "kernel_image_path": os.path.join(gdir, "vmlinux"),
                    "initrd_path": os.path.join(gdir, "initramfs.cpio.gz"),
                    "boot_args": "console=ttyS0 quiet"})
                call(conn, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 256})
                call(conn, "PUT", "/actions", {"action_type": "InstanceStart"})
            # No console here: give the kernel time to boot and settle (~25 s quiet).
            cases.append(("linux", "vessel", lambda: vessel_snapshot(
                vessel, work, boot_linux, lambda: time.sleep(60))))
        for guest, vmm, run in cases:
            create, load, state, mem, disk = run()
            print(f"RESULT snapshot vmm={vmm} guest={guest} mem_mib=256 create_s={create:.3f} "
                  f"load_s={load:.3f} state_bytes={state} mem_bytes={mem} mem_disk_bytes={disk}")
            rows.append((f"snapshot {guest} 256 MiB", vmm,
                         f"create {create * 1000:.0f} ms, load {load * 1000:.0f} ms",
                         f"state {state} B, memory {mem >> 20} MiB ({disk >> 20} MiB on disk)"))
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    for r in rows:
        print(f"{r[0]:<28} {r[1]:<7} {r[2]:<34} {r[3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
