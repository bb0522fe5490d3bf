#!/usr/bin/env bash
# Build the Debian 12 test image for the role tests (GUIDE §5): debootstrap minbase plus
# a kernel, ifupdown, SSH and what Ansible needs on a Debian host (python3, and python3-apt,
# which Ansible's apt module would otherwise install itself at its first use), packed into
# a raw ext4 image that QEMU boots directly (-kernel/-initrd from the image). Output
# directory: $1 (created). Everything the VM needs to be reached (SSH key pair) is
# generated here too.
#
# $2 (optional) is the packages role's defaults file: the packages listed there under
# packages_base are downloaded, with everything they pull in, into a local apt repository
# in the image (/srv/pve-fleet-repo, Debian's own index entries for exactly those .debs,
# checked, then their data stored uncompressed); it is the guest's only apt source. All of
# them but five the role tests need absent are also installed from it here. apt in the slow
# TCG guest then only unpacks, and reads an index of about a hundred packages instead of
# Debian's 63,000 (which cost 11 s of CPU per apt-get and 5 s per apt module call there).
# The result depends only on this file, local-repo.py, zip_pyc_cache.py and that one, so
# callers cache it keyed on their hashes.
set -euo pipefail

out=${1:?usage: build-image.sh OUTDIR [PACKAGES_DEFAULTS_YML]}
defaults=${2:-}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
size=${IMAGE_SIZE:-6G}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d "${out%/}.build.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
root=$work/rootfs

include=linux-image-amd64,systemd-sysv,openssh-server,python3,python3-apt,ifupdown,iproute2
include+=,isc-dhcp-client,udev,kmod,procps,ca-certificates

# INITRD=No: the kernel's postinst and then initramfs-tools' trigger would each build a
# full initramfs (about 70 s of the build); one small one is built below instead.
INITRD=No debootstrap --variant=minbase --include="$include" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2
    exit 1
}

