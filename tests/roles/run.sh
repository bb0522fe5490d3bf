#!/usr/bin/env bash
# The role tests on a real Debian 12 VM (issues 8 and 11, GUIDE §5):
#   1. host packages (QEMU, debootstrap) installed if missing
#   2. the VM image, cached outside the repo and keyed on the hash of vm/build-image.sh,
#      vm/local-repo.py, ../zip_pyc/zip_pyc_cache.py and the packages role's defaults (their packages
#      are in the image's local apt repository; all but lvm2, thin-provisioning-tools,
#      bridge-utils, shorewall and qemu-utils are installed too)
#   3. the VM booted under TCG on a throwaway overlay, SSH on 127.0.0.1:<free port>
#   4. the fresh host: a bad variable, then the parts without packages (scenarios/test_fresh_host.py)
#   5. molecule: converge, idempotence, verify (testinfra)
#   6. the converged host: parts alone, string booleans, the LVM guard
#   7. molecule side-effect (failure paths and rollbacks)
#   8. a reboot: everything comes back (right after a rolled-back lock-out)
#   9. bridged -> routed in one run (the host stays routed)
#  10. the emergency clear, by its tag and by the pve.fleet.shorewall_clear playbook
# `run.sh prepare` does steps 1 and 2 only (they need no venv).
# One VM, one boot (and the reboot of step 8): the steps run in this order, each leaving
# the host as the next expects it. The VM is always shut down on exit. Each step prints
# its time; any failure exits non-zero.
#
# Environment: VENV (default: <repo>/.venv), PVE_FLEET_CACHE (default: /var/cache/pve-fleet),
# KEEP_VM=1 leaves the VM running for debugging (its run directory is printed).
# To debug one step: ROLES_SKIP skips the steps whose names contain it, ROLES_UNTIL stops
# after the first step whose name contains it, e.g.
#   KEEP_VM=1 ROLES_SKIP="fresh host" ROLES_UNTIL="converged host" bash tests/roles/run.sh
# (a step still needs the state the steps before it leave: the converge is enough for most).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv=${VENV:-$repo/.venv}
cache=${PVE_FLEET_CACHE:-/var/cache/pve-fleet}
export PATH="$venv/bin:$PATH"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 ANSIBLE_NOCOLOR=1 NO_COLOR=1

suite_start=$(date +%s)
timings=()

step() {
    local name=$1 start rc=0
    shift
    if [ -n "${ROLES_SKIP:-}" ] && [[ $name == *"$ROLES_SKIP"* ]]; then
        echo "=== $name: skipped (ROLES_SKIP)"
        timings+=("$(printf '%5s  %s' - "$name  skipped")")
        return 0
    fi
    echo "=== $name"
    start=$(date +%s)
    "$@" || rc=$?
    local took=$(($(date +%s) - start))
    timings+=("$(printf '%4ds  %s%s' "$took" "$name" "$([ "$rc" = 0 ] || echo '  FAILED')")")
    echo "=== $name: ${took}s$([ "$rc" = 0 ] || echo " (FAILED, exit $rc)")"
    if [ "$rc" = 0 ] && [ -n "${ROLES_UNTIL:-}" ] && [[ $name == *"$ROLES_UNTIL"* ]]; then
        echo "=== stopping after \"$name\" (ROLES_UNTIL)"
        exit 0
    fi
    return "$rc"
}

summary() {
    echo "=== timings"
    printf '%s\n' "${timings[@]}"
    echo "$(printf '%4ds' $(($(date +%s) - suite_start)))  total${vm_cpu:+ (QEMU, the VM, used ${vm_cpu}s of CPU)}"
}

host_packages() {
    "$repo/tests/bin/install-packages" qemu-system-x86 qemu-utils debootstrap e2fsprogs openssh-client
}

