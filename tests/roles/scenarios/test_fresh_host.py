"""The parts without the packages part on a fresh host (run first, before the full converge).

The packages part is skipped by the tags, so each part installs what it needs itself, from
the test image's local apt repository (its only source). Issue 11, items 4 and 5.
The parts run in one play (`--tags lvm,network,shorewall,ksm`): no part installs another's
packages, so each still has to install its own, and the slow TCG guest gathers facts and
checks variables once rather than four times.
"""

import pytest

pytestmark = pytest.mark.timeout(1200)


def test_a_bad_variable_fails_before_any_part_changes_the_host(vm):
    interfaces = vm.ssh("sha256sum /etc/network/interfaces")
    run = vm.play("-e", "ksm_pages_to_scan=lots")
    assert run.rc != 0
    assert run.failed == 1
    assert run.changed == 0
    assert "ksm_pages_to_scan" in run.output
    # The packages part comes first in the run; it did not get to install anything (the
    # image holds the rest of packages_base already, but for these).
    for package in ("qemu-utils", "lvm2", "shorewall", "bridge-utils"):
        assert not vm.installed(package), package
    assert vm.ssh("sha256sum /etc/network/interfaces") == interfaces


@pytest.fixture(scope="module")
def parts(vm):
    """One run of the parts without packages."""
    return vm.play("--tags", "lvm,network,shorewall,ksm")


def test_the_parts_ran_without_the_packages_part(vm, parts):
    parts.assert_ok()
    assert not vm.installed("qemu-utils"), "the packages part ran"


def test_lvm_installed_the_lvm_tools(vm, parts):
    assert vm.installed("lvm2") and vm.installed("thin-provisioning-tools")
    assert vm.ssh("pvs --noheadings --options pv_name,vg_name").split() == ["/dev/vdb", "pve"]
    assert vm.ssh("lvs --noheadings --options lv_name,segtype pve").split() == ["data", "thin-pool"]


def test_network_installed_the_bridge_utilities(vm, parts):
    assert vm.installed("bridge-utils")
    assert "10.0.2.15/24" in vm.ssh("ip -4 -o addr show dev vmbr0")
    assert vm.ssh("basename $(readlink /sys/class/net/eth0/master)").strip() == "vmbr0"
    assert vm.new_ssh_connection_works()


def test_shorewall_installed_shorewall(vm, parts):
    assert vm.installed("shorewall")
    assert "Shorewall is running" in vm.ssh("shorewall status")
    assert vm.ssh("systemctl is-enabled shorewall").strip() == "enabled"
    assert ":INPUT DROP" in vm.firewall()
    assert vm.new_ssh_connection_works()


def test_ksm(vm, parts):
    assert vm.ssh("cat /sys/kernel/mm/ksm/run /sys/kernel/mm/ksm/pages_to_scan").split() == ["1", "200"]
