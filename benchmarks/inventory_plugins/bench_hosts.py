# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark-only inventory plugin: what ansible-inventory costs with no plugin work at all.

It makes ``hosts`` hosts, in the groups pve.fleet.pve would put stopped VMs in (node, type, status, one
tag), with ``variables`` of the thirteen host variables pve.fleet.pve sets (0: none), from no API and
no computation. ``benchmarks/fleet.py`` runs it beside the real plugins, so the share of a load that
is Ansible's own (adding hosts and variables, then merging and encoding them for ``--list``) shows.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: bench_hosts
short_description: Hosts and variables shaped like pve.fleet.pve's, from nothing (benchmarks only)
description:
  - Reads a file ending in C(.hosts.yml).
options:
  plugin:
    description: The name of this plugin.
    type: str
    required: true
    choices: [bench_hosts]
  hosts:
    description: How many hosts.
    type: int
    default: 1000
  variables:
    description: How many of the thirteen pve_* host variables each host gets.
    type: int
    default: 13
'''

from ansible.plugins.inventory import BaseInventoryPlugin

NODES = ('pve1', 'pve2', 'pve3')


class InventoryModule(BaseInventoryPlugin):

    NAME = 'bench_hosts'

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith('.hosts.yml')

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        count = self.get_option('variables')
        groups = ['pve_node_' + node for node in NODES] + ['pve_qemu', 'pve_stopped', 'pve_tag_bulk']
        for group in groups:
            self.inventory.add_group(group)
        for index in range(self.get_option('hosts')):
            vmid, node = 100 + index, NODES[index % 3]
            host = 'bulk-{0}'.format(vmid)
            self.inventory.add_host(host)
            for group in ('pve_node_' + node, 'pve_qemu', 'pve_stopped', 'pve_tag_bulk'):
                self.inventory.add_child(group, host)
            hostvars = [('pve_vmid', vmid), ('pve_name', host), ('pve_node', node), ('pve_type', 'qemu'),
                        ('pve_status', 'stopped'), ('pve_template', False), ('pve_pool', None), ('pve_tags', ['bulk']),
                        ('pve_lock', None), ('pve_maxmem', 2 * 1024 ** 3), ('pve_maxcpu', 2),
                        ('pve_maxdisk', 8 * 1024 ** 3), ('pve_uptime', 0)]
            for key, value in hostvars[:count]:
                self.inventory.set_variable(host, key, value)
