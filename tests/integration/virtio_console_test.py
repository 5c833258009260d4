#!/usr/bin/env python3
"""virtio-console as the guest's console, and virtio devices on virtio-mmio (issue 6).

usage: virtio_console_test.py VESSEL ENGINE --mode hvc0|mmio
Exit status: 0 pass, 1 fail, 77 skip (no default guest, the engine cannot boot Linux here, or
the default guest predates hvc0 support in its /init).

hvc0: `--console-device virtio` with console=hvc0, virtio on PCI: the guest reaches its shell
      marker and answers commands over virtio-console (host stdin -> guest -> host stdout),
      the kernel console is hvc0, a long output arrives whole, poweroff ends vessel with 0.
mmio: `--virtio-transport mmio` with a disk: the guest finds the disk, the entropy device (and
      the console, on a guest with hvc0 support) through the ACPI DSDT, with no PCI virtio
      device; it reads sectors the host wrote and its interrupts arrive through the IOAPIC.
"""
import argparse
import gzip
import os
import sys
import tempfile

sys.dont_write_bytecode = True  # importing the sibling scripts must not litter the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest_console import (SKIP, boot_default_guest, check, default_guest_or_skip,  # noqa: E402
                           power_off, run_checks)

SECTOR = 512
IMAGE_SECTORS = 2048  # 1 MiB


def guest_has_hvc0_init(gdir):
    """scripts/build-guest.sh's /init reopens /dev/console after loading modules, which a
    console owned by a module (virtio_console) needs; older guests lack that line."""
    with gzip.open(os.path.join(gdir, "initramfs.cpio.gz"), "rb") as f:
        return b"exec </dev/console" in f.read()


def sector_bytes(n):
    head = f"MMIOSECT{n:06d}".encode()
    return head + bytes((n * 7 + i) & 0xFF for i in range(SECTOR - len(head)))


def boot(args, gdir, extra, console):
    return boot_default_guest(args.vessel, args.engine, gdir, extra, console)


def hvc0_mode(args, gdir, failures):
    guest = boot(args, gdir, ["--console-device", "virtio"], "hvc0")
    try:
        active = guest.last_line("cat /sys/class/tty/console/active")
        check(active == "hvc0", f"the kernel console is {active!r}", failures)
        tty = guest.last_line("readlink /proc/self/fd/0")
        check(tty == "/dev/hvc0", f"the shell's terminal is {tty!r}", failures)
        bound = guest.last_line("cat /sys/bus/virtio/drivers/virtio_console/virtio*/device")
        check(bound == "0x0003", f"virtio_console drives a console device ({bound!r})",
              failures)
        # 2000 numbered lines (~ 15 KB) in one go: none lost or reordered on the way out.
        out = guest.run("seq 1 2000")
        nums = [line.strip() for line in out.splitlines() if line.strip().isdigit()]
        check(nums == [str(i) for i in range(1, 2001)],
              f"2000 lines arrive whole ({len(nums)} seen)", failures)
        power_off(guest, failures)
    finally:
        guest.kill()


def mmio_mode(args, gdir, failures):
    hvc = guest_has_hvc0_init(gdir)
    with tempfile.TemporaryDirectory(prefix="vessel-mmio-") as tmp:
        image = os.path.join(tmp, "disk.img")
        with open(image, "wb") as f:
            for n in range(IMAGE_SECTORS):
                f.write(sector_bytes(n))
        extra = ["--virtio-transport", "mmio", "--disk", f"path={image}"]
        if hvc:
            extra += ["--console-device", "virtio"]
        else:
            print("note: the default guest predates hvc0 support: console on ttyS0", flush=True)
        guest = boot(args, gdir, extra, "hvc0" if hvc else "ttyS0")
        try:
            expected = {"2": "disk", "4": "entropy"} | ({"3": "console"} if hvc else {})
            ids = guest.run("cat /sys/bus/virtio/devices/*/device").split()
            seen = sorted(str(int(i, 16)) for i in ids if i.startswith("0x"))
            check(seen == sorted(expected), f"virtio device IDs {seen} (want {sorted(expected)})",
                  failures)
            parents = guest.run("for d in /sys/bus/virtio/devices/*; do "
                                "basename $(readlink -f $d/..); done").split()
            check(parents and all(p.startswith("LNRO0005:") for p in parents),
                  f"every virtio device sits on an ACPI LNRO0005 platform device: {parents}",
                  failures)
            pci = guest.last_line("ls /sys/bus/pci/drivers/virtio-pci 2>/dev/null | "
                                   "grep -c :; true")
            check(pci == "0", f"no virtio device on PCI ({pci})", failures)
            size = guest.last_line("cat /sys/block/vda/size")
            check(size == str(IMAGE_SECTORS), f"/dev/vda has {size} sectors", failures)
            for n in (0, 5, IMAGE_SECTORS - 1):
                got = guest.last_line(f"dd if=/dev/vda bs={SECTOR} skip={n} count=1 "
                                       "2>/dev/null | head -c 14")
                check(got == f"MMIOSECT{n:06d}", f"guest reads sector {n}: {got!r}", failures)
            rng = guest.last_line("dd if=/dev/hwrng bs=64 count=1 2>/dev/null | wc -c")
            check(rng == "64", f"64 bytes from /dev/hwrng ({rng})", failures)
            irqs = guest.run("grep virtio /proc/interrupts")
            check("IO-APIC" in irqs, f"virtio-mmio interrupts through the IOAPIC:\n{irqs}",
                  failures)
            power_off(guest, failures)
        finally:
            guest.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vessel")
    ap.add_argument("engine")
    ap.add_argument("--mode", choices=["hvc0", "mmio"], required=True)
    args = ap.parse_args()

    gdir = default_guest_or_skip(args.vessel, args.engine)
    if gdir is None:
        return SKIP
    if args.mode == "hvc0" and not guest_has_hvc0_init(gdir):
        print(f"SKIP: the default guest in {gdir} predates hvc0 support in its /init "
              "(rebuild it with scripts/build-guest.sh)")
        return SKIP

    return run_checks(lambda failures: (hvc0_mode if args.mode == "hvc0" else mmio_mode)(
        args, gdir, failures))


if __name__ == "__main__":
    sys.exit(main())
