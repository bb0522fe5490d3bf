"""Changing the network model of the converged host, bridged -> routed (issue 11, item 7).

A switch that cuts the host off is rolled back with the sysctls it brought; the switch
that works is one pve.fleet.host run: the firewall accepts the host address's new
interface first (pve.fleet.network's handover), then the network changes, then
Shorewall applies the interfaces of the new model. Runs last: the host stays routed.
"""

import json

import pytest

pytestmark = pytest.mark.timeout(1200)

ROUTED = {
    "network_model": "routed",
    "network_routed_guest_routes": ["10.0.2.200/32"],
    "shorewall_interfaces": [
        {"zone": "net", "interface": "eth0", "options": ["tcpflags", "nosmurfs"]},
        {"zone": "vm", "interface": "vmbr0", "options": ["routeback", "tcpflags"]},
        {"zone": "vm", "interface": "vmbr1", "options": ["routeback", "tcpflags"]},
    ],
    "shorewall_snat": [{"action": "MASQUERADE", "source": "10.10.10.0/24", "dest": "eth0"}],
}


def routed(**more):
    return ["-e", json.dumps(dict(ROUTED, **more))]


def test_a_switch_that_cuts_the_host_off_leaves_nothing_behind(vm):
    interfaces = vm.ssh("sha256sum /etc/network/interfaces")
    # The QEMU user network forwards SSH to 10.0.2.15 only: another address cuts the host off.
    run = vm.play(*routed(network_address="10.0.2.99/24", network_confirm_timeout=20, network_check_timeout=8),
                  "--tags", "network")
    assert run.rc != 0
    assert "cut the host off" in run.output
    assert vm.new_ssh_connection_works()
    assert vm.ssh("sha256sum /etc/network/interfaces") == interfaces
    assert "10.0.2.15/24" in vm.ssh("ip -4 -o addr show dev vmbr0")
    assert vm.sysctl("net.ipv4.conf.eth0.proxy_arp") == "0"
    assert "proxy_arp=1" not in vm.ssh("cat /etc/sysctl.d/90-pve-fleet.conf")


def test_bridged_to_routed_in_one_host_run(vm):
    run = vm.play(*routed())
    run.assert_ok()
    assert "10.0.2.15/24" in vm.ssh("ip -4 -o addr show dev eth0")
    assert "default via 10.0.2.2 dev eth0" in vm.ssh("ip -4 route show default")
    assert "10.0.2.15/32" in vm.ssh("ip -4 -o addr show dev vmbr0")
    assert vm.ssh("ls /sys/class/net/vmbr0/brif").split() == []
    assert "10.0.2.200 dev vmbr0" in vm.ssh("ip -4 route show")
    assert vm.sysctl("net.ipv4.conf.eth0.proxy_arp") == "1"
    assert "net.ipv4.conf.eth0.proxy_arp=1" in vm.ssh("cat /etc/sysctl.d/90-pve-fleet.conf")
    assert vm.sysctl("net.ipv4.ip_forward") == "1"
    interfaces = vm.ssh("grep -v '^#' /etc/shorewall/interfaces")
    assert "net\teth0\ttcpflags,nosmurfs" in interfaces
    assert "vm\tvmbr0\trouteback,tcpflags" in interfaces
    assert "Shorewall is running" in vm.ssh("shorewall status")
    assert vm.new_ssh_connection_works()
