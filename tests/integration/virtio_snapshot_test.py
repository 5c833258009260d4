#!/usr/bin/env python3
"""Metrics, snapshot and restore of a machine with virtio-blk, virtio-net and virtio-console on
virtio-mmio (issue 6).

usage: virtio_snapshot_test.py VESSEL
The default guest on the software engine, configured over the API socket, with every virtio
device on virtio-mmio, hvc0 (virtio-console) as the console, a disk and `--net user`.
Metrics: between two FlushMetrics, the guest writes 1 MiB to the disk with direct I/O and a
flush, reads 2 MiB back, and downloads a file from an HTTP server this test runs on
127.0.0.1; the "block" and "net" groups of the last metrics line must show that I/O.
Snapshot: the VM is paused and a Full snapshot taken; vessel is killed; a new vessel loads it and
resumes. The restored guest must answer on hvc0, still have its address, and download the
file again over slirp (a new connection: open ones are not saved) with the same sha256.
Exit status: 0 pass, 1 fail, 77 skip (no default guest or no curl).
"""
import json
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest_console import Guest, GuestError  # noqa: E402
from linux_guest_test import SKIP, check, guest_dir  # noqa: E402
from net_test import BLOB_SIZE, DHCP_SCRIPT, download, serve  # noqa: E402
from snapshot_session import BOOT_TIMEOUT, expect, wait_socket  # noqa: E402


def start(vessel, sock, log, extra=()):
    guest = Guest([vessel, "run", "--api-sock", sock, *extra], log)
    wait_socket(sock, guest)
    return guest


MIB = 1 << 20


def check_metrics(path, failures):
    """The last metrics line: the deltas since the FlushMetrics before the guest's I/O."""
    with open(path) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    last = lines[-1] if lines else {}
    block, net = last.get("block", {}), last.get("net", {})
    print(f"metrics: block {block}; net {net}", flush=True)
    check(block.get("write_bytes") == MIB, "block.write_bytes is the 1 MiB written", failures)
    check(block.get("write_count", 0) >= 1, "block.write_count counts the writes", failures)
    # Direct reads of the device: 2 MiB, plus at most what the kernel reads on its own.
    check(2 * MIB <= block.get("read_bytes", 0) < 3 * MIB,
          "block.read_bytes holds the 2 MiB read", failures)
    check(block.get("read_count", 0) >= 1, "block.read_count counts the reads", failures)
    check(block.get("flush_count", 0) >= 1, "block.flush_count counts conv=fsync's flush",
          failures)
    check(block.get("invalid_reqs_count") == 0 and block.get("execute_fails") == 0,
          "no invalid or failed block request", failures)
    check(net.get("rx_bytes_count", 0) >= BLOB_SIZE,
          "net.rx_bytes_count covers the downloaded file", failures)
    check(net.get("rx_packets_count", 0) >= BLOB_SIZE // 1514,
          "net.rx_packets_count: at least a frame per 1514 bytes", failures)
    check(net.get("tx_packets_count", 0) > 0 and net.get("tx_bytes_count", 0) > 0,
          "net.tx_*: the guest's requests and ACKs", failures)
    check(net.get("rx_dropped") == 0, "net.rx_dropped is reported (0)", failures)


