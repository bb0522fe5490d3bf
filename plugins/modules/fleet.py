#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: fleet
short_description: Converge many Proxmox VE guests, VMs and containers, in one task
version_added: 0.2.0
description:
  - Converges every guest of O(guests) the way M(pve.fleet.vm) and M(pve.fleet.ct) converge one, with the same
    options and the same engine, but in one task - one login, one C(cluster/resources) request, then only the
    configurations it needs (one request per existing guest), read and applied O(concurrency) at a time.
  - Moving from a loop over M(pve.fleet.vm) to this module is a change of one line - the list the loop went over
    becomes O(guests).
  - New guests without C(node) are spread over the online nodes by free memory, among the nodes that have the
    storages, bridges and templates they need; new guests without C(vmid) get distinct free ids.
  - One guest's failure does not stop the others (unless O(fail_fast)); the task fails at the end if any guest
    failed, and its message says which and why. RV(guests) reports each one.
  - With O(exclusive), guests that carry the given tags but are not in O(guests) are reported in RV(unlisted), and
    removed only with O(force=true). Nothing else outside O(guests) is ever touched.
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: Nothing is written; each guest's RV(guests[].changes) and diff say what would be done.
  diff_mode:
    support: full
    description: One before/after per guest that changes, of exactly the keys that change.
options:
  guests:
    description:
      - The guests, each a dict of the options of M(pve.fleet.vm) (the default) or, with V(type=lxc), of
        M(pve.fleet.ct). C(name) finds a VM, and a container by its C(hostname) (C(name) works for containers
        too); C(vmid) finds either.
      - Each item is checked as its own module would check it before anything is read or written; a bad item
        fails the task naming the item (C(guests[3] (web4))) and the option.
      - Each item's C(state) (V(present), V(started), V(stopped), V(restarted), V(template), V(absent)) and
        C(force) and C(purge) mean what they mean in M(pve.fleet.vm). Two items may not name the same guest.
      - C(type) is V(qemu) (or V(vm)) for a VM, V(lxc) (or V(ct)) for a container.
      - Secrets (C(cipassword), C(password)) are kept out of results, diffs, logs and error messages.
    type: list
    elements: dict
    required: true
  concurrency:
    description: How many guests are read and applied at a time (PVE tasks are waited for in parallel).
    type: int
    default: 8
  fail_fast:
    description:
      - Stop at the first failure - guests not yet started are not touched (and reported as not started).
      - By default every guest is converged and the task fails at the end if any failed.
    type: bool
    default: false
  exclusive:
    description:
      - Report the guests that carry any of these tags but are not in O(guests), in RV(unlisted).
        With O(force=true) they are removed (a running one is stopped first); check mode shows which.
    type: dict
    suboptions:
      tags:
        description: The tags that mark the guests this task owns.
        type: list
        elements: str
        required: true
  force:
    description: With O(exclusive), remove the unlisted guests (without it, they are only reported).
    type: bool
    default: false
notes:
  - O(timeout) bounds each API request and each PVE task of every guest.
  - To converge several clusters at once, make each cluster an inventory host with its connection variables
    and run the play with C(connection=local); Ansible's forks then run one task per cluster in parallel
    (see C(docs/fleet.md)).
seealso:
  - module: pve.fleet.vm
  - module: pve.fleet.ct
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: The web tier, three VMs and a cache container, in one task
  pve.fleet.fleet:
    guests:
      - {name: web1, memory: 2048, cores: 2, tags: [web], disks: {scsi0: {storage: local-lvm, size: 8}},
         nets: {net0: {bridge: vmbr0}}, state: started}
      - {name: web2, memory: 2048, cores: 2, tags: [web], disks: {scsi0: {storage: local-lvm, size: 8}},
         nets: {net0: {bridge: vmbr0}}, state: started}
      - {name: web3, clone: debian-12-template, memory: 2048, tags: [web]}
      - {type: lxc, hostname: cache1, ostemplate: debian-12-standard, memory: 512,
         nets: {net0: {bridge: vmbr0, ip: dhcp}}, state: started}

