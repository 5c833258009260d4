#!/usr/bin/env python3
"""virtio-net used by the default guest, end to end (issue 6).

usage: net_test.py VESSEL ENGINE user|tap [--transport pci|mmio]
Exit status: 0 pass, 1 fail, 77 skip (no default guest, the engine cannot boot Linux here, or
for `tap` no root / no /dev/net/tun / no `ip`).

user: a forwarded port already taken on the host is refused before boot (status 1, the port
  in the message). `--net user,hostfwd=tcp::P-:8080,mac=...`: the guest sees eth0 with the configured MAC,
  gets 10.0.2.15, a default route and a DNS server by DHCP (udhcpc), downloads a file from an
  HTTP server this test runs on the host's 127.0.0.1 (slirp's 10.0.2.2), and its sha256
  matches; then the guest serves a file with busybox httpd on port 8080 and the host fetches it
  through the forwarded port P on 127.0.0.1.
--transport mmio: the card (and every virtio device) on virtio-mmio instead of PCI.
tap: in a network namespace of its own, a tap `vtap0` with 192.168.77.1/24 and an HTTP server
  on it; `--net tap=vtap0`; the guest takes 192.168.77.2 and downloads the file (sha256).
"""
import argparse
import functools
import hashlib
import http.server
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request

sys.dont_write_bytecode = True  # importing the sibling scripts must not litter the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest_console import (SKIP, boot_default_guest, check, default_guest_or_skip,  # noqa: E402
                           power_off, run_checks)

