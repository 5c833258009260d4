#!/usr/bin/env bash
# build-guest.sh [OUTDIR]: builds vessel's default guest from Debian packages, without
# installing anything on the host. Outputs in OUTDIR (default ~/.cache/vessel/guest):
#   vmlinuz             the Debian kernel (bzImage) that linux-image-amd64 depends on
#   vmlinux             the uncompressed ELF kernel extracted from it (extract-vmlinux.sh)
#   initramfs.cpio.gz   busybox-static + /init + the virtio and ext4 modules + udhcpc's script
#   versions            the package versions (and script hash) the outputs were built from
# Reproducible: fixed timestamps (SOURCE_DATE_EPOCH, default the kernel image's mtime in the
# package), sorted file lists, gzip -n. Idempotent: an up-to-date OUTDIR is left alone.
#
# The guest's /init honours, on the kernel command line:
#   vessel.bench=1      print the marker and power off at once (boot-time benchmarks)
#   vessel.run=CMD      run CMD (commas become spaces) after the marker, then power off
# and a file /etc/vessel/run in the initramfs (e.g. from a second, appended cpio archive),
# run the same way.
set -euo pipefail

MARKER=${VESSEL_MARKER:-VESSEL-BOOT-OK}
# Modules the guest needs (virtio for issue 6, ext4 for disks); their dependencies are added
# from modules.dep, and built-in ones (modules.builtin) are skipped.
MODULES=(virtio virtio_ring virtio_pci virtio_pci_modern_dev virtio_pci_legacy_dev virtio_mmio
  virtio_blk failover net_failover virtio_net virtio_console rng-core virtio-rng
  crc16 crc32c_generic libcrc32c mbcache jbd2 ext4)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/vessel/guest}

log() { echo "build-guest: $*"; }
die() { echo "build-guest: error: $*" >&2; exit 1; }

for tool in apt-get apt-cache dpkg-deb xz cpio gzip sha256sum; do
  command -v "$tool" >/dev/null || die "$tool not found (Debian packages: apt, dpkg, xz-utils, cpio, gzip)"
done

# apt-get download runs as the _apt user when we are root; our temp dir is ours only.
apt_opts=()
(( EUID == 0 )) && apt_opts=(-o APT::Sandbox::User=root)

candidate() { apt-cache policy "$1" | awk '/Candidate:/ {print $2}'; }

if [[ -z $(candidate linux-image-amd64 2>/dev/null) || $(candidate linux-image-amd64) == "(none)" ]]; then
  log "package lists missing: apt-get update"
  apt-get update -qq || die "apt-get update failed"
fi
kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9].*-amd64/ {print $2; exit}')
[[ -n $kpkg ]] || die "cannot find the kernel package that linux-image-amd64 depends on"
kver=$(candidate "$kpkg")
bver=$(candidate busybox-static)
script_hash=$(cat "$here/build-guest.sh" "$here/extract-vmlinux.sh" | sha256sum | cut -c1-16)
stamp="kernel $kpkg $kver
busybox-static $bver
marker $MARKER
script $script_hash"

if [[ -f $out/versions && $(cat "$out/versions") == "$stamp" && -s $out/vmlinuz &&
      -s $out/vmlinux && -s $out/initramfs.cpio.gz ]]; then
  log "up to date in $out ($kpkg $kver, busybox-static $bver)"
  exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/vessel-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$SECONDS

log "downloading $kpkg $kver and busybox-static $bver"
(cd "$work" && apt-get "${apt_opts[@]}" -q download "$kpkg=$kver" "busybox-static=$bver" >/dev/null) ||
  die "apt-get download failed"

