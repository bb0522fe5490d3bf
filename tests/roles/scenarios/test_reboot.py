"""A reboot of the converged host, right after the side-effect step rolled back a ruleset
that locked the controller out (issue 11, item 2): the network, LVM, KSM, nested
virtualization and the live firewall come back exactly, and SSH answers.
"""

import pytest

pytestmark = pytest.mark.timeout(900)


def test_everything_comes_back_after_a_reboot(vm):
    before = vm.snapshot()
    assert "Started" in before["shorewall state"]
    assert ":INPUT DROP" in before["firewall"]
    vm.reboot()
    assert vm.new_ssh_connection_works()
    after = vm.snapshot()
    for what, state in before.items():
        assert after[what] == state, f"{what} changed across the reboot"


def test_the_boot_script_is_the_committed_one(vm):
    assert vm.ssh("sha256sum --check --status /var/lib/pve-fleet/shorewall-committed.sha256 && echo ok").strip() == "ok"
