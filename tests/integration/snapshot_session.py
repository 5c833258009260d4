#!/usr/bin/env python3
"""Pause, snapshot and restore in a fresh process, driven with curl as Firecracker's guide does.

usage: snapshot_session.py VESSEL [MEM_MIB]
Configures the default guest on the software engine over the API socket, starts it, runs a
loop printing an increasing counter every 0.5 s on the console, pauses (the counter stops),
creates a Full snapshot, kills vessel, starts a new vessel, loads the snapshot with
resume_vm, and checks that the counter goes on from where it was (not from 1), that the
guest's clock did not jump by the time vessel was gone, and that the guest still answers
commands, then that SendCtrlAltDel makes the guest restart. Exit status: 0 pass, 1 fail, 77 skip (no default guest or no curl).
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
from linux_guest_test import guest_dir  # noqa: E402

SKIP = 77
LOOP_END = 20
BOOT_TIMEOUT = 360  # ~25 s on a quiet machine; 150 s was seen on a loaded 2-core host


def curl(sock, method, path, body=None):
    argv = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--unix-socket", sock, "-X", method,
            f"http://localhost{path}"]
    if body is not None:
        argv += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120).stdout
    text, _, code = out.rpartition("\n")
    return int(code or 0), text


def expect(sock, status, method, path, body=None, contains=""):
    code, text = curl(sock, method, path, body)
    if code != status or contains not in text:
        raise GuestError(f"{method} {path} {body} -> {code} {text!r} (want {status} {contains!r})")
    return text


def wait_socket(sock, guest):
    for _ in range(200):
        if os.path.exists(sock) and curl(sock, "GET", "/machine-config")[0] == 200:
            return
        if guest.proc.poll() is not None:
            raise GuestError(f"vessel exited: {guest.proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.05)
    raise GuestError("the API socket never answered")


def counters(text):
    """(counter, guest uptime) pairs from the loop's lines."""
    return [(int(n), float(t)) for n, t in re.findall(r"CNT (\d+) ([0-9.]+)", text)]