- name: The same, from the list a loop over pve.fleet.vm used to take
  pve.fleet.fleet:
    guests: "{{ web_vms }}"

- name: Own every guest tagged ci; report the others carrying the tag, and remove them
  pve.fleet.fleet:
    guests: "{{ ci_runners }}"
    exclusive:
      tags: [ci]
    force: true
'''

RETURN = r'''
changed:
  description: Whether any guest changed.
  returned: always
  type: bool
changes:
  description: Every guest's changes, each sentence prefixed with the guest's name (in check mode, what would be done).
  returned: always
  type: list
  elements: str
  sample: ['web1: set memory: 1024 -> 2048', 'cache1: start container cache1']
diff:
  description: One before/after (YAML text) per guest that changes.
  returned: always
  type: list
  elements: dict
tasks:
  description: The UPIDs of every PVE task the run waited for.
  returned: always
  type: list
  elements: str
guests:
  description: One entry per guest, in the order of O(guests) (then the unlisted ones O(force) removes).
  returned: always
  type: list
  elements: dict
  contains:
    vmid:
      description: The guest's id (for a new guest, the one it got or, in check mode, would get).
      type: int
      sample: 104
    name:
      description: The guest's name (a container's hostname).
      type: str
      sample: web1
    type:
      description: V(qemu) or V(lxc).
      type: str
    node:
      description: The node the guest is (or will be) on.
      type: str
      sample: pve2
    status:
      description: The power state after the run (V(absent) once removed); null for a guest that failed.
      type: str
      sample: running
    changed:
      description: Whether this guest changed.
      type: bool
    changes:
      description: What was (or would be) done to this guest, one sentence per change.
      type: list
      elements: str
    diff:
      description: Before and after of this guest's changed keys, as YAML text.
      type: dict
    tasks:
      description: The UPIDs of this guest's PVE tasks.
      type: list
      elements: str
    failed:
      description: Whether this guest failed (or, with O(fail_fast), was not started).
      type: bool
    msg:
      description: Why this guest failed, naming the option where it can; empty otherwise.
      type: str
    unlisted:
      description: The guest was not in O(guests) and is removed because of O(exclusive) and O(force).
      type: bool
unlisted:
  description: Guests carrying the O(exclusive) tags that are not in O(guests).
  returned: always
  type: list
  elements: dict
  sample: [{vmid: 130, name: old-runner, node: pve3, type: qemu, tags: [ci]}]
summary:
  description: How many guests there were, and how many changed, failed and stayed as they were.
  returned: always
  type: dict
  sample: {total: 50, changed: 2, failed: 0, unchanged: 48}
msg:
  description: Which guests failed and why.
  returned: when a guest failed
  type: str
'''

from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.fleet import converge_fleet, secret_values, specs_from_items
from ansible_collections.pve.fleet.plugins.module_utils.module import pve_module, run_module


def main():
    # no_log: the items carry secrets the argument spec cannot mark (their options depend on each item's
    # type); they are added to the values every output is scrubbed of once the items are read.
    module = pve_module(dict(
        guests=dict(type='list', elements='dict', required=True),
        concurrency=dict(type='int', default=8),
        fail_fast=dict(type='bool', default=False),
        exclusive=dict(type='dict', options=dict(tags=dict(type='list', elements='str', required=True))),
        force=dict(type='bool', default=False),
    ), no_log=True)
    params = module.params
    module.no_log_values.update(secret_values(params['guests']))
    try:
        specs = specs_from_items(params['guests'])
    except PveError as exc:
        module.fail_json(msg=str(exc))
    if params['concurrency'] < 1:
        module.fail_json(msg='concurrency: {0} is not a number of workers (at least 1)'.format(params['concurrency']))

    def converge(module, client):
        result = converge_fleet(client, specs, module.check_mode, params['timeout'], params['concurrency'],
                                params['fail_fast'], params['exclusive'], params['force'])
        if result.pop('failed', False):
            for warning in result.pop('warnings', []):
                module.warn(warning)
            module.fail_json(**result)
        return result
    run_module(module, converge)


if __name__ == '__main__':
    main()
