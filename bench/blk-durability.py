#!/usr/bin/env python3
"""blk-durability.py: no acknowledged write is lost when vessel is killed (issue 6).

usage: bench/blk-durability.py [--vessel PATH] [--trials N] [--engine emu|kvm]
                               [--io uring|sync] [--seed S] [--max-kill S]
                               [--max-minutes M] [--quick]

Each trial boots the default guest (scripts/build-guest.sh; $VESSEL_GUEST_DIR or
~/.cache/vessel/guest) with a fresh 16 MiB zeroed image as --disk. The guest writes numbered
records, record n into sector n (`dd ... conv=notrunc,sync,fsync`: the write, then fsync, which
makes the virtio-blk driver send a FLUSH), and prints ACK-n on the serial console only after dd
succeeded. At a random moment (uniform in 0.2..--max-kill seconds after the loop starts)
vessel gets SIGKILL. The host then reads the image: every record the guest acknowledged must be
there, byte for byte. Records written but not acknowledged (in flight at the kill) may or may
not be there; they are counted, not judged.

What this proves: vessel acknowledges a flush only after the data left the process (fdatasync /
IORING_OP_FSYNC done), so killing the VMM loses nothing the guest saw as durable. It does not
simulate host power loss (the host page cache survives a SIGKILL).

Prints one RESULT line per trial, then a summary RESULT line (trials, acknowledged records,
losses). Exit status: 0 no loss, 1 a loss or a trial that could not run, 77 no guest.
"""
import argparse
import os
import random
import re
import signal
import sys
import tempfile
import time

sys.dont_write_bytecode = True
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "integration"))
from guest_console import Guest, GuestError  # noqa: E402
from linux_guest_test import SKIP, engine_can_boot_linux, guest_dir  # noqa: E402

IMAGE_SIZE = 16 << 20
SECTOR = 512
ACK = re.compile(rb"ACK-(\d+)\r?\n")
# The guest loop: record n is "REC%08d\n" padded with zeroes to a sector (conv=sync).
LOOP = ("i=0; while [ $i -lt 30000 ]; do i=$((i+1)); "
        "printf 'REC%08d\\n' $i | dd of=/dev/vda bs=512 seek=$i conv=notrunc,sync,fsync "
        "2>/dev/null && echo ACK-$i; done\n")


def record(n):
    r = f"REC{n:08d}\n".encode()
    return r + bytes(SECTOR - len(r))


def trial(args, gdir, n, rng):
    with tempfile.TemporaryDirectory(prefix="vessel-durability-") as tmp:
        image = os.path.join(tmp, "disk.img")
        with open(image, "wb") as f:
            f.truncate(IMAGE_SIZE)
        argv = [args.vessel, "run", "--engine", args.engine, "--mem", "256",
                "--kernel", os.path.join(gdir, "vmlinux"),
                "--initrd", os.path.join(gdir, "initramfs.cpio.gz"),
                "--cmdline", "console=ttyS0 quiet", "--disk", f"path={image},io={args.io}"]
        guest = Guest(argv)
        try:
            guest.expect(rb"VESSEL-BOOT-OK", args.boot_timeout)
            guest.send("echo READY-$((6*7))\n")
            guest.expect(rb"READY-42", 120)
            guest.buffer = b""
            guest.send(LOOP)
            kill_after = rng.uniform(0.2, args.max_kill)
            deadline = time.monotonic() + kill_after
            while time.monotonic() < deadline:
                guest._read_some(min(0.05, max(0.0, deadline - time.monotonic())))
            guest.proc.send_signal(signal.SIGKILL)
            guest.proc.wait()
            # ACKs already written to the pipe before the kill were seen by the guest as done.
            rest = guest.proc.stdout.read() or b""
            guest.buffer += rest
        except GuestError as e:
            guest.kill()
            print(f"RESULT trial={n} ok=0 error={str(e).splitlines()[0]!r}", flush=True)
            return None
        finally:
            guest.kill()
        acked = sorted({int(m.group(1)) for m in ACK.finditer(guest.buffer)})
        with open(image, "rb") as f:
            data = f.read()
        lost = [i for i in acked if data[i * SECTOR:(i + 1) * SECTOR] != record(i)]
        top = acked[-1] if acked else 0
        extra = sum(1 for i in range(top + 1, top + 4)
                    if data[i * SECTOR:(i + 1) * SECTOR] == record(i))
        print(f"RESULT trial={n} ok=1 kill_after_s={kill_after:.2f} acked={len(acked)} "
              f"last_acked={top} lost={len(lost)} unacked_present={extra}"
              + (f" lost_records={lost[:10]}" if lost else ""), flush=True)
        return len(acked), len(lost)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vessel", default=os.environ.get("VESSEL_BIN") or
                    os.path.join(here, "..", "build", "release", "vessel"))
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--engine", default="emu")
    ap.add_argument("--io", default="uring", choices=["uring", "sync"])
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--max-kill", type=float, default=8.0)
    ap.add_argument("--boot-timeout", type=float, default=600.0)
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="start no new trial after this long")
    ap.add_argument("--quick", action="store_true", help="one trial")
    args = ap.parse_args()
    if args.quick:
        args.trials = 1
    gdir = guest_dir()
    if not os.path.exists(os.path.join(gdir, "vmlinux")):
        print(f"SKIP: no default guest in {gdir} (run scripts/build-guest.sh)")
        return SKIP
    ok, why = engine_can_boot_linux(args.vessel, args.engine)
    if not ok:
        print(f"SKIP: {why}")
        return SKIP
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"seed={seed} trials={args.trials} engine={args.engine} io={args.io}", flush=True)
    done = acked = lost = failed = 0
    start = time.monotonic()
    for n in range(1, args.trials + 1):
        if args.max_minutes is not None and time.monotonic() - start > 60 * args.max_minutes:
            print(f"time budget of {args.max_minutes} min spent: {n - 1} trials run", flush=True)
            break
        r = trial(args, gdir, n, rng)
        if r is None:
            failed += 1
            continue
        done += 1
        acked += r[0]
        lost += r[1]
    print(f"RESULT summary trials={done} failed_trials={failed} acked_records={acked} "
          f"lost_records={lost} io={args.io}", flush=True)
    return 0 if lost == 0 and failed == 0 and done > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
