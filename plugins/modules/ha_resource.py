#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: ha_resource
short_description: Put a guest of a Proxmox VE cluster under high availability, or take it out
version_added: 0.1.0
description:
  - Ensures a VM or container is an HA resource of the cluster (API C(/cluster/ha/resources)) with the
    requested state and recovery options, or is no HA resource any more.
  - The guest is found by O(vmid), O(name) or O(sid) across the cluster; its node does not matter (HA moves
    guests between nodes).
  - Only the options the task sets are compared, with PVE's defaults for those a resource leaves unset
    (V(started), one restart, one relocation, failback on), so a second run changes nothing.
  - PVE's HA manager (the CRM) acts on the requested state by itself a few seconds later. V(started) starts
    the guest and recovers it on another node when its node fails, V(stopped) keeps it stopped (still
    recovered), V(disabled) stops it and leaves it where it is, V(ignored) leaves the guest to API calls and
    people. The module does not wait for that.
  - Where the guest goes is decided by HA rules on PVE 9 (M(pve.fleet.ha_rule)), or by an HA O(group) on
    PVE 8.
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: Reads the HA resources and reports what would change; nothing is written.
  diff_mode:
    support: full
    description: Shows the options that change, before and after.
options:
  sid:
    description:
      - The HA resource id, V(vm:<vmid>) for a VM or V(ct:<vmid>) for a container (PVE's C(sid)).
      - Give this, O(vmid) or O(name). With O(vmid) too, both must name the same guest.
    type: str
  vmid:
    description:
      - The guest's id.
    type: int
  name:
    description:
      - The guest's name, unique in the cluster. With O(vmid), both must name the same guest.
    type: str
  state:
    description:
      - V(present) makes the guest an HA resource and leaves its requested state as it is (a new one is
        V(started), PVE's default).
      - V(started), V(stopped), V(disabled), V(ignored) make it an HA resource with that requested state.
      - V(absent) removes the HA resource; the guest itself stays as it is, running or not. PVE also removes
        it from the HA rules that name it, and deletes a rule left without resources; the plan says which.
    type: str
    choices: [present, started, stopped, disabled, ignored, absent]
    default: present
  max_restart:
    description:
      - How often the HA manager tries to restart the guest on its node after a failed start, before it
        relocates it (PVE's default 1).
    type: int
  max_relocate:
    description:
      - How often the HA manager tries another node after the guest fails to start (PVE's default 1).
    type: int
  failback:
    description:
      - PVE 9. Whether the guest moves back to the node of highest priority of its node-affinity rule when
        that node comes back online (PVE's default true).
    type: bool
  group:
    description:
      - PVE 8. The HA group that says on which nodes the guest may run. An empty string removes it.
      - PVE 9 migrates groups to node-affinity rules and refuses groups afterwards; there the task fails,
        naming this option, before anything is written. Use M(pve.fleet.ha_rule).
    type: str
  comment:
    description:
      - A description of the resource. An empty string removes it.
    type: str
notes:
  - Removing a guest that is an HA resource needs C(purge) in PVE; M(pve.fleet.vm) and M(pve.fleet.ct)
    handle that.
seealso:
  - module: pve.fleet.ha_rule
  - name: PVE high availability
    description: The HA manager, resource states and rules.
    link: https://pve.proxmox.com/pve-docs/chapter-ha-manager.html
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: Keep the database VM running, restarted on its node up to three times before it moves
  pve.fleet.ha_resource:
    name: db1
    state: started
    max_restart: 3
    max_relocate: 2
    comment: primary database

- name: A container under HA, by its resource id
  pve.fleet.ha_resource:
    sid: ct:200
    state: started

- name: Hold a guest stopped for maintenance (HA keeps it stopped, and does not relocate it)
  pve.fleet.ha_resource:
    vmid: 100
    state: disabled

- name: PVE 8 - restrict the guest to the nodes of an HA group
  pve.fleet.ha_resource:
    vmid: 100
    group: rack-a

- name: Take a guest out of HA (it keeps running)
  pve.fleet.ha_resource:
    vmid: 100
    state: absent
'''

RETURN = r'''
sid:
  description: The HA resource id (V(vm:100), V(ct:200)); null when an absent resource's guest was not found.
  returned: always
  type: str
  sample: vm:100
vmid:
  description: The guest's id; null when the guest was not found (only possible with O(state=absent)).
  returned: always
  type: int
  sample: 100
node:
  description: The node the guest is on now; null when the guest was not found.
  returned: always
  type: str
  sample: pve1
changes:
  description: What was done (in check mode, what would be done), one sentence per change.
  returned: always
  type: list
  elements: str
  sample: ['put VM 100 (db1) on pve1 under HA as vm:100', 'add state: started', 'add max_restart: 3']
diff:
  description: Before and after of exactly the options that change, as YAML text.
  returned: always
  type: dict
tasks:
  description: The UPIDs of the PVE tasks the run waited for (HA resource changes run none).
  returned: always
  type: list
  elements: str
  sample: []
resource:
  description:
    - The HA resource as PVE returns it after the run (without its digest); in check mode, as it is now.
    - Null when the guest is no HA resource (any more).
  returned: always
  type: dict
  sample: {sid: vm:100, type: vm, state: started, max_restart: 3, comment: primary database}
'''

from ansible_collections.pve.fleet.plugins.module_utils.ha import (
    ResourceSpec, apply_ha_resource, find_resource, plan_ha_resource, public_resource, read_resource,
    resource_guest)
from ansible_collections.pve.fleet.plugins.module_utils.module import pve_module, run_module
from ansible_collections.pve.fleet.plugins.module_utils.plan import execute


def ensure_resource(module, client):
    spec = ResourceSpec.from_params(module.params)
    cluster, resources, groups, rules = read_resource(client, spec)
    guest, sid = resource_guest(spec, cluster, resources)
    current = find_resource(resources, sid) if sid else None
    plan = plan_ha_resource(spec, guest, sid, current, groups, rules)
    run = execute(client, plan, apply_ha_resource, module.check_mode, module.params['timeout'])
    if plan.changed and not module.check_mode:
        current = find_resource(client.get('cluster/ha/resources'), sid)
    result = plan.result(run)
    result.update(sid=sid, vmid=guest['vmid'] if guest else spec.vmid, node=guest['node'] if guest else None,
                  resource=public_resource(current))
    return result


def main():
    module = pve_module(dict(
        sid=dict(type='str'),
        vmid=dict(type='int'),
        name=dict(type='str'),
        state=dict(type='str', default='present',
                   choices=['present', 'started', 'stopped', 'disabled', 'ignored', 'absent']),
        max_restart=dict(type='int'),
        max_relocate=dict(type='int'),
        failback=dict(type='bool'),
        group=dict(type='str'),
        comment=dict(type='str'),
    ), required_one_of=[('sid', 'vmid', 'name')])
    run_module(module, ensure_resource)


if __name__ == '__main__':
    main()
