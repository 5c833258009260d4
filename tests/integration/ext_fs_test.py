#!/usr/bin/env python3
"""A filesystem made in the guest on a virtio-blk disk survives a new VM (issue 6).

usage: ext_fs_test.py VESSEL ENGINE
Exit status: 0 pass, 1 fail, 77 skip (no default guest, or the engine cannot boot Linux here).
1. Boot with a blank 64 MiB image: the guest makes an ext2 filesystem (busybox mke2fs), mounts
   it with the ext4 driver, writes 2 MiB of random data and notes its sha256, unmounts and
   powers off.
2. On the host: e2fsck -fn finds the filesystem clean, and debugfs reads the same file (same
   sha256) straight from the image (both skipped when e2fsprogs is missing).
3. A new vessel on the same image: the guest mounts it, the file's sha256 matches; then it
   writes and deletes an 8 MiB file and runs fstrim (virtio-blk DISCARD), which must succeed,
   and powers off; e2fsck -fn finds the filesystem clean again.
"""
import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from disk_test import boot  # noqa: E402
from guest_console import SKIP, check, default_guest_or_skip, power_off, run_checks  # noqa: E402

IMAGE_SIZE = 64 << 20
SHA = re.compile(r"\b([0-9a-f]{64})\b")


def guest_sha(guest, path):
    m = SHA.search(guest.last_line(f"sha256sum {path}"))
    return m.group(1) if m else None


def host_fsck(image, failures, when):
    e2fsck = shutil.which("e2fsck") or ("/sbin/e2fsck" if os.path.exists("/sbin/e2fsck") else None)
    if not e2fsck:
        print("note: no e2fsck on the host, filesystem check skipped")
        return
    r = subprocess.run([e2fsck, "-fn", image], capture_output=True, text=True)
    check(r.returncode == 0, f"e2fsck -fn {when}: status {r.returncode} {r.stdout[-300:]!r}",
          failures)


def host_read(image, name):
    debugfs = shutil.which("debugfs") or ("/sbin/debugfs" if os.path.exists("/sbin/debugfs")
                                          else None)
    if not debugfs:
        return None
    r = subprocess.run([debugfs, "-R", f"cat /{name}", image], capture_output=True)
    return r.stdout if r.returncode == 0 else None


def make_fs_boot(args, gdir, image, failures):
    guest = boot(args.vessel, args.engine, gdir, f"path={image}")
    try:
        out = guest.run("mke2fs -F /dev/vda >/dev/null 2>&1; echo mkfs=$?; mkdir -p /mnt; "
                        "mount -t ext4 /dev/vda /mnt; echo mount=$?")
        check("mkfs=0" in out and "mount=0" in out, f"guest mke2fs and mount: {out!r}", failures)
        out = guest.run("dd if=/dev/urandom of=/mnt/data.bin bs=65536 count=32 2>/dev/null; "
                        "echo dd=$?")
        check("dd=0" in out, f"guest writes the file: {out!r}", failures)
        sha = guest_sha(guest, "/mnt/data.bin")
        check(sha is not None, f"guest sha256 of the file: {sha}", failures)
        out = guest.run("umount /mnt; echo umount=$?")
        check("umount=0" in out, f"guest unmounts: {out!r}", failures)
        power_off(guest, failures)
        return sha
    finally:
        guest.kill()


def remount_boot(args, gdir, image, sha, failures):
    guest = boot(args.vessel, args.engine, gdir, f"path={image}")
    try:
        out = guest.run("mkdir -p /mnt; mount -t ext4 /dev/vda /mnt; echo mount=$?")
        check("mount=0" in out, f"second VM mounts the filesystem: {out!r}", failures)
        again = guest_sha(guest, "/mnt/data.bin")
        check(again == sha, f"second VM reads the file back: sha256 {again}", failures)
        out = guest.run("dd if=/dev/zero of=/mnt/junk bs=65536 count=128 2>/dev/null; sync; "
                        "rm /mnt/junk; sync; fstrim -v /mnt; echo fstrim=$?")
        check("fstrim=0" in out, f"fstrim (discard) succeeds: {out!r}", failures)
        out = guest.run("umount /mnt; echo umount=$?")
        check("umount=0" in out, f"guest unmounts: {out!r}", failures)
        power_off(guest, failures)
    finally:
        guest.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vessel")
    ap.add_argument("engine")
    args = ap.parse_args()

    gdir = default_guest_or_skip(args.vessel, args.engine)
    if gdir is None:
        return SKIP

    def boots(failures):
        with tempfile.TemporaryDirectory(prefix="vessel-extfs-") as tmp:
            image = os.path.join(tmp, "fs.img")
            with open(image, "wb") as f:
                f.truncate(IMAGE_SIZE)
            sha = make_fs_boot(args, gdir, image, failures)
            host_fsck(image, failures, "after the first VM")
            data = host_read(image, "data.bin")
            if data is not None:
                host_sha = hashlib.sha256(data).hexdigest()
                check(host_sha == sha, f"debugfs on the host reads the same file: {host_sha}",
                      failures)
            remount_boot(args, gdir, image, sha, failures)
            host_fsck(image, failures, "after the second VM")

    return run_checks(boots)


if __name__ == "__main__":
    sys.exit(main())