# The initramfs holds only what mounts the root disk (virtio, ext4): the guest unpacks it
# and its udev loads the modules under TCG at every boot (36 MB with Debian's MODULES=most).
mkdir -p "$root/etc/initramfs-tools/conf.d" "$root/usr/share/initramfs-tools/modules.d"
echo MODULES=list >"$root/etc/initramfs-tools/conf.d/pve-fleet-test"
printf '%s\n' virtio_pci virtio_blk ext4 >"$root/usr/share/initramfs-tools/modules.d/pve-fleet-test.conf"
kernel=$(basename "$root"/boot/vmlinuz-*)
kernel=${kernel#vmlinuz-}
chroot "$root" update-initramfs -c -k "$kernel" >"$work/initramfs.log" 2>&1 || { cat "$work/initramfs.log" >&2; exit 1; }
ln -sfn "boot/initrd.img-$kernel" "$root/initrd.img"   # as the kernel's postinst links it
# Keep TCG apt runs short: no initramfs rebuilds (lvm2 triggers one), no docs, man
# pages or translations, no recommends unless asked for.
sed -i 's/^update_initramfs=.*/update_initramfs=no/' "$root/etc/initramfs-tools/update-initramfs.conf"
cat >"$root/etc/dpkg/dpkg.cfg.d/01-test-image" <<'CFG'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CFG
cat >"$root/etc/apt/apt.conf.d/01-test-image" <<'CFG'
Acquire::Languages "none";
APT::Install-Recommends "false";
CFG
cat >"$root/etc/apt/sources.list" <<SRC
deb $mirror $suite main
deb $mirror $suite-updates main
deb http://deb.debian.org/debian-security $suite-security main
SRC
# dpkg's fsyncs buy nothing on a throwaway test disk.
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/02-unsafe-io"
# Every task compiles its module's code again from a fresh zip; zip_pyc_cache.py keeps the
# compiled code of each source it has seen (about a quarter of a task's time in the guest).
install -m 644 "$here/../../zip_pyc/zip_pyc_cache.py" "$root/usr/lib/python3/dist-packages/pve_fleet_test_zip_pyc_cache.py"
echo 'import pve_fleet_test_zip_pyc_cache' >"$root/usr/lib/python3/dist-packages/pve-fleet-test-zip-pyc-cache.pth"
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"* "$root/usr/share/doc/"* "$root/usr/share/man/"*

if [ -n "$defaults" ]; then
    # The list items under `packages_base:` up to the next key.
    mapfile -t pkgs < <(sed -n '/^packages_base:/,/^[a-z]/{s/^  - \([a-z0-9.+-]*\)$/\1/p}' "$defaults")
    [ ${#pkgs[@]} -gt 0 ] || { echo "no packages_base list in $defaults" >&2; exit 1; }
    chroot "$root" apt-get update -qq >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; exit 1; }
    chroot "$root" apt-get install -y -qq --download-only "${pkgs[@]}" >>"$work/apt.log" 2>&1 || {
        cat "$work/apt.log" >&2
        exit 1
    }
    repo=/srv/pve-fleet-repo
    mkdir -p "$root$repo"
    mv "$root"/var/cache/apt/archives/*.deb "$root$repo/"
    python3 "$here/local-repo.py" "$root$repo" "$root"/var/lib/apt/lists/*_Packages
    echo "deb [trusted=yes] file:$repo ./" >"$root/etc/apt/sources.list"
    rm -rf "$root/var/lib/apt/lists/"* "$root"/var/cache/apt/*.bin
    chroot "$root" apt-get update -qq >>"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; exit 1; }
    # Marks the index as fresh for apt's cache_valid_time (the scenario accepts its age).
    mkdir -p "$root/var/lib/apt/periodic"
    touch "$root/var/lib/apt/periodic/update-success-stamp"
    # The rest of packages_base is installed here, natively, rather than by the converge in
    # the TCG guest: their maintainer scripts took 229-654 s of a converge there. Left out:
    # the packages the fresh-host step needs the parts to install themselves (issue 11,
    # item 4), and qemu-utils (no services, quick to unpack), which the packages part still
    # installs in the converge and whose absence shows the fresh-host step that the packages
    # part did not run. policy-rc.d keeps the chroot from starting services; the guest's
    # first boot starts what the packages enabled, as after an install.
    left_out=" lvm2 thin-provisioning-tools bridge-utils shorewall qemu-utils "
    preinstall=()
    for pkg in "${pkgs[@]}"; do [[ $left_out == *" $pkg "* ]] || preinstall+=("$pkg"); done
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    chroot "$root" apt-get install -y -qq "${preinstall[@]}" >>"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; exit 1; }
    rm -f "$root/usr/sbin/policy-rc.d" "$root/var/cache/apt/archives/"*.deb
    for pkg in $left_out; do
        if chroot "$root" dpkg-query -W --showformat="\${Status}" "$pkg" 2>/dev/null | grep -q 'ok installed'; then
            echo "$pkg came in with ${preinstall[*]}: the role tests need it absent" >&2
            exit 1
        fi
    done
fi

echo debian12-test >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 debian12-test\n' >"$root/etc/hosts"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$root/etc/fstab"
cat >"$root/etc/network/interfaces" <<'NET'
# Written by the test image build; the network role replaces it.
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback

auto eth0
iface eth0 inet dhcp
NET
# Journald on the console is noise; keep the serial console for debugging.
mkdir -p "$root/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\n' >"$root/etc/systemd/journald.conf.d/test.conf"
# Nothing waits for a network that ifupdown already brought up. No periodic jobs, and no
# boot-time work a headless throwaway VM has no use for (gettys on tty2-6, the clean-up of
# e2scrub snapshots): each took 6-7 s of a TCG boot.
chroot "$root" systemctl mask systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer man-db.timer \
    e2scrub_all.timer fstrim.timer e2scrub_reap.service getty-static.service >/dev/null 2>&1 || true

ssh-keygen -q -t ed25519 -N '' -C pve-fleet-test -f "$work/id_ed25519"
install -d -m 700 "$root/root/.ssh"
install -m 600 "$work/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
printf 'UseDNS no\n' >"$root/etc/ssh/sshd_config.d/test.conf"

cp -L "$root/vmlinuz" "$work/vmlinuz"
cp -L "$root/initrd.img" "$work/initrd.img"

truncate -s "$size" "$work/disk.img"
mkfs.ext4 -q -L root -d "$root" "$work/disk.img"
rm -rf "$root"

mkdir -p "$out"
mv "$work/disk.img" "$work/vmlinuz" "$work/initrd.img" "$work/id_ed25519" "$work/id_ed25519.pub" "$out/"
echo "image built in $out"
