#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: evacuate
short_description: Empty a Proxmox VE node for maintenance, and bring its guests back after
version_added: 0.2.0
description:
  - Plans where every guest of O(node) (or the O(guests) selected) goes, then migrates them in waves,
    O(parallel) at a time - running VMs live, running containers in restart mode, stopped guests offline.
  - Targets respect storage (a guest's disks must be on storages the target has; node-local disks are copied),
    memory (no target above 100 - O(memory_reserve) percent), the C(affinity-<group>), C(anti-affinity-<group>)
    and C(pin-<node>) tags, and PVE 9 HA node-affinity and resource-affinity rules. A guest that no node can
    take is reported with the reason.
  - HA-managed guests are moved through the HA manager (C(cluster/ha/resources/<sid>/migrate)).
  - Where each guest went is recorded in the notes of O(node) in the cluster itself, so O(undo=true) brings
    them back from any controller. Undo clears the record of the guests it brought home.
  - Guests that cannot move fail the task (before anything moves) with every reason, unless O(allow_partial).
  - Running it again after it succeeded changes nothing.
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: Returns the full plan (moves, reasons, load per node before and after) and writes nothing.
  diff_mode:
    support: full
    description: Each guest's node before and after.
options:
  node:
    description: The node to empty (or, with O(undo), to bring the guests back to).
    type: str
    required: true
  guests:
    description:
      - Only these guests of O(node), by name or vmid (default, every guest on it). A guest in an affinity
        group moves with its group.
    type: list
    elements: str
  undo:
    description: Bring back the guests an earlier evacuation of O(node) moved away, as recorded in its notes.
    type: bool
    default: false
  parallel:
    description: How many moves run at a time (PVE's own C(migrateall) calls it maxworkers).
    type: int
    default: 4
  with_local_disks:
    description:
      - Let running VMs with disks on node-local storage move live, copying the disks. Without it, such a VM
        cannot move (stop it, or give this).
    type: bool
    default: false
  metric:
    description: What "least loaded" means when choosing a target.
    type: str
    choices: [memory, cpu]
    default: memory
  mode:
    description:
      - V(used) counts what running guests use now; V(assigned) counts every guest's configured size, running
        or not (safe when stopped guests may start).
    type: str
    choices: [used, assigned]
    default: used
  memory_reserve:
    description: Percent of each target's memory that is kept free.
    type: int
    default: 10
  allow_partial:
    description: Move what can move even if some guests cannot (they are reported in RV(blocked)).
    type: bool
    default: false
notes:
  - O(timeout) bounds each migration task (raise it for guests with large local disks).
seealso:
  - module: pve.fleet.rebalance
  - module: pve.fleet.migrate
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: Empty pve2 for maintenance
  pve.fleet.evacuate:
    node: pve2
    with_local_disks: true
    timeout: 1800

- name: What would move, and where (writes nothing)
  pve.fleet.evacuate:
    node: pve2
  check_mode: true
  register: plan

- name: After the maintenance, bring them back
  pve.fleet.evacuate:
    node: pve2
    undo: true
'''

RETURN = r'''
changed:
  description: Whether a guest moved (or would move) or the record changed.
  returned: always
  type: bool
changes:
  description: One sentence per move (in check mode, what would be done), with its reason.
  returned: always
  type: list
  elements: str
  sample: ['migrate VM web1 (100) pve2 -> pve3 (online): least loaded node with room (memory 41 % after)']
diff:
  description: Each moving guest's node before and after, as YAML text.
  returned: always
  type: dict
tasks:
  description: The UPIDs of the migration tasks.
  returned: always
  type: list
  elements: str
moves:
  description: The planned moves, in order (vmid, name, type, source, target, mode, with_local_disks, ha, wave, reason).
  returned: always
  type: list
  elements: dict
blocked:
  description: Guests that cannot move, each with the reason.
  returned: always
  type: list
  elements: dict
in_place:
  description: Guests asked for that have nothing to do (already home, on another node).
  returned: always
  type: list
  elements: dict
load:
  description: Each node's load (percent) before and after the moves, in the metric and in memory.
  returned: always
  type: dict
spread:
  description: The highest minus the lowest load share over the nodes, before and after.
  returned: always
  type: dict
truncated:
  description: Always false for an evacuation.
  returned: always
  type: bool
results:
  description: Each move's outcome (vmid, name, source, target, mode, tasks, failed, msg).
  returned: when moves ran
  type: list
  elements: dict
'''

from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.module import pve_module, run_module
from ansible_collections.pve.fleet.plugins.module_utils.moves import (
    PLACEMENT_SPEC, MovesPlan, apply_moves, blocked_message, moves_result, notes_with, placement_options,
    read_record, read_state, select_vmids)
from ansible_collections.pve.fleet.plugins.module_utils.placement import plan_evacuation, plan_return
from ansible_collections.pve.fleet.plugins.module_utils.plan import execute


def evacuate(module, client):
    params = module.params
    node = params['node']
    options = placement_options(params)
    cluster = ClusterView.read(client)
    cluster.require_node(node)
    notes, moved = read_record(client, node)
    if params['undo']:
        if params['guests'] is not None:
            raise PveError('guests: undo brings back what the evacuation of {0} recorded; it takes no '
                           'selection'.format(node))
        state = read_state(client, cluster, vmids=list(moved))
        placement = plan_return(state, dict((vmid, node) for vmid in moved), options)
        home = set(m['vmid'] for m in placement.moves) | set(s['vmid'] for s in placement.skipped)
        record = dict((vmid, where) for vmid, where in moved.items() if vmid not in home)
        doing = 'bring back'
    else:
        selection = select_vmids(cluster, params['guests'])
        on_node = [g['vmid'] for g in cluster.guests if g['node'] == node]
        state = read_state(client, cluster, vmids=on_node)
        placement = plan_evacuation(state, node, selection, options)
        record = dict(moved)
        record.update((m['vmid'], m['target']) for m in placement.moves)
        doing = 'move'
    if placement.blocked and not params['allow_partial']:
        module.fail_json(msg=blocked_message(placement, doing), **MovesPlan('node ' + node, placement).result())
    new_notes = notes_with(notes, record)
    plan = MovesPlan('node {0}'.format(node), placement,
                     record=(node, new_notes, record) if new_notes != notes else None)
    run = execute(client, plan, lambda run, plan: apply_moves(run, plan, params['parallel']), module.check_mode,
                  params['timeout'])
    result, failure = moves_result(plan, run, module.check_mode)
    if failure:
        module.fail_json(msg=failure, **result)
    return result


def main():
    spec = dict(
        node=dict(type='str', required=True),
        guests=dict(type='list', elements='str'),
        undo=dict(type='bool', default=False),
        allow_partial=dict(type='bool', default=False),
    )
    spec.update(PLACEMENT_SPEC)
    run_module(pve_module(spec), evacuate)


if __name__ == '__main__':
    main()
