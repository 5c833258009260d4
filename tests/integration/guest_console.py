"""Drives a vessel guest over its serial console (stdin/stdout pipes), for integration tests.

The guest is the default guest (scripts/build-guest.sh): busybox sh on ttyS0. Commands are sent
with an end marker computed by the shell ($((...))) so the echo of the command line itself
never matches; the output between the command's echo and the marker is returned.
boot_default_guest() starts vessel on the default guest and waits until its shell answers.
A test's main() is: default_guest_or_skip(), then run_checks() over its boots, each check()ed
and ended by power_off().
"""
import os
import re
import select
import subprocess
import time

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
SKIP = 77  # the exit status ctest's SKIP_RETURN_CODE names


class GuestError(Exception):
    pass


class Guest:
    def __init__(self, argv, log_path=None):
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.buffer = b""
        self.log = open(log_path, "wb") if log_path else None
        self.counter = 0
        os.set_blocking(self.proc.stdout.fileno(), False)

    def _read_some(self, timeout):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return False
        chunk = self.proc.stdout.read(65536) or b""
        if not chunk:
            if self.proc.poll() is not None:
                raise GuestError(f"vessel exited with {self.proc.returncode}: "
                                 f"{self.proc.stderr.read().decode(errors='replace')[-2000:]}")
            return False
        if self.log:
            self.log.write(chunk)
            self.log.flush()
        self.buffer += ANSI.sub(b"", chunk)
        return True

    def expect(self, pattern, timeout):
        """Waits for `pattern` (bytes regex); returns the text before it and consumes both."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            m = regex.search(self.buffer)
            if m:
                before = self.buffer[:m.start()]
                self.buffer = self.buffer[m.end():]
                return before.decode(errors="replace")
            left = deadline - time.monotonic()
            if left <= 0:
                tail = self.buffer[-1500:].decode(errors="replace")
                raise GuestError(f"timed out after {timeout}s waiting for {pattern!r}; "
                                 f"console tail:\n{tail}")
            self._read_some(min(left, 1.0))

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def run(self, command, timeout=120):
        """Runs `command` in the guest shell and returns its output (without the echo)."""
        self.counter += 1
        n = self.counter
        marker = f"@@DONE{n}@@"
        self.send(f"{command}; echo @@DONE$(({n}))@@\n")
        out = self.expect(re.escape(marker.encode()), timeout).replace("\r", "")
        # The command line comes back twice before its output: echoed by the tty as typed ahead,
        # then by the shell after its prompt. Output starts after the last line holding the
        # unexpanded marker.
        lines = out.split("\n")
        echo_lines = [i for i, line in enumerate(lines) if "@@DONE" in line]
        if echo_lines:
            lines = lines[echo_lines[-1] + 1:]
        return "\n".join(lines).strip()

    def wait_exit(self, timeout):
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            try:
                self._read_some(0.5)
            except GuestError:
                break
        if self.proc.poll() is None:
            self.proc.kill()
            raise GuestError(f"vessel did not exit within {timeout}s")
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def last_line(self, command, timeout=120):
        """The last line of `command`'s output: a long command line the tty wrapped can defeat
        run()'s echo stripping (the wrapped echo no longer holds the whole marker)."""
        lines = self.run(command, timeout).splitlines()
        return lines[-1].strip() if lines else ""

    def power_off(self, timeout=180):
        """`poweroff` in the guest; returns vessel's exit status."""
        self.send("poweroff\n")
        return self.wait_exit(timeout)


def boot_default_guest(vessel, engine, gdir, extra=(), console="ttyS0", boot_timeout=900,
                       ready_timeout=180, prefix=()):
    """vessel on the default guest in `gdir` (256 MiB, `console=CONSOLE quiet`, then `extra`
    arguments; `prefix` runs it through a wrapper such as `ip netns exec NS`); returns the Guest once its marker appeared and its shell computed an answer
    (so input reaches the guest). VESSEL_CONSOLE_LOG, when set, names a console log file."""
    argv = [*prefix, vessel, "run", "--engine", engine, "--mem", "256",
            "--kernel", os.path.join(gdir, "vmlinux"),
            "--initrd", os.path.join(gdir, "initramfs.cpio.gz"),
            "--cmdline", f"console={console} quiet", *extra]
    print("running:", " ".join(argv), flush=True)
    guest = Guest(argv, log_path=os.environ.get("VESSEL_CONSOLE_LOG"))
    try:
        guest.expect(rb"VESSEL-BOOT-OK", boot_timeout)
        guest.send("echo READY-$((6*7))\n")
        guest.expect(rb"READY-42", ready_timeout)
    except GuestError:
        guest.kill()
        raise
    return guest


def guest_dir():
    if os.environ.get("VESSEL_GUEST_DIR"):
        return os.environ["VESSEL_GUEST_DIR"]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.environ.get("HOME", "/root"),
                                                             ".cache")
    return os.path.join(cache, "vessel", "guest")


def engine_can_boot_linux(vessel, engine):
    if engine != "kvm":
        return True, ""
    info = subprocess.run([vessel, "info"], capture_output=True, text=True).stdout
    if "pvm:     yes" in info:
        return False, ("the KVM engine cannot boot Linux on this host: /dev/kvm is the PVM "
                       "flavour, which emulates guest ring 0 (no VT-x/AMD-V); needs native KVM")
    if "kvm:     usable" not in info:
        return False, "KVM is not usable on this host"
    return True, ""


def default_guest_or_skip(vessel, engine):
    """The default guest's folder, or None once the reason to skip is printed (no default
    guest built, or an engine that cannot boot Linux on this host)."""
    gdir = guest_dir()
    if not os.path.exists(os.path.join(gdir, "vmlinux")):
        print(f"SKIP: no default guest in {gdir} (run scripts/build-guest.sh)")
        return None
    ok, why = engine_can_boot_linux(vessel, engine)
    if not ok:
        print(f"SKIP: {why}")
        return None
    return gdir


def check(cond, what, failures):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def power_off(guest, failures):
    status = guest.power_off()
    check(status == 0, f"poweroff ends vessel with status {status}", failures)


def run_checks(body):
    """Calls body(failures); a GuestError (timeout, vessel died) counts as one more failed
    check. Prints the verdict and returns the test's exit status."""
    failures = []
    try:
        body(failures)
    except GuestError as e:
        print(f"FAIL {e}", flush=True)
        failures.append(str(e))
    print(f"{'PASS' if not failures else 'FAIL'}: {len(failures)} failed check(s)")
    return 0 if not failures else 1
