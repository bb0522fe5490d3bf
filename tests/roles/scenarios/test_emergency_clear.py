"""The emergency clear (issue 11, item 1): reached by its own tag and by its playbook."""

import pytest

pytestmark = pytest.mark.timeout(600)


def assert_cleared(vm):
    assert vm.ssh("iptables -S INPUT | head -n1").strip() == "-P INPUT ACCEPT"
    assert vm.ssh("iptables -n -L shorewall >/dev/null 2>&1 && echo chains || echo none").strip() == "none"
    assert vm.new_ssh_connection_works()


def test_the_shorewall_clear_tag_opens_the_firewall(vm):
    assert "-P INPUT DROP" in vm.ssh("iptables -S INPUT")
    run = vm.play("--tags", "shorewall_clear")
    run.assert_ok()
    assert_cleared(vm)


def test_the_emergency_playbook_opens_the_firewall(vm):
    # The committed ruleset again, as boot would load it (no compile: AUTOMAKE).
    vm.ssh("shorewall -q start")
    assert "-P INPUT DROP" in vm.ssh("iptables -S INPUT")
    run = vm.play(playbook="pve.fleet.shorewall_clear")
    run.assert_ok()
    assert_cleared(vm)