log "extracting packages"
mkdir -p "$work/kernel" "$work/busybox"
dpkg-deb -x "$work"/"$kpkg"_*.deb "$work/kernel"
dpkg-deb -x "$work"/busybox-static_*.deb "$work/busybox"
vmlinuz=$(ls "$work"/kernel/boot/vmlinuz-* 2>/dev/null | head -n1)
[[ -f $vmlinuz ]] || die "no /boot/vmlinuz-* in $kpkg"
release=${vmlinuz##*/vmlinuz-}
busybox=$work/busybox/bin/busybox
[[ -x $busybox ]] || die "no /bin/busybox in busybox-static"
moddir=$work/kernel/lib/modules/$release
epoch=${SOURCE_DATE_EPOCH:-$(stat -c %Y "$vmlinuz")}

log "extracting vmlinux from the bzImage"
"$here/extract-vmlinux.sh" "$vmlinuz" "$work/vmlinux"

log "resolving modules ($release)"
# Debian ships no modules.dep (depmod runs at install time); busybox's depmod writes one.
"$busybox" depmod -b "$work/kernel" "$release"
declare -A dep_of=() path_by_name=() seen=()
while IFS=: read -r mod deps; do
  dep_of[$mod]=$deps
  name=${mod##*/}; name=${name%.ko*}
  path_by_name[${name//-/_}]=$mod  # '-' and '_' are the same in module names
done <"$moddir/modules.dep"
order=()
visit() {  # depth-first: dependencies before the module (insmod order)
  local p=$1 d
  [[ -n ${seen[$p]:-} ]] && return
  seen[$p]=1
  for d in ${dep_of[$p]}; do visit "$d"; done
  order+=("$p")
}
for m in "${MODULES[@]}"; do
  p=${path_by_name[${m//-/_}]:-}
  if [[ -n $p ]]; then visit "$p"
  elif grep -Eq "/${m//[-_]/[-_]}\.ko" "$moddir/modules.builtin"; then :  # built into the kernel
  else die "module $m is neither in modules.dep nor built in"
  fi
done

log "assembling the initramfs (${#order[@]} modules)"
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,etc/vessel,lib/modules/"$release"}
cp "$busybox" "$root/bin/busybox"
while read -r applet; do
  [[ $applet == bin/busybox || -e $root/$applet ]] && continue
  mkdir -p "$root/$(dirname "$applet")"
  ln -s /bin/busybox "$root/$applet"
done < <("$busybox" --list-full | LC_ALL=C sort)
for p in "${order[@]}"; do
  mkdir -p "$root/lib/modules/$release/$(dirname "$p")"
  cp "$moddir/$p" "$root/lib/modules/$release/$p"
done
cp "$moddir/modules.builtin" "$moddir/modules.order" "$root/lib/modules/$release/"
"$busybox" depmod -b "$root" "$release"  # modules.dep/.alias/.symbols for just these modules
for p in "${order[@]}"; do m=${p##*/}; echo "${m%.ko*}"; done >"$root/etc/vessel/modules"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
printf 'vessel\n' >"$root/etc/hostname"
printf 'export PS1='"'"'\\h:\\w\\$ '"'"'\nexport PATH=/bin:/sbin:/usr/bin:/usr/sbin\n' >"$root/etc/profile"
cat >"$root/init" <<INIT
#!/bin/sh
# vessel default guest init (written by scripts/build-guest.sh)
MARKER=$MARKER
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
hostname -F /etc/hostname
ip link set lo up
while read -r m; do modprobe -q "\$m" 2>/dev/null; done </etc/vessel/modules
# With console=hvc0 the console belongs to a module (virtio_console): the kernel had none to
# give /init, so open it now that the drivers are loaded (a no-op change for ttyS0).
if (: </dev/console) 2>/dev/null; then exec </dev/console >/dev/console 2>&1; fi
bench=0 run=
[ -f /etc/vessel/run ] && run="sh /etc/vessel/run"
for arg in \$(cat /proc/cmdline); do
  case "\$arg" in
    vessel.bench=1) bench=1 ;;
    vessel.run=*) run=\$(echo "\${arg#vessel.run=}" | tr , ' ') ;;
  esac
done
echo "\$MARKER"
if [ "\$bench" = 1 ]; then poweroff -f; fi
if [ -n "\$run" ]; then \$run; poweroff -f; fi
# busybox poweroff/reboot/halt (without -f) signal PID 1 (USR2/TERM/USR1), which is this
# script: the shell runs in the background so that \`wait\` returns and the traps act at once.
trap 'poweroff -f' USR2
trap 'reboot -f' TERM
trap 'halt -f' USR1
# setsid + cttyhack give the shell the real console as its controlling tty: job control works.
setsid cttyhack sh -l &
wait \$!
poweroff -f
INIT
chmod 0755 "$root/init"
# busybox udhcpc's default event script (Debian's busybox looks for it in /etc/udhcpc):
# `udhcpc -i eth0` applies the lease (address, default route, resolv.conf) with it.
mkdir -p "$root/etc/udhcpc"
cat >"$root/etc/udhcpc/default.script" <<'DHCP'
#!/bin/sh
# udhcpc event script (written by scripts/build-guest.sh): $1 is the event, the lease is in
# the environment (interface, ip, mask, router, dns, domain).
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
    : >/etc/resolv.conf
    [ -n "$domain" ] && echo "search $domain" >>/etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
    ;;
esac
exit 0
DHCP
chmod 0755 "$root/etc/udhcpc/default.script"
chmod 0700 "$root/root"
chmod 1777 "$root/tmp"

# /dev/console and /dev/null as a first, hand-written newc archive (device nodes need root to
# create on disk); the kernel unpacks concatenated archives in order.
newc() {  # newc NAME MODE RDEVMAJOR RDEVMINOR: one empty-bodied entry
  local name=$1 namesize=$(( ${#1} + 1 ))
  printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\0' \
    "$3$4" "$2" 0 0 1 "$epoch" 0 0 0 "$3" "$4" "$namesize" 0 "$name"
  local pad=$(( (4 - (110 + namesize) % 4) % 4 ))
  head -c "$pad" /dev/zero
}
{
  newc dev 0x41ed 0 0
  newc dev/console 0x2180 5 1
  newc dev/null 0x21b6 1 3
  newc TRAILER!!! 0 0 0
} >"$work/nodes.cpio"

find "$root" -exec touch -h -d "@$epoch" {} +
(cd "$root" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
  cpio -o -H newc --reproducible -R 0:0 --quiet) >"$work/main.cpio"
cat "$work/nodes.cpio" "$work/main.cpio" | gzip -n -9 >"$work/initramfs.cpio.gz"

log "installing into $out"
mkdir -p "$out"
cp "$vmlinuz" "$out/vmlinuz.new" && mv "$out/vmlinuz.new" "$out/vmlinuz"
mv "$work/vmlinux" "$out/vmlinux"
mv "$work/initramfs.cpio.gz" "$out/initramfs.cpio.gz"
echo "$stamp" >"$out/versions"
for f in vmlinuz vmlinux initramfs.cpio.gz; do
  log "  $f $(stat -c %s "$out/$f") bytes sha256 $(sha256sum "$out/$f" | cut -c1-16)"
done
log "done in $((SECONDS - start)) s"