BLOB_SIZE = 256 * 1024
MAC = "52:54:00:12:34:9a"
GUEST_PORT = 8080
# The event script scripts/build-guest.sh puts in the initramfs, for older default guests.
DHCP_SCRIPT = ("#!/bin/sh\\ncase $1 in deconfig) ip link set $interface up;; bound|renew) "
               "ip addr add $ip/${mask:-24} dev $interface; ip route replace default via "
               "${router%% *}; for d in $dns; do echo nameserver $d >>/etc/resolv.conf; done;; "
               "esac\\n")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(directory, address):
    """An HTTP server for `directory` on `address` in a thread; returns it (port in .server_port)."""
    handler = functools.partial(Quiet, directory=directory)
    server = http.server.ThreadingHTTPServer(address, handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def sha256_of_guest_file(guest, path):
    return guest.last_line(f"sha256sum {path} | cut -c1-64")


def download(guest, url, blob, failures):
    # No `-T`: busybox wget with a timeout crashes on the software engine (SIGSEGV before it
    # connects, network or not); Guest.run's timeout bounds the download instead.
    out = guest.run(f"wget -q -O /tmp/blob {url}; echo wget=$?", 600)
    check("wget=0" in out, f"guest downloads {url}: {out[-300:]!r}", failures)
    got = sha256_of_guest_file(guest, "/tmp/blob")
    check(got == sha256(blob), f"sha256 in the guest {got} matches the host's", failures)


def busy_port_refused(args, gdir, failures):
    """A forwarded port that is taken fails before the guest boots, with the reason."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        argv = [args.vessel, "run", "--engine", args.engine, "--console", "none",
                "--kernel", os.path.join(gdir, "vmlinux"),
                "--initrd", os.path.join(gdir, "initramfs.cpio.gz"),
                "--net", f"user,hostfwd=tcp::{port}-:80"]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        check(r.returncode == 1 and str(port) in r.stderr,
              f"a busy forwarded port is refused: status {r.returncode}, {r.stderr.strip()!r}",
              failures)


def user_test(args, gdir, tmp, blob, failures):
    busy_port_refused(args, gdir, failures)
    server = serve(tmp, ("127.0.0.1", 0))
    host_port = free_port()
    guest = boot_default_guest(
        args.vessel, args.engine, gdir,
        ["--virtio-transport", args.transport,
         "--net", f"user,hostfwd=tcp::{host_port}-:{GUEST_PORT},mac={MAC}"])
    try:
        mac = guest.last_line("cat /sys/class/net/eth0/address")
        check(mac == MAC, f"eth0 has the configured MAC: {mac}", failures)
        # The card sits on the transport asked for (virtio-mmio ones are platform devices).
        path = guest.last_line("readlink -f /sys/class/net/eth0")
        on_pci = "/pci0000:" in path
        check(on_pci == (args.transport == "pci"), f"eth0 is on {args.transport}: {path}",
              failures)
        guest.run("[ -x /etc/udhcpc/default.script ] || { mkdir -p /etc/udhcpc; "
                  f"printf '{DHCP_SCRIPT}' >/etc/udhcpc/default.script; "
                  "chmod +x /etc/udhcpc/default.script; }")
        out = guest.run("udhcpc -i eth0 -n -q -t 10 -T 3; echo udhcpc=$?", 300)
        check("udhcpc=0" in out, f"udhcpc gets a lease: {out[-300:]!r}", failures)
        addr = guest.run("ip -4 addr show dev eth0")
        check("10.0.2.15/24" in addr, f"eth0 is 10.0.2.15/24: {addr!r}", failures)
        route = guest.run("ip route")
        check("default via 10.0.2.2" in route, f"default route via 10.0.2.2: {route!r}",
              failures)
        dns = guest.run("cat /etc/resolv.conf")
        check("nameserver 10.0.2.3" in dns, f"DHCP gave slirp's DNS: {dns!r}", failures)
        download(guest, f"http://10.0.2.2:{server.server_port}/blob", blob, failures)

        # Host -> guest through the forwarded port.
        # The guest's file is made in the guest (not the download, which may have failed).
        guest.run("mkdir -p /tmp/www && i=0; while [ $i -lt 64 ]; do "
                  "echo vessel-hostfwd-line-$i-0123456789abcdefghijklmnopqrstuvwxyz; "
                  "i=$((i+1)); done >/tmp/www/fwd")
        expected = sha256_of_guest_file(guest, "/tmp/www/fwd")
        out = guest.run(f"httpd -p {GUEST_PORT} -h /tmp/www; echo httpd=$?")
        check("httpd=0" in out, f"guest httpd listens on {GUEST_PORT}: {out!r}", failures)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{host_port}/fwd", timeout=300) as r:
                got = r.read()
            check(sha256(got) == expected,
                  f"host fetches the guest's file through 127.0.0.1:{host_port} "
                  f"({len(got)} bytes, sha256 matches)", failures)
        except OSError as e:
            check(False, f"host fetch through the forwarded port: {e}", failures)
        power_off(guest, failures)
    finally:
        guest.kill()
        server.shutdown()


def tap_usable():
    if os.geteuid() != 0:
        return "the tap test needs root (a network namespace and a tap of its own)"
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun on this host"
    if not shutil.which("ip"):
        return "no `ip` (iproute2) on this host"
    return None


def tap_test(args, gdir, tmp, blob, failures):
    ns = f"vessel-net-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    in_ns = ["ip", "netns", "exec", ns]
    server = None
    try:
        for cmd in (["ip", "link", "set", "lo", "up"],
                    ["ip", "tuntap", "add", "vtap0", "mode", "tap"],
                    ["ip", "addr", "add", "192.168.77.1/24", "dev", "vtap0"],
                    ["ip", "link", "set", "vtap0", "up"]):
            subprocess.run(in_ns + cmd, check=True)
        port = 18080
        server = subprocess.Popen(in_ns + [sys.executable, "-m", "http.server", str(port),
                                           "--bind", "192.168.77.1", "--directory", tmp],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        guest = boot_default_guest(args.vessel, args.engine, gdir,
                                   ["--net", f"tap=vtap0,mac={MAC}"], prefix=in_ns)
        try:
            guest.run("ip addr add 192.168.77.2/24 dev eth0 && ip link set eth0 up")
            out = guest.run("ping -c 2 -W 30 192.168.77.1; echo ping=$?", 300)
            check("ping=0" in out, f"guest pings the tap's address: {out[-200:]!r}", failures)
            download(guest, f"http://192.168.77.1:{port}/blob", blob, failures)
            power_off(guest, failures)
        finally:
            guest.kill()
    finally:
        if server:
            server.kill()
            server.wait()
        subprocess.run(["ip", "netns", "delete", ns], check=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vessel")
    ap.add_argument("engine")
    ap.add_argument("backend", choices=["user", "tap"])
    ap.add_argument("--transport", choices=["pci", "mmio"], default="pci")
    args = ap.parse_args()

    gdir = default_guest_or_skip(args.vessel, args.engine)
    if gdir is None:
        return SKIP
    if args.backend == "tap" and tap_usable():
        print(f"SKIP: {tap_usable()}")
        return SKIP

    def run(failures):
        with tempfile.TemporaryDirectory(prefix="vessel-net-") as tmp:
            blob = os.urandom(BLOB_SIZE)
            with open(os.path.join(tmp, "blob"), "wb") as f:
                f.write(blob)
            (user_test if args.backend == "user" else tap_test)(args, gdir, tmp, blob, failures)

    return run_checks(run)


if __name__ == "__main__":
    sys.exit(main())
