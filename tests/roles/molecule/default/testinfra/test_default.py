"""Testinfra checks of the converged VM (pve.fleet.host with vars.yml)."""

import os
import re
import socket

import pytest

PACKAGES = [
    "qemu-system-x86",
    "qemu-utils",
    "lxc",
    "lvm2",
    "thin-provisioning-tools",
    "bridge-utils",
    "ifupdown",
    "shorewall",
    "nfs-common",
    "open-iscsi",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_package_installed(host, name):
    assert host.package(name).is_installed


def test_volume_group_on_extra_disk(host):
    out = host.check_output("pvs --noheadings --options pv_name,vg_name /dev/vdb")
    assert out.split() == ["/dev/vdb", "pve"]


def test_thin_pool(host):
    out = host.check_output("lvs --noheadings --options lv_name,lv_attr,segtype pve/data")
    name, attr, segtype = out.split()
    assert name == "data"
    assert attr.startswith("t")
    assert segtype == "thin-pool"


def test_root_disk_untouched(host):
    assert host.check_output("lsblk --noheadings --output FSTYPE /dev/vda").strip() == "ext4"


def test_bridge_carries_the_address(host):
    addrs = host.check_output("ip -4 -o addr show dev vmbr0")
    assert "10.0.2.15/24" in addrs
    assert host.check_output("ip -4 -o addr show dev eth0").strip() == ""
    assert host.file("/sys/class/net/eth0/master").linked_to == "/sys/devices/virtual/net/vmbr0"
    assert host.check_output("cat /sys/class/net/vmbr0/operstate") == "up"
    assert "default via 10.0.2.2 dev vmbr0" in host.check_output("ip -4 route show default")


def test_internal_bridge(host):
    assert "10.10.10.1/24" in host.check_output("ip -4 -o addr show dev vmbr1")


def test_ssh_reachable_with_a_new_connection():
    """A fresh TCP connection from the controller gets the SSH banner."""
    port = int(os.environ["PVE_FLEET_VM_PORT"])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.settimeout(10)
        assert sock.recv(64).startswith(b"SSH-")


def test_ip_forward_and_no_proxy_arp(host):
    assert host.file("/proc/sys/net/ipv4/ip_forward").content_string.strip() == "1"
    assert host.file("/proc/sys/net/ipv4/conf/eth0/proxy_arp").content_string.strip() == "0"
    sysctl = host.file("/etc/sysctl.d/90-pve-fleet.conf").content_string.splitlines()
    assert "net.ipv4.ip_forward=1" in sysctl
    assert "net.ipv4.conf.eth0.proxy_arp=0" in sysctl


def test_shorewall_running(host):
    svc = host.service("shorewall")
    assert svc.is_running
    assert svc.is_enabled
    assert "Shorewall is running" in host.check_output("shorewall status")


def test_shorewall_rules_in_iptables(host):
    rules = host.check_output("iptables-save -t filter")
    # Shorewall's chains for traffic from the net zone to the firewall; rules with a
    # ?COMMENT carry it as `-m comment` before the target.
    assert re.search(r"^-A net-fw .*-p tcp .*--dport 22 .*-j ACCEPT$", rules, re.M)
    assert re.search(r"^-A net-fw .*-p tcp .*--dport 8006 .*-j ACCEPT$", rules, re.M)
    assert re.search(r"^-A \S+ .*-p udp .*--dports 53,67 .*-j ACCEPT$", rules, re.M)
    assert ":INPUT DROP" in rules
    nat = host.check_output("iptables-save -t nat")
    assert "-s 10.10.10.0/24" in nat and "-j MASQUERADE" in nat


@pytest.mark.parametrize(
    "line",
    ["IP_FORWARDING=On", "FASTACCEPT=Yes", "BRIDGING=No", "STARTUP_ENABLED=Yes"],
)
def test_shorewall_conf(host, line):
    lines = host.file("/etc/shorewall/shorewall.conf").content_string.splitlines()
    assert line in lines


def test_shorewall_startup(host):
    lines = host.file("/etc/default/shorewall").content_string.splitlines()
    assert "startup=1" in lines


def test_shorewall_boot_script_is_the_committed_one(host):
    """What boot loads (/var/lib/shorewall/firewall) is what the last commit compiled."""
    assert host.run("sha256sum --check --status /var/lib/pve-fleet/shorewall-committed.sha256").rc == 0
    assert host.file("/var/lib/shorewall/state").content_string.startswith("Started")


def test_ksm(host):
    def ksm(name):
        return host.file(f"/sys/kernel/mm/ksm/{name}").content_string.strip()

    assert ksm("run") == "1"
    assert ksm("pages_to_scan") == "200"
    assert ksm("sleep_millisecs") == "50"
    assert host.file("/etc/tmpfiles.d/pve-fleet-ksm.conf").contains("/sys/kernel/mm/ksm/run")


def test_nested(host):
    # The test VM runs TCG with -cpu max (AMD vendor, SVM): only kvm_amd's option is
    # written, and kvm_amd loads with nesting.
    assert "AuthenticAMD" in host.file("/proc/cpuinfo").content_string
    conf = host.file("/etc/modprobe.d/pve-fleet-kvm-nested.conf").content_string
    assert "options kvm_amd nested=1" in conf
    assert "kvm_intel" not in conf
    assert host.file("/sys/module/kvm_amd/parameters/nested").content_string.strip() in ("1", "Y")


def test_no_lxc_nat_bridge(host):
    """lxc-net is stopped (its ExecStop removes lxcbr0) and masked: nothing outside the firewall."""
    assert not host.interface("lxcbr0").exists
    assert host.service("lxc-net").is_masked
