#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: guest_info
short_description: List the VMs and containers of a Proxmox VE cluster
version_added: 0.1.0
description:
  - Lists guests (KVM virtual machines and LXC containers) cluster-wide, from a single
    C(cluster/resources) request, optionally filtered.
  - With O(config=true), adds each guest's current configuration (one request per guest,
    eight at a time).
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description: The module changes nothing, so there is no difference to show.
options:
  vmid:
    description: Only the guest with this id.
    type: int
  name:
    description: Only guests with this name (a container's hostname).
    type: str
  node:
    description: Only guests on this node. A node that is not in the cluster is an error.
    type: str
  type:
    description: Only virtual machines (V(qemu)) or containers (V(lxc)).
    type: str
    choices: [qemu, lxc]
  tags:
    description: Only guests that carry every one of these tags (compared case-insensitively).
    type: list
    elements: str
  pool:
    description: Only guests in this resource pool.
    type: str
  status:
    description: Only guests in this state.
    type: str
    choices: [running, stopped, paused, suspended, unknown]
  config:
    description: Add each guest's current configuration as RV(guests[].config).
    type: bool
    default: false
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: All guests of the cluster
  pve.fleet.guest_info:
    api_host: pve1.example.com
    api_user: root@pam
    api_password: "{{ vault_pve_password }}"
    ca_path: /etc/ssl/pve-root-ca.pem
  register: all_guests

- name: Running web VMs on pve2, with their configuration
  pve.fleet.guest_info:
    node: pve2
    type: qemu
    status: running
    tags: [web]
    config: true
  register: web

- name: Print their names and memory
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.config.memory }} MiB"
  loop: "{{ web.guests }}"
'''

RETURN = r'''
guests:
  description: The guests that match, sorted by vmid.
  returned: always
  type: list
  elements: dict
  contains:
    vmid:
      description: The guest's id.
      type: int
      sample: 100
    name:
      description: The VM's name or the container's hostname.
      type: str
      sample: web1
    node:
      description: The node the guest is on.
      type: str
      sample: pve1
    type:
      description: V(qemu) for a virtual machine, V(lxc) for a container.
      type: str
      sample: qemu
    status:
      description: PVE's status of the guest (V(unknown) while its node is offline).
      type: str
      sample: running
    template:
      description: Whether the guest is a template.
      type: bool
    pool:
      description: The resource pool, if any.
      type: str
    tags:
      description: The guest's tags, lower-case and sorted.
      type: list
      elements: str
      sample: [db, prod]
    lock:
      description: The guest's config lock (V(backup), V(migrate), ...), if any.
      type: str
    maxmem:
      description: Memory assigned, in bytes.
      type: int
    maxcpu:
      description: Virtual CPUs assigned.
      type: int
    maxdisk:
      description: Size of the first disk or root filesystem, in bytes.
      type: int
    mem:
      description: Memory in use, in bytes.
      type: int
    cpu:
      description: CPU load (1.0 is one core).
      type: float
    uptime:
      description: Seconds since the guest started.
      type: int
    config:
      description: The guest's current configuration, as PVE returns it, with secret keys (C(cipassword)) shown as V((hidden)).
      returned: when O(config=true)
      type: dict
      sample: {memory: '2048', cores: 2, net0: 'virtio=BC:24:11:2A:00:01,bridge=vmbr0'}
'''

from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView, guest_path
from ansible_collections.pve.fleet.plugins.module_utils.guest_types import public_config
from ansible_collections.pve.fleet.plugins.module_utils.module import pve_module, run_module


def list_guests(module, client):
    params = module.params
    cluster = ClusterView.read(client)
    if params['node'] is not None:
        cluster.require_node(params['node'])
    guests = cluster.select(vmid=params['vmid'], name=params['name'], node=params['node'], guest_type=params['type'],
                            pool=params['pool'], status=params['status'], tags=params['tags'])
    if params['config']:
        for guest, config in zip(guests, client.get_many([guest_path(g, 'config') for g in guests])):
            guest['config'] = public_config(guest['type'], config)
    return dict(changed=False, guests=guests)


def main():
    module = pve_module(dict(
        vmid=dict(type='int'),
        name=dict(type='str'),
        node=dict(type='str'),
        type=dict(type='str', choices=['qemu', 'lxc']),
        tags=dict(type='list', elements='str'),
        pool=dict(type='str'),
        status=dict(type='str', choices=['running', 'stopped', 'paused', 'suspended', 'unknown']),
        config=dict(type='bool', default=False),
    ))
    run_module(module, list_guests)


if __name__ == '__main__':
    main()