image() {
    local key defaults=$repo/roles/packages/defaults/main.yml
    # The image holds the packages role's downloads (not installs) in a repository local-repo.py
    # indexes, and zip_pyc_cache.py: key on the four files.
    key=$(cat "$here/vm/build-image.sh" "$here/vm/local-repo.py" "$here/../zip_pyc/zip_pyc_cache.py" "$defaults" | sha256sum | cut -c1-16)
    image_dir=$cache/debian12-$key
    mkdir -p "$cache"
    exec 9>"$cache/.lock"
    flock 9
    if [ -f "$image_dir/disk.img" ]; then
        echo "cached image $image_dir"
    else
        # Images of older build scripts are of no further use.
        find "$cache" -mindepth 1 -maxdepth 1 -name 'debian12-*' -exec rm -rf {} +
        bash "$here/vm/build-image.sh" "$image_dir" "$defaults"
    fi
    flock -u 9
}

stop_vm() {
    local rc=$1 pid
    if [ "$rc" != 0 ] && [ -f "$run_dir/console.log" ]; then
        echo "=== VM console (last lines)"
        tail -n 30 "$run_dir/console.log" || true
    fi
    pid=$(cat "$run_dir/qemu.pid")
    # QEMU daemonized, so the CPU it used is not counted as this suite's: its own count
    # (utime and stime, fields 14 and 15).
    local stat
    if read -r -a stat <"/proc/$pid/stat" 2>/dev/null; then
        vm_cpu=$(( (stat[13] + stat[14]) / $(getconf CLK_TCK) ))
    fi
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    if [ -n "${run_dir:-}" ]; then
        if [ "${KEEP_VM:-0}" = 1 ]; then
            if [ -f "$run_dir/qemu.pid" ]; then
                echo "KEEP_VM=1: VM left running (pid $(cat "$run_dir/qemu.pid"), ssh -p $port -i $image_dir/id_ed25519 root@127.0.0.1)"
            fi
        else
            if [ -f "$run_dir/qemu.pid" ]; then stop_vm "$rc"; fi
            rm -rf "$run_dir"
        fi
    fi
    summary
    exit "$rc"
}

boot() {
    bash "$here/vm/boot.sh" "$image_dir" "$run_dir" "$port"
}

molecule_step() {
    (cd "$here" && molecule "$@" --scenario-name default)
}

# pytest drives operator runs (ansible-playbook with tags and -e) and checks the VM.
scenarios() {
    (cd "$here" && python -m pytest -c "$repo/pytest.ini" --rootdir "$repo" -s -q "scenarios/$1")
}

trap cleanup EXIT

step "host packages" host_packages
step "VM image (cached or built)" image
# `run.sh prepare` stops here: make test runs it while it builds the venvs.
[ "${1:-}" != prepare ] || exit 0
[ -x "$venv/bin/molecule" ] || { echo "no molecule in $venv (run make venv)" >&2; exit 1; }

run_dir=$(mktemp -d /tmp/pve-fleet-roles.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$run_dir/collections/ansible_collections/pve"
ln -s "$repo" "$run_dir/collections/ansible_collections/pve/fleet"
export PVE_FLEET_VM_PORT=$port
export PVE_FLEET_VM_KEY=$image_dir/id_ed25519
export PVE_FLEET_COLLECTIONS=$run_dir/collections
export PVE_FLEET_INVENTORY=$run_dir/inventory.yml
export ANSIBLE_COLLECTIONS_PATH=$PVE_FLEET_COLLECTIONS
cat >"$run_dir/inventory.yml" <<INV
all:
  hosts:
    pve-fleet-test:
      ansible_host: 127.0.0.1
      ansible_port: $port
      ansible_user: root
      ansible_ssh_private_key_file: $PVE_FLEET_VM_KEY
      ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
      ansible_python_interpreter: /usr/bin/python3
INV

step "boot the VM" boot
step "fresh host: a bad variable, the parts without packages" scenarios test_fresh_host.py
step "molecule converge" molecule_step converge
step "molecule idempotence" molecule_step idempotence
step "molecule verify (testinfra)" molecule_step verify
step "converged host: parts alone, string booleans, LVM guard" scenarios test_converged_host.py
step "molecule side-effect (failure paths and rollbacks)" molecule_step side-effect
step "reboot: everything comes back" scenarios test_reboot.py
step "bridged -> routed in one run" scenarios test_model_change.py
step "emergency clear: tag and playbook" scenarios test_emergency_clear.py
echo "=== role tests passed"
