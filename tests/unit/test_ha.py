"""HA resources and rules: the reader's data, PVE's feasibility checks, and the plans (pure, no cluster)."""

import pytest

from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.ha import (
    ResourceSpec, RuleSpec, plan_ha_resource, plan_ha_rule, read_ha_rules, rule_conflicts)

NODES = ['pve1', 'pve2', 'pve3']
GUEST = {'vmid': 100, 'name': 'web1', 'node': 'pve1', 'type': 'qemu'}


def node_rule(rule, resources, nodes, **more):
    return dict(rule=rule, type='node-affinity', resources=resources, nodes=nodes, order=1, **more)


def pair_rule(rule, resources, affinity, **more):
    return dict(rule=rule, type='resource-affinity', resources=resources, affinity=affinity, order=1, **more)


def parsed(*rules):
    return read_ha_rules(list(rules))


def test_reader_gives_every_key_for_both_types():
    data = read_ha_rules([
        {'rule': 'b', 'type': 'resource-affinity', 'resources': 'vm:101,ct:200', 'affinity': 'negative', 'order': 2,
         'digest': 'x'},
        {'rule': 'a', 'type': 'node-affinity', 'resources': 'vm:100', 'nodes': 'pve2,pve1:3', 'strict': 1,
         'affinity': 'positive', 'order': 1, 'comment': 'rack', 'disable': 1,
         'errors': {'resources': ['rule is ineffective']}},
    ])
    assert [r['rule'] for r in data] == ['a', 'b']
    assert data[0] == {'rule': 'a', 'type': 'node-affinity', 'order': 1, 'resources': ['vm:100'], 'vmids': [100],
                       'nodes': {'pve1': 3, 'pve2': 0}, 'strict': True, 'affinity': 'positive', 'disabled': True,
                       'comment': 'rack', 'errors': {'resources': ['rule is ineffective']}, 'effective': False}
    assert data[1] == {'rule': 'b', 'type': 'resource-affinity', 'order': 2, 'resources': ['ct:200', 'vm:101'],
                       'vmids': [101, 200], 'nodes': {}, 'strict': False, 'affinity': 'negative', 'disabled': False,
                       'comment': None, 'errors': {}, 'effective': True}
    assert read_ha_rules(None) == []


@pytest.mark.parametrize('rules, blamed', [
    # a resource in two node-affinity rules: both rules
    ([node_rule('n1', 'vm:100', 'pve1'), node_rule('n2', 'vm:100,vm:101', 'pve2')],
     {'n1': "resource 'vm:100' is already used", 'n2': "resource 'vm:100' is already used"}),
    ([pair_rule('p', 'vm:100', 'positive')], {'p': 'less than two resources'}),
    ([pair_rule('n', 'vm:100,vm:101,vm:102,vm:103', 'negative')], {'n': 'more resources than available nodes'}),
    # together and apart: connected positive rules count as one
    ([pair_rule('p1', 'vm:100,vm:101', 'positive'), pair_rule('p2', 'vm:101,vm:102', 'positive'),
      pair_rule('n', 'vm:100,vm:102', 'negative')],
     {'n': 'with a positive resource affinity rule', 'p1': 'with a negative resource affinity rule',
      'p2': 'with a negative resource affinity rule'}),
    ([node_rule('n', 'vm:100', 'pve1:2,pve2'), pair_rule('p', 'vm:100,vm:101', 'positive')],
     {'p': 'in node affinity rules with multiple priorities', 'n': 'with multiple priorities'}),
    ([node_rule('n1', 'vm:100', 'pve1'), node_rule('n2', 'vm:101', 'pve2'),
      pair_rule('p', 'vm:100,vm:101', 'positive')],
     {'p': 'in multiple node affinity rules', 'n1': 'other node affinity rule already',
      'n2': 'other node affinity rule already'}),
    ([node_rule('n', 'vm:100,vm:101', 'pve1', strict=1), pair_rule('x', 'vm:100,vm:101', 'negative')],
     {'x': 'restricted to less nodes', 'n': 'restrict these to less nodes'}),
])
def test_conflicts_are_pves(rules, blamed):
    errors = rule_conflicts(parsed(*rules), NODES)
    assert sorted(errors) == sorted(blamed)
    for rule, words in blamed.items():
        assert any(words in reason for reason in errors[rule]['resources']), errors[rule]


