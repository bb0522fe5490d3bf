#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: ha_rule
short_description: HA rules of a Proxmox VE 9 cluster - which nodes guests run on, which guests run together
version_added: 0.1.0
description:
  - Ensures an HA rule of the cluster (PVE 9, API C(/cluster/ha/rules)) exists with the options given, or
    is removed.
  - A V(node-affinity) rule places its O(resources) on its O(nodes), the nodes of highest priority first;
    O(strict) restricts them to those nodes. A V(resource-affinity) rule keeps its resources on one node
    (O(affinity=positive)) or on different nodes (O(affinity=negative)).
  - The resources must be HA resources already (M(pve.fleet.ha_resource)). They are given as HA resource
    ids, vmids or guest names, found across the cluster, and compared as a set.
  - PVE refuses a rule that contradicts the other rules (the same guests kept together and apart, a guest
    in two node-affinity rules, more guests kept apart than there are nodes, ...). The module runs PVE's
    own checks on the rules it read and fails before anything is written, with PVE's reason and the rules
    it conflicts with.
  - Only the options the task sets are compared, so a second run changes nothing.
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: Reads the rules and reports what would change; nothing is written.
  diff_mode:
    support: full
    description: Shows the options that change, before and after.
options:
  rule:
    description:
      - The rule's id (a letter, then letters, digits, C(-) or C(_); at least two characters).
    type: str
    required: true
    aliases: [name]
  type:
    description:
      - The rule type. Needed to create a rule; for an existing one it may be left out, and given it must
        be the rule's type (PVE cannot change it).
    type: str
    choices: [node-affinity, resource-affinity]
  state:
    description:
      - V(present) creates the rule or brings its options to the values given; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  resources:
    description:
      - The guests the rule is about, each an HA resource id (V(vm:100), V(ct:200)), a vmid (V(100)) or a
        guest name. Required to create a rule.
      - Each must be an HA resource already.
    type: list
    elements: str
  nodes:
    description:
      - V(node-affinity) only, required to create one. The nodes, each a node name with an optional
        priority after a colon (V(pve1:2), V(pve2)); a higher number is preferred, no number is 0. Compared as
        a whole.
    type: list
    elements: str
  strict:
    description:
      - V(node-affinity) only. V(true) lets the resources run only on O(nodes) (they stay stopped if none is
        available); V(false), PVE's default, makes them prefer O(nodes).
    type: bool
  affinity:
    description:
      - V(resource-affinity) only, required to create one. V(positive) keeps the resources on the same node,
        V(negative) keeps them on different nodes.
    type: str
    choices: [positive, negative]
  disable:
    description:
      - V(true) keeps the rule but has PVE not apply it (nor check it against the others); V(false) enables it again.
    type: bool
  comment:
    description:
      - A description of the rule. An empty string removes it.
    type: str
notes:
  - PVE 8 has no HA rules (it has HA groups, see M(pve.fleet.ha_resource)); there the module fails, naming
    O(rule), before anything is written.
  - While a PVE 9 cluster still has HA groups that were not migrated, PVE refuses to create or change rules.
seealso:
  - module: pve.fleet.ha_resource
  - name: PVE HA rules
    description: Node affinity and resource affinity rules.
    link: https://pve.proxmox.com/pve-docs/chapter-ha-manager.html#ha_manager_rules
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: The databases prefer pve1, then pve2
  pve.fleet.ha_rule:
    rule: db-placement
    type: node-affinity
    resources: [db1, db2]
    nodes: ['pve1:2', 'pve2:1']

- name: The licence server may run on pve3 only
  pve.fleet.ha_rule:
    rule: licence-pinned
    type: node-affinity
    resources: [vm:120]
    nodes: [pve3]
    strict: true

- name: The web tier and its cache run on the same node
  pve.fleet.ha_rule:
    rule: web-with-cache
    type: resource-affinity
    affinity: positive
    resources: [web1, ct:300]

- name: The two database replicas never share a node
  pve.fleet.ha_rule:
    rule: db-apart
    type: resource-affinity
    affinity: negative
    resources: [db1, db2]

- name: Switch a rule off for a while
  pve.fleet.ha_rule:
    rule: db-apart
    disable: true

- name: Remove a rule
  pve.fleet.ha_rule:
    rule: licence-pinned
    state: absent
'''

RETURN = r'''
rule:
  description: The rule's id.
  returned: always
  type: str
  sample: db-apart
type:
  description: The rule's type; null when an absent rule stays absent and no type was given.
  returned: always
  type: str
  sample: resource-affinity
changes:
  description: What was done (in check mode, what would be done), one sentence per change.
  returned: always
  type: list
  elements: str
  sample: ['create resource-affinity rule db-apart', 'add resources: vm:101, vm:102', 'add affinity: negative']
diff:
  description: Before and after of exactly the options that change, as YAML text.
  returned: always
  type: dict
tasks:
  description: The UPIDs of the PVE tasks the run waited for (HA rule changes run none).
  returned: always
  type: list
  elements: str
  sample: []
ha_rule:
  description:
    - The rule after the run (in check mode, as it is now) as plain data, null when it does not exist.
    - C(resources) a sorted list of HA resource ids and C(vmids) their guests' ids; C(nodes) a dict of node to
      priority (node-affinity, else empty); C(strict), C(disabled) and C(effective) (PVE applies it)
      booleans; C(affinity); C(comment); C(errors), PVE's reasons for not applying it.
  returned: always
  type: dict
  sample: {rule: db-apart, type: resource-affinity, order: 2, resources: [vm:101, vm:102], vmids: [101, 102],
           nodes: {}, strict: false, affinity: negative, disabled: false, comment: null, errors: {}, effective: true}
'''

from ansible_collections.pve.fleet.plugins.module_utils.ha import (
    RuleSpec, apply_ha_rule, plan_ha_rule, read_ha_rules, read_rule_state, resolve_resources)
from ansible_collections.pve.fleet.plugins.module_utils.module import pve_module, run_module
from ansible_collections.pve.fleet.plugins.module_utils.plan import execute


def rule_named(rules, rule_id):
    return next((r for r in read_ha_rules(rules) if r['rule'] == rule_id), None)


def ensure_rule(module, client):
    spec = RuleSpec.from_params(module.params)
    cluster, resources, rules = read_rule_state(client)
    sids = resolve_resources(spec.resources, cluster, resources) if spec.resources is not None else None
    plan = plan_ha_rule(spec, rules, sids, sorted(cluster.nodes))
    run = execute(client, plan, apply_ha_rule, module.check_mode, module.params['timeout'])
    if plan.changed and not module.check_mode:
        rules = client.get('cluster/ha/rules')
    result = plan.result(run)
    result.update(rule=spec.rule, type=plan.type, ha_rule=rule_named(rules, spec.rule))
    return result


def main():
    module = pve_module(dict(
        rule=dict(type='str', required=True, aliases=['name']),
        type=dict(type='str', choices=['node-affinity', 'resource-affinity']),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        resources=dict(type='list', elements='str'),
        nodes=dict(type='list', elements='str'),
        strict=dict(type='bool'),
        affinity=dict(type='str', choices=['positive', 'negative']),
        disable=dict(type='bool'),
        comment=dict(type='str'),
    ))
    run_module(module, ensure_rule)


if __name__ == '__main__':
    main()
