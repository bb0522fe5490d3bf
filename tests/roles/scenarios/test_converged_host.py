"""Operator runs on the converged host (after molecule converge, idempotence and verify).

Issue 11: one part alone changes nothing and keeps the firewall (items 1 and 4), string
booleans from -e are read as booleans (item 3), the LVM guard (items 6 and 8).
"""

from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(1200)

LVM_GUARD = Path(__file__).with_name("lvm_guard.yml")


def test_parts_alone_change_nothing_and_keep_the_firewall(vm):
    # Any tag set with shorewall in it ran the emergency clear before (issue 11, item 1);
    # lvm and ksm ride along in the same run (each TCG run costs a minute).
    firewall = vm.firewall()
    run = vm.play("--tags", "shorewall,lvm,ksm")
    run.assert_ok()
    assert run.changed == 0
    assert "Shorewall is running" in vm.ssh("shorewall status")
    assert vm.firewall() == firewall
    assert ":INPUT DROP" in firewall


def test_string_booleans_are_read_as_booleans(vm):
    tags = ["--tags", "packages,network,ksm,nested"]
    run = vm.play(*tags, "-e", "ksm_enabled=false", "-e", "nested_enabled=false",
                  "-e", "network_ip_forward=false", "-e", "packages_drbd=false")
    run.assert_ok()
    assert vm.ssh("cat /sys/kernel/mm/ksm/run").strip() == "0"
    assert "w /sys/kernel/mm/ksm/run - - - - 0" in vm.ssh("cat /etc/tmpfiles.d/pve-fleet-ksm.conf")
    assert "nested=0" in vm.ssh("cat /etc/modprobe.d/pve-fleet-kvm-nested.conf")
    assert vm.sysctl("net.ipv4.ip_forward") == "0"
    assert "net.ipv4.ip_forward=0" in vm.ssh("cat /etc/sysctl.d/90-pve-fleet.conf")
    assert not vm.installed("drbd-utils")

    # On again (packages has no boolean of its own to switch back: drbd stays off).
    run = vm.play("--tags", "network,ksm,nested", "-e", "ksm_enabled=true", "-e", "nested_enabled=true",
                  "-e", "network_ip_forward=true")
    run.assert_ok()
    assert vm.ssh("cat /sys/kernel/mm/ksm/run").strip() == "1"
    assert "nested=1" in vm.ssh("cat /etc/modprobe.d/pve-fleet-kvm-nested.conf")
    assert vm.sysctl("net.ipv4.ip_forward") == "1"


def test_the_lvm_guard(vm):
    """lvm_guard.yml: each disk that holds something is refused, force wipes one."""
    run = vm.play(playbook=LVM_GUARD)
    run.assert_ok()
