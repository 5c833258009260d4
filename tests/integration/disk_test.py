#!/usr/bin/env python3
"""A virtio-blk disk used by the default guest, end to end (issue 6).

usage: disk_test.py VESSEL ENGINE
Exit status: 0 pass, 1 fail, 77 skip (no default guest, or the engine cannot boot Linux here).
1. A 16 MiB image whose every 512-byte sector starts with "SECTOR<n>"; boot with
   `--disk path=IMG`; the guest sees /dev/vda of the right size, reads sectors the host wrote,
   writes a string at an offset with dd, syncs and powers off (status 0); the host then finds
   exactly that string at that offset and every other byte unchanged.
2. The same image with `readonly=on`: the guest sees a read-only disk, its write fails, and the
   image's sha256 is unchanged.
"""
import argparse
import hashlib
import os
import sys
import tempfile

sys.dont_write_bytecode = True  # importing the sibling scripts must not litter the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest_console import (SKIP, boot_default_guest, check, default_guest_or_skip,  # noqa: E402
                           power_off, run_checks)

IMAGE_SIZE = 16 << 20
SECTOR = 512
WRITE_OFFSET = 3 * 1024 * 1024 + 100  # not sector aligned: the guest does read-modify-write
WRITE_TEXT = b"VESSEL-DISK-WRITE-0123456789"
PROBE_SECTORS = (0, 7, 4095, 32767)


def sector_bytes(n):
    head = f"SECTOR{n:08d}".encode()
    return (head + bytes((n + i) & 0xFF for i in range(SECTOR - len(head))))


def make_image(path):
    with open(path, "wb") as f:
        for n in range(IMAGE_SIZE // SECTOR):
            f.write(sector_bytes(n))


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def boot(vessel, engine, gdir, disk_arg):
    return boot_default_guest(vessel, engine, gdir, ["--disk", disk_arg])


def check_disk_seen(guest, read_only, failures):
    devices = guest.run("ls /sys/bus/virtio/devices").split()
    check(len(devices) >= 2, f"virtio devices probed: {devices}", failures)
    parts = guest.run("cat /proc/partitions")
    check(" vda" in parts, "/proc/partitions lists vda", failures)
    size = guest.last_line("cat /sys/block/vda/size")
    check(size == str(IMAGE_SIZE // SECTOR), f"/dev/vda has {size} sectors", failures)
    ro = guest.last_line("cat /sys/block/vda/ro")
    check(ro == ("1" if read_only else "0"), f"/sys/block/vda/ro is {ro}", failures)
    for n in PROBE_SECTORS:
        got = guest.last_line(f"dd if=/dev/vda bs={SECTOR} skip={n} count=1 2>/dev/null"
                                   " | head -c 14")
        check(got == f"SECTOR{n:08d}", f"guest reads sector {n}: {got!r}", failures)


def read_write_boot(args, gdir, image, failures):
    guest = boot(args.vessel, args.engine, gdir, f"path={image}")
    try:
        check_disk_seen(guest, False, failures)
        text = WRITE_TEXT.decode()
        out = guest.run(f"printf '%s' '{text}' | dd of=/dev/vda bs=1 seek={WRITE_OFFSET} "
                        f"conv=notrunc 2>/dev/null; echo dd=$?; sync; echo sync=$?")
        check("dd=0" in out and "sync=0" in out, f"guest write and sync: {out!r}", failures)
        guest.run("echo 3 > /proc/sys/vm/drop_caches")
        back = guest.last_line(f"dd if=/dev/vda bs=1 skip={WRITE_OFFSET} "
                                    f"count={len(WRITE_TEXT)} 2>/dev/null")
        check(back == text, f"guest reads its write back: {back!r}", failures)
        power_off(guest, failures)
    finally:
        guest.kill()

    expected = bytearray()
    for n in range(IMAGE_SIZE // SECTOR):
        expected += sector_bytes(n)
    expected[WRITE_OFFSET:WRITE_OFFSET + len(WRITE_TEXT)] = WRITE_TEXT
    with open(image, "rb") as f:
        actual = f.read()
    check(actual[WRITE_OFFSET:WRITE_OFFSET + len(WRITE_TEXT)] == WRITE_TEXT,
          "the image holds the guest's string at its offset", failures)
    diff = [i for i in range(0, IMAGE_SIZE, SECTOR)
            if actual[i:i + SECTOR] != expected[i:i + SECTOR]]
    check(len(actual) == IMAGE_SIZE and not diff,
          f"every other byte is unchanged (differing sectors: {diff[:8]})", failures)


def read_only_boot(args, gdir, image, failures):
    before = sha256(image)
    guest = boot(args.vessel, args.engine, gdir, f"path={image},readonly=on")
    try:
        check_disk_seen(guest, True, failures)
        out = guest.run("printf 'MUST-NOT-LAND' | dd of=/dev/vda bs=1 seek=0 conv=notrunc "
                        "2>/dev/null; echo dd=$?; sync")
        check("dd=" in out and "dd=0" not in out, f"guest write fails: {out!r}", failures)
        power_off(guest, failures)
    finally:
        guest.kill()
    check(sha256(image) == before, "the read-only image is unchanged (sha256)", failures)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vessel")
    ap.add_argument("engine")
    args = ap.parse_args()

    gdir = default_guest_or_skip(args.vessel, args.engine)
    if gdir is None:
        return SKIP

    def boots(failures):
        with tempfile.TemporaryDirectory(prefix="vessel-disk-") as tmp:
            image = os.path.join(tmp, "disk.img")
            make_image(image)
            read_write_boot(args, gdir, image, failures)
            read_only_boot(args, gdir, image, failures)

    return run_checks(boots)


if __name__ == "__main__":
    sys.exit(main())
