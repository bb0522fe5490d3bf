#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: rebalance
short_description: Spread the load of a Proxmox VE cluster over its nodes
version_added: 0.2.0
description:
  - While the spread of load (the most loaded node's share minus the least loaded's) is above O(balanciness)
    percentage points, plans moves from the most to the least loaded node, each one lowering the spread, at
    most O(max_moves); then migrates them wave by wave, O(parallel) at a time.
  - Moves respect storage, the memory reserve, the C(affinity-<group>), C(anti-affinity-<group>) and
    C(pin-<node>) tags, and PVE 9 HA rules (never to a node of lower HA priority than the guest's). Guests
    tagged C(no-balance), templates and guests on nodes in maintenance are never moved.
  - Running it again on a balanced cluster changes nothing (planning again on the planned result finds no move).
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
  balanciness:
    description: The spread, in percentage points, that is tolerated; nothing moves below it.
    type: int
    default: 10
  max_moves:
    description: At most this many moves (a group that moves together counts one per guest). Default, no limit.
    type: int
  parallel:
    description: How many moves run at a time.
    type: int
    default: 4
  with_local_disks:
    description: Let running VMs with disks on node-local storage move live, copying the disks.
    type: bool
    default: false
  metric:
    description: What is balanced.
    type: str
    choices: [memory, cpu]
    default: memory
  mode:
    description:
      - V(used) counts what running guests use now; V(assigned) counts every guest's configured size, running
        or not.
    type: str
    choices: [used, assigned]
    default: used
  memory_reserve:
    description: Percent of each target's memory that is kept free.
    type: int
    default: 10
notes:
  - O(timeout) bounds each migration task.
seealso:
  - module: pve.fleet.evacuate
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: Even out memory, at most five moves
  pve.fleet.rebalance:
    balanciness: 15
    max_moves: 5

- name: The plan only
  pve.fleet.rebalance:
    metric: cpu
  check_mode: true
  register: plan
'''

RETURN = r'''
changed:
  description: Whether a guest moved (or would move).
  returned: always
  type: bool
changes:
  description: One sentence per move (in check mode, what would be done), with its reason.
  returned: always
  type: list
  elements: str
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
  description: Guests that will not move (templates, no-balance, nodes in maintenance), each with the reason.
  returned: always
  type: list
  elements: dict
in_place:
  description: Guests with nothing to do.
  returned: always
  type: list
  elements: dict
load:
  description: Each node's load (percent) before and after the moves.
  returned: always
  type: dict
spread:
  description: The spread before and after.
  returned: always
  type: dict
truncated:
  description: O(max_moves) stopped the plan while a move that would lower the spread was left.
  returned: always
  type: bool
results:
  description: Each move's outcome (vmid, name, source, target, mode, tasks, failed, msg).
  returned: when moves ran
  type: list
  elements: dict
'''

from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView
from ansible_collections.pve.fleet.plugins.module_utils.module import pve_module, run_module
from ansible_collections.pve.fleet.plugins.module_utils.moves import (
    PLACEMENT_SPEC, MovesPlan, apply_moves, moves_result, placement_options, read_state)
from ansible_collections.pve.fleet.plugins.module_utils.placement import plan_rebalance
from ansible_collections.pve.fleet.plugins.module_utils.plan import execute


def rebalance(module, client):
    params = module.params
    options = placement_options(params, balanciness=params['balanciness'], max_moves=params['max_moves'])
    cluster = ClusterView.read(client)
    placement = plan_rebalance(read_state(client, cluster), options)
    plan = MovesPlan('cluster', placement)
    run = execute(client, plan, lambda run, plan: apply_moves(run, plan, params['parallel']), module.check_mode,
                  params['timeout'])
    result, failure = moves_result(plan, run, module.check_mode)
    if failure:
        module.fail_json(msg=failure, **result)
    return result


def main():
    spec = dict(
        balanciness=dict(type='int', default=10),
        max_moves=dict(type='int'),
    )
    spec.update(PLACEMENT_SPEC)
    run_module(pve_module(spec), rebalance)


if __name__ == '__main__':
    main()