def main():
    vessel = sys.argv[1]
    mem_mib = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    gdir = guest_dir()
    kernel, initrd = os.path.join(gdir, "vmlinux"), os.path.join(gdir, "initramfs.cpio.gz")
    if not (os.path.exists(kernel) and os.path.exists(initrd)):
        print(f"default guest not built in {gdir}: skipped")
        return SKIP
    if not shutil.which("curl"):
        print("curl is not installed: skipped")
        return SKIP
    work = tempfile.mkdtemp(prefix="vessel-snap-")
    sock, snap, mem = (os.path.join(work, n) for n in ("api.sock", "vm.snap", "vm.mem"))
    first = second = None
    try:
        first = Guest([vessel, "run", "--api-sock", sock], os.path.join(work, "console1.log"))
        wait_socket(sock, first)
        expect(sock, 204, "PUT", "/boot-source",
               {"kernel_image_path": kernel, "initrd_path": initrd,
                "boot_args": "console=ttyS0 quiet"})
        expect(sock, 204, "PUT", "/machine-config",
               {"vcpu_count": 1, "mem_size_mib": mem_mib, "engine": "emu"})
        expect(sock, 400, "PUT", "/snapshot/create", {"snapshot_path": snap, "mem_file_path": mem},
               "before starting")
        expect(sock, 204, "PUT", "/actions", {"action_type": "InstanceStart"})
        first.expect(rb"VESSEL-BOOT-OK", BOOT_TIMEOUT)
        first.run("echo ready", timeout=60)
        # Snapshots are taken while paused only (Firecracker's rule).
        expect(sock, 400, "PUT", "/snapshot/create", {"snapshot_path": snap, "mem_file_path": mem},
               "paused")
        # A finite loop: the shell has no job control on the console, so Ctrl-C cannot end it.
        first.send(f"i=0; while [ $i -lt {LOOP_END} ]; do i=$((i+1)); "
                   "echo CNT $i $(cut -d' ' -f1 /proc/uptime); sleep 0.5; done\n")
        first.expect(rb"CNT 6 [0-9.]+\r?\n", 60)
        expect(sock, 204, "PATCH", "/vm", {"state": "Paused"})
        paused_at = time.monotonic()
        expect(sock, 200, "GET", "/", contains='"state":"Paused"')
        # Paused means paused: no counter line for a while (one already in the pipe may land).
        log1 = os.path.join(work, "console1.log")
        time.sleep(0.3)
        while first._read_some(0.2):
            pass
        before = counters(open(log1, "rb").read().decode(errors="replace"))
        time.sleep(2.0)
        while first._read_some(0.2):
            pass
        after = counters(open(log1, "rb").read().decode(errors="replace"))
        if len(after) != len(before):
            raise GuestError(f"the guest printed while paused: {after[len(before):]}")
        last, last_uptime = after[-1]
        start = time.monotonic()
        expect(sock, 204, "PUT", "/snapshot/create",
               {"snapshot_type": "Full", "snapshot_path": snap, "mem_file_path": mem})
        print(f"snapshot created in {time.monotonic() - start:.2f}s: state "
              f"{os.path.getsize(snap)} bytes, memory {os.path.getsize(mem) >> 20} MiB "
              f"({os.stat(mem).st_blocks * 512 >> 20} MiB on disk)")
        first.kill()
        os.unlink(sock) if os.path.exists(sock) else None

        time.sleep(4)  # the guest must not see these seconds pass
        second = Guest([vessel, "run", "--api-sock", sock], os.path.join(work, "console2.log"))
        wait_socket(sock, second)
        start = time.monotonic()
        expect(sock, 204, "PUT", "/snapshot/load",
               {"snapshot_path": snap, "mem_backend": {"backend_type": "File",
                                                       "backend_path": mem},
                "resume_vm": True})
        print(f"snapshot loaded in {time.monotonic() - start:.2f}s")
        host_gap = time.monotonic() - paused_at
        expect(sock, 200, "GET", "/", contains='"state":"Running"')
        second.expect(rb"CNT \d+ [0-9.]+\r?\n", 60)
        second.expect(rb"CNT \d+ [0-9.]+\r?\n", 30)
        # The counter lines the restored guest printed, from its console log.
        text = open(os.path.join(work, "console2.log"), "rb").read().decode(errors="replace")
        seen = counters(text)
        if not seen or seen[0][0] != last + 1:
            raise GuestError(f"counter after restore: {seen[:5]}, expected to go on from {last}")
        # One loop step of guest time between the last line before the pause and the first
        # after the restore, not the seconds vessel was paused and gone.
        guest_gap = seen[0][1] - last_uptime
        if not 0 <= guest_gap < host_gap - 2:
            raise GuestError(f"guest uptime moved {guest_gap:.2f}s across a {host_gap:.2f}s pause")
        # The loop runs to its end and the shell answers (typed ahead, run after the loop).
        out = second.run("echo $((6*7))", timeout=120)
        if f"CNT {LOOP_END} " not in open(os.path.join(work, "console2.log"), "rb").read().decode(
                errors="replace"):
            raise GuestError("the loop did not run to its end after the restore")
        if "42" not in out:
            raise GuestError(f"the restored guest does not answer: {out!r}")
        print(f"counter went on from {last} to {seen[0][0]} after the restore; guest uptime "
              f"moved {guest_gap:.2f}s across {host_gap:.2f}s paused/gone; guest answers")
        expect(sock, 204, "PATCH", "/vm", {"state": "Paused"})
        expect(sock, 204, "PATCH", "/vm", {"state": "Resumed"})
        out = second.run("echo again", timeout=60)
        if "again" not in out:
            raise GuestError("no answer after a second pause/resume")
        # SendCtrlAltDel presses the keys on the (restored) i8042; Linux's default
        # ctrl-alt-del sysctl restarts the machine, which ends vessel with status 0.
        expect(sock, 204, "PUT", "/actions", {"action_type": "SendCtrlAltDel"})
        status = second.wait_exit(120)
        if status != 0:
            raise GuestError(f"after Ctrl-Alt-Del vessel exited with {status}, expected 0")
        print("Ctrl-Alt-Del: the guest restarted")
        print("snapshot session: all checks passed")
        return 0
    except GuestError as e:
        print(f"FAIL: {e}")
        for g in (first, second):
            if g and g.proc.poll() is not None:
                print(g.proc.stderr.read().decode(errors="replace")[-3000:])
        return 1
    finally:
        for g in (first, second):
            if g:
                g.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