def test_feasible_and_disabled_rules_raise_nothing():
    assert rule_conflicts(parsed(node_rule('n', 'vm:100', 'pve1:2,pve2'), pair_rule('p', 'vm:101,vm:102', 'negative'),
                                 pair_rule('q', 'vm:100', 'positive', disable=1)), NODES) == {}


def rule_spec(**params):
    return RuleSpec.from_params(dict(dict(rule='r1', type=None, state='present', resources=None, nodes=None,
                                          strict=None, affinity=None, disable=None, comment=None), **params))


def test_rule_plan_create_update_remove():
    plan = plan_ha_rule(rule_spec(type='node-affinity', nodes=['pve1:2', 'pve2']), [], ['vm:100'], NODES)
    assert plan.action == 'create' and plan.fields == {'resources': (None, ['vm:100']),
                                                       'nodes': (None, {'pve1': 2, 'pve2': 0})}
    current = [{'rule': 'r1', 'type': 'node-affinity', 'resources': 'vm:100', 'nodes': 'pve1:2,pve2', 'order': 1,
                'digest': 'd1', 'strict': 1}]
    same = plan_ha_rule(rule_spec(nodes=['pve2', 'pve1:2'], strict=True), current, ['vm:100'], NODES)
    assert not same.changed
    plan = plan_ha_rule(rule_spec(strict=False, disable=True), current, None, NODES)
    assert plan.action == 'update' and plan.digest == 'd1'
    assert plan.fields == {'strict': (True, False), 'disable': (False, True)}
    plan = plan_ha_rule(rule_spec(state='absent'), current, None, NODES)
    assert plan.action == 'remove' and plan.changes == ['remove node-affinity rule r1']
    assert not plan_ha_rule(rule_spec(state='absent'), [], None, NODES).changed


def test_rule_plan_refuses_a_contradiction_naming_the_other_rule():
    current = [{'rule': 'keep', 'type': 'resource-affinity', 'resources': 'vm:100,vm:101', 'affinity': 'positive',
                'order': 1}]
    with pytest.raises(PveError) as caught:
        plan_ha_rule(rule_spec(type='resource-affinity', affinity='negative'), current, ['vm:100', 'vm:101'], NODES)
    assert str(caught.value) == ("resources: HA rule 'r1' contradicts rule keep, so PVE refuses it: rule shares two "
                                 "or more resources with a positive resource affinity rule")
    # Disabled, PVE neither applies nor checks it.
    assert plan_ha_rule(rule_spec(type='resource-affinity', affinity='negative', disable=True), current,
                        ['vm:100', 'vm:101'], NODES).action == 'create'


def resource_spec(**params):
    return ResourceSpec.from_params(dict(dict(sid=None, vmid=100, name=None, state='present', max_restart=None,
                                              max_relocate=None, failback=None, group=None, comment=None), **params))


def test_resource_plan_compares_with_pves_defaults():
    assert plan_ha_resource(resource_spec(), GUEST, 'vm:100', None).changes == [
        'put VM 100 (web1) on pve1 under HA as vm:100', 'add state: started']
    current = {'sid': 'vm:100', 'type': 'vm', 'state': 'enabled', 'digest': 'd'}
    assert not plan_ha_resource(resource_spec(state='started', max_restart=1, max_relocate=1, failback=True),
                                GUEST, 'vm:100', current).changed
    plan = plan_ha_resource(resource_spec(max_restart=0, comment=''), GUEST, 'vm:100', current)
    assert plan.options == {'max_restart': (1, 0)}
    plan = plan_ha_resource(resource_spec(state='absent'), GUEST, 'vm:100', current,
                            rules=[{'rule': 'pair', 'type': 'resource-affinity', 'resources': 'vm:100,vm:101'}])
    assert plan.changes == ['remove HA resource vm:100 (the guest stays as it is); PVE drops it from rule pair']