def main():
    vessel = sys.argv[1]
    gdir = guest_dir()
    kernel, initrd = os.path.join(gdir, "vmlinux"), os.path.join(gdir, "initramfs.cpio.gz")
    if not (os.path.exists(kernel) and os.path.exists(initrd)):
        print(f"SKIP: default guest not built in {gdir}")
        return SKIP
    if not shutil.which("curl"):
        print("SKIP: curl is not installed")
        return SKIP
    work = tempfile.mkdtemp(prefix="vessel-vsnap-")
    sock, snap, mem, disk, metrics = (os.path.join(work, n) for n in (
        "api.sock", "vm.snap", "vm.mem", "disk.img", "metrics.json"))
    with open(disk, "wb") as f:
        f.truncate(8 * MIB)
    blob = os.urandom(BLOB_SIZE)
    with open(os.path.join(work, "blob"), "wb") as f:
        f.write(blob)
    server = serve(work, ("127.0.0.1", 0))
    url = f"http://10.0.2.2:{server.server_port}/blob"
    failures = []
    first = second = None
    try:
        # The machine comes from the command line (a PUT /machine-config would reset the
        # transport, which has no API field); the kernel from the API.
        first = start(vessel, sock, os.path.join(work, "console1.log"),
                      ["--engine", "emu", "--mem", "256", "--console-device", "virtio",
                       "--virtio-transport", "mmio", "--net", "user",
                       "--disk", f"path={disk}"])
        expect(sock, 204, "PUT", "/metrics", {"metrics_path": metrics})
        expect(sock, 204, "PUT", "/boot-source",
               {"kernel_image_path": kernel, "initrd_path": initrd,
                "boot_args": "console=hvc0 quiet"})
        expect(sock, 204, "PUT", "/actions", {"action_type": "InstanceStart"})
        first.expect(rb"VESSEL-BOOT-OK", BOOT_TIMEOUT)
        tty = first.run("tty", timeout=120)
        check("/dev/hvc0" in tty, f"the shell runs on hvc0: {tty.strip()!r}", failures)
        path = first.run("readlink -f /sys/class/net/eth0").strip()
        check("/pci0000:" not in path and "virtio" in path, f"eth0 is on virtio-mmio: {path}",
              failures)
        first.run("[ -x /etc/udhcpc/default.script ] || { mkdir -p /etc/udhcpc; "
                  f"printf '{DHCP_SCRIPT}' >/etc/udhcpc/default.script; "
                  "chmod +x /etc/udhcpc/default.script; }")
        out = first.run("udhcpc -i eth0 -n -q -t 10 -T 3; echo udhcpc=$?", 300)
        check("udhcpc=0" in out, f"udhcpc gets a lease: {out[-300:]!r}", failures)
        expect(sock, 204, "PUT", "/actions", {"action_type": "FlushMetrics"})
        first.run("dd if=/dev/zero of=/dev/vda bs=64k count=16 oflag=direct conv=fsync", 300)
        first.run("dd if=/dev/vda of=/dev/null bs=64k count=32 iflag=direct", 300)
        download(first, url, blob, failures)
        expect(sock, 204, "PUT", "/actions", {"action_type": "FlushMetrics"})
        check_metrics(metrics, failures)

        expect(sock, 204, "PATCH", "/vm", {"state": "Paused"})
        expect(sock, 204, "PUT", "/snapshot/create",
               {"snapshot_type": "Full", "snapshot_path": snap, "mem_file_path": mem})
        check(os.path.getsize(snap) > 0, f"snapshot written ({os.path.getsize(snap)} bytes)",
              failures)
        first.kill()
        if os.path.exists(sock):
            os.unlink(sock)

        # The new process is not told about the devices: the snapshot describes them.
        second = start(vessel, sock, os.path.join(work, "console2.log"))
        expect(sock, 204, "PUT", "/snapshot/load",
               {"snapshot_path": snap, "mem_backend": {"backend_type": "File",
                                                       "backend_path": mem},
                "resume_vm": True})
        out = second.run("echo restored-$((6*7)); tty", timeout=120)
        check("restored-42" in out and "/dev/hvc0" in out,
              f"the restored guest answers on hvc0: {out.strip()!r}", failures)
        addr = second.run("ip -4 addr show dev eth0")
        check("10.0.2.15/24" in addr, f"eth0 kept 10.0.2.15/24: {addr.strip()!r}", failures)
        second.run("rm -f /tmp/blob")
        download(second, url, blob, failures)
        second.send("poweroff\n")
        status = second.wait_exit(120)
        check(status == 0, f"poweroff ends the restored vessel with status {status}", failures)
    except GuestError as e:
        print(f"FAIL {e}", flush=True)
        failures.append(str(e))
        for g in (first, second):
            if g and g.proc.poll() is not None:
                print(g.proc.stderr.read().decode(errors="replace")[-3000:])
    finally:
        for g in (first, second):
            if g:
                g.kill()
        server.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'PASS' if not failures else 'FAIL'}: {len(failures)} failed check(s)")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
