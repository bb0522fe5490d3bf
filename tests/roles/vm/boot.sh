#!/usr/bin/env bash
# Boot the test VM from a cached image (see build-image.sh) on a throwaway overlay.
# usage: boot.sh IMAGE_DIR RUN_DIR SSH_PORT
# Writes RUN_DIR/qemu.pid, RUN_DIR/console.log; waits until SSH answers.
set -euo pipefail

image=${1:?image dir}
run=${2:?run dir}
port=${3:?ssh port}
mem=${VM_MEMORY:-2048}
# One vCPU: beside the other suites, two vCPUs on two host cores were preempted while the
# guest waited on one another (soft lockups and RCU stalls on the console). Under two busy
# host processes a boot took 131 -> 94 s and 130 -> 89 s of QEMU's CPU with one.
cpus=${VM_CPUS:-1}

mkdir -p "$run"
qemu-img create -q -f qcow2 -F raw -b "$image/disk.img" "$run/root.qcow2"
qemu-img create -q -f qcow2 "$run/data.qcow2" 4G
# Small spare disks (/dev/vdc ... /dev/vdg), one per case of the LVM guard.
spares=()
for n in 1 2 3 4 5; do
    qemu-img create -q -f qcow2 "$run/spare$n.qcow2" 256M
    spares+=(-drive "file=$run/spare$n.qcow2,if=virtio,format=qcow2,cache=unsafe")
done

# TCG, not KVM (GUIDE §5). The user network forwards only loopback:PORT to the guest's
# sshd; nothing else reaches in. cache=unsafe: the disks are thrown away afterwards.
# -nodefaults: no VGA, CD-ROM or parallel port, whose drivers the guest's udev loaded at
# every boot (the boot to SSH took 58 s with them, 45 s without, on an idle 2-core machine).
qemu-system-x86_64 \
    -name pve-fleet-test -machine q35 -accel tcg,thread=multi -cpu max \
    -smp "$cpus" -m "$mem" \
    -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
    -append 'root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet' \
    -drive "file=$run/root.qcow2,if=virtio,format=qcow2,cache=unsafe,discard=unmap" \
    -drive "file=$run/data.qcow2,if=virtio,format=qcow2,cache=unsafe" \
    "${spares[@]}" \
    -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" \
    -device virtio-net-pci,netdev=n0 \
    -device virtio-rng-pci \
    -nodefaults -display none -serial "file:$run/console.log" -monitor none \
    -daemonize -pidfile "$run/qemu.pid"

key=$image/id_ed25519
for _ in $(seq 1 180); do
    if ssh -q -i "$key" -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 root@127.0.0.1 true 2>/dev/null; then
        exit 0
    fi
    if ! kill -0 "$(cat "$run/qemu.pid")" 2>/dev/null; then
        echo "qemu exited; console:" >&2
        tail -n 40 "$run/console.log" >&2
        exit 1
    fi
    sleep 1
done
echo "VM did not answer on SSH in time; console:" >&2
tail -n 40 "$run/console.log" >&2
exit 1
