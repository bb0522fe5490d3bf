"""pve.fleet.ha_rule through ansible-playbook against the fake cluster, and the fake's HA rules and motions."""

import pytest
import yaml

from fakecluster.client import ResourceException, api

from ansible_collections.pve.fleet.plugins.module_utils.ha import read_ha_rules


def task(title, **options):
    return {'name': title, 'pve.fleet.ha_rule': options}


def diff_of(result, name):
    diff = result.task(name)['diff']
    diff = diff[0] if isinstance(diff, list) else diff
    return yaml.safe_load(diff['before']), yaml.safe_load(diff['after'])


def stored(cluster, rule):
    """A rule as the fake keeps it, without its ordinal."""
    return dict((k, v) for k, v in cluster.ha_rules[rule].items() if k != 'order')


@pytest.fixture
def managed(served, cluster):
    """VMs 100-103 and CT 200, all HA resources but 103, spread over the nodes."""
    for vmid, name, node in ((100, 'web1', 'pve1'), (101, 'web2', 'pve2'), (102, 'db1', 'pve3'),
                             (103, 'db2', 'pve1')):
        served.run(cluster.add_vm, vmid, name, node, 'running')
    served.run(cluster.add_ct, 200, 'cache1', 'pve1')
    pve = api(served)
    for sid in ('vm:100', 'vm:101', 'vm:102', 'ct:200'):
        pve.cluster.ha.resources.post(sid=sid)
    return cluster


def test_node_affinity_created_changed_removed(ansible, managed):
    cluster = managed
    create = [task('place', rule='place', type='node-affinity', resources=['web1', 'vm:101'],
                   nodes=['pve1:2', 'pve2'], strict=True)]
    check = ansible.assert_check_mode_writes_nothing(create, diff=True).assert_ok()
    before, after = diff_of(check, 'place')
    assert before is None
    assert after == {'type': 'node-affinity', 'resources': ['vm:100', 'vm:101'], 'nodes': ['pve1:2', 'pve2'],
                     'strict': True}
    assert cluster.ha_rules == {}
    first, _second = ansible.assert_idempotent(create)
    assert first.task('place')['changes'] == ['create node-affinity rule place', 'add resources: vm:100, vm:101',
                                              'add nodes: pve1:2, pve2', 'add strict: true']
    assert stored(cluster, 'place') == {'type': 'node-affinity', 'resources': {'vm:100', 'vm:101'},
                                        'nodes': {'pve1': 2, 'pve2': 0}, 'strict': 1}
    rule = first.task('place')['ha_rule']
    assert rule['nodes'] == {'pve1': 2, 'pve2': 0} and rule['vmids'] == [100, 101] and rule['effective']

    # The same rule said another way: vmids and a sid, nodes in another order.
    same = [task('same', rule='place', resources=['101', 'vm:100'], nodes=['pve2', 'pve1:2'], strict=True)]
    cluster.clear_log()
    assert ansible.run(same).assert_ok().changed == [] and cluster.writes() == []

    change = [task('place', rule='place', nodes=['pve3'], strict=False, comment='moved to rack 3')]
    check = ansible.assert_check_mode_writes_nothing(change, diff=True).assert_ok()
    before, after = diff_of(check, 'place')
    assert before == {'nodes': ['pve1:2', 'pve2'], 'strict': True}
    assert after == {'nodes': ['pve3'], 'strict': False, 'comment': 'moved to rack 3'}
    ansible.assert_idempotent(change)
    assert stored(cluster, 'place') == {'type': 'node-affinity', 'resources': {'vm:100', 'vm:101'},
                                        'nodes': {'pve3': 0}, 'strict': 0, 'comment': 'moved to rack 3'}

    first, _second = ansible.assert_idempotent([task('off', rule='place', disable=True, comment='')])
    assert first.task('off')['changes'] == ['set disable: false -> true', 'remove comment (moved to rack 3)']
    assert cluster.ha_rules['place']['disable'] == 1
    first, _second = ansible.assert_idempotent([task('on', rule='place', disable=False)])
    assert first.task('on')['changes'] == ['remove disable (true)'] and 'disable' not in cluster.ha_rules['place']

    remove = [task('gone', rule='place', state='absent')]
    check = ansible.assert_check_mode_writes_nothing(remove, diff=True).assert_ok()
    before, after = diff_of(check, 'gone')
    assert after is None and before == {'type': 'node-affinity', 'resources': ['vm:100', 'vm:101'], 'nodes': ['pve3']}
    first, _second = ansible.assert_idempotent(remove)
    assert first.task('gone')['ha_rule'] is None and cluster.ha_rules == {}


def test_resource_affinity_and_a_contradiction_refused(ansible, served, managed):
    cluster = managed
    together = [task('together', rule='together', type='resource-affinity', affinity='positive',
                     resources=['web1', 'cache1'])]
    first, _second = ansible.assert_idempotent(together)
    assert stored(cluster, 'together') == {'type': 'resource-affinity', 'affinity': 'positive',
                                           'resources': {'vm:100', 'ct:200'}}
    assert first.task('together')['ha_rule']['resources'] == ['ct:200', 'vm:100']

    apart = [task('apart', rule='apart', type='resource-affinity', affinity='negative', resources=['100', 'ct:200'])]
    cluster.clear_log()
    result = ansible.run(apart)
    assert result.rc != 0 and cluster.writes() == []
    assert result.failed[0]['result']['msg'] == (
        "resources: HA rule 'apart' contradicts rule together, so PVE refuses it: rule shares two or more resources "
        "with a positive resource affinity rule")
    # The fake refuses it the same way when the request is sent anyway.
    with pytest.raises(ResourceException) as caught:
        api(served).cluster.ha.rules.post(rule='apart', type='resource-affinity', affinity='negative',
                                          resources='vm:100,ct:200')
    assert caught.value.status_code == 500
    assert "Rule 'apart' is invalid" in str(caught.value.content)
    # Disabled, a rule is not checked against the others: PVE keeps it.
    ansible.assert_idempotent([dict(apart[0], **{'pve.fleet.ha_rule': dict(apart[0]['pve.fleet.ha_rule'],
                                                                           disable=True)})])
    assert cluster.ha_rules['apart']['disable'] == 1
    # Switching the positive one to negative conflicts with nothing any more.
    first, _second = ansible.assert_idempotent([task('flip', rule='together', affinity='negative',
                                                     resources=['web1', 'web2'])])
    assert first.task('flip')['changes'] == ['set resources: ct:200, vm:100 -> vm:100, vm:101',
                                             'set affinity: positive -> negative']


BAD_INPUT = [
    (dict(rule='x', type='node-affinity', resources=['web1'], nodes=['pve1']), 'rule', 'is not an HA rule id'),
    (dict(rule='new', resources=['web1'], nodes=['pve1']), 'type', 'creating it needs its type'),
    (dict(rule='new', type='node-affinity', resources=['web1']), 'nodes', 'required to create a node-affinity rule'),
    (dict(rule='new', type='resource-affinity', resources=['web1', 'web2']), 'affinity', 'required to create'),
    (dict(rule='new', type='node-affinity', nodes=['pve1']), 'resources', 'required to create'),
    (dict(rule='new', type='node-affinity', resources=['web1'], nodes=['pve9']), 'nodes', "node 'pve9' is not in"),
    (dict(rule='new', type='node-affinity', resources=['web1'], nodes=['pve1:high']), 'nodes', 'optional priority'),
    (dict(rule='new', type='node-affinity', resources=['web1'], nodes=['pve1', 'pve1:2']), 'nodes', 'given twice'),
    (dict(rule='new', type='resource-affinity', affinity='positive', resources=['web1', 'web2'], strict=True),
     'strict', 'only node-affinity rules'),
    (dict(rule='new', type='node-affinity', resources=['web1'], nodes=['pve1'], affinity='negative'),
     'affinity', 'only resource-affinity rules'),
    (dict(rule='new', type='node-affinity', resources=['db2'], nodes=['pve1']), 'resources',
     'db2 (vm:103) is not an HA resource'),
    (dict(rule='new', type='node-affinity', resources=['nobody'], nodes=['pve1']), 'resources', "'nobody': neither"),
    (dict(rule='new', type='node-affinity', resources=['vm:999'], nodes=['pve1']), 'resources',
     'vm:999 is not an HA resource'),
    (dict(rule='new', type='resource-affinity', affinity='positive', resources=['web1']), 'resources',
     'rule is ineffective as there are less than two resources'),
    (dict(rule='new', type='resource-affinity', affinity='negative', resources=['web1', 'web2', 'db1', 'cache1']),
     'resources', 'rule defines more resources than available nodes'),
    (dict(rule='new', type='node-affinity', resources=['web1'], nodes=['pve2']), 'resources',
     "resource 'vm:100' is already used in another node affinity rule"),
    (dict(rule='home', type='resource-affinity'), 'type', 'PVE cannot change the type of a rule'),
    (dict(rule='home', state='absent', nodes=['pve1']), 'nodes', 'not used with state=absent'),
]


def test_bad_input_refused_before_any_write(ansible, served, managed):
    cluster = managed
    api(served).cluster.ha.rules.post(rule='home', type='node-affinity', resources='vm:100', nodes='pve1')
    tasks = [dict(task('bad{0}'.format(i), **case[0]), ignore_errors=True) for i, case in enumerate(BAD_INPUT)]
    cluster.clear_log()
    result = ansible.run(tasks)
    assert cluster.writes() == []
    for i, (options, option, text) in enumerate(BAD_INPUT):
        assert result.status('bad{0}'.format(i)) == 'failed', (options, result.output)
        msg = result.task('bad{0}'.format(i))['msg']
        assert msg.startswith(option + ':'), (options, msg)
        assert text in msg and '\n' not in msg, (options, msg)


def test_rules_refused_while_groups_remain(ansible, served, managed):
    cluster = managed
    # A cluster that still has HA groups: PVE refuses rules until they are migrated.
    served.run(cluster.ha_groups.__setitem__, 'rack-a', {'nodes': 'pve1'})
    result = ansible.run([task('r', rule='new', type='node-affinity', resources=['web1'], nodes=['pve1'])])
    assert 'cannot create ha rule: ha groups have not been migrated yet' in result.failed[0]['result']['msg']


# ------------------------------------------------------------------ the fake's rules and motions

def test_fake_migrate_moves_positive_partners_and_respects_negative(served, managed):
    cluster = managed
    pve = api(served)
    rules = pve.cluster.ha.rules
    rules.post(rule='pair', type='resource-affinity', affinity='positive', resources='vm:100,ct:200')
    rules.post(rule='split', type='resource-affinity', affinity='negative', resources='vm:100,vm:102')
    answer = pve.cluster.ha.resources('vm:100').migrate.post(node='pve2')
    assert answer == {'sid': 'vm:100', 'requested-node': 'pve2', 'comigrated-resources': ['ct:200']}
    assert (cluster.vm(100).node, cluster.ct(200).node) == ('pve2', 'pve2')
    assert cluster.vm(100).status == 'running' and cluster.ct(200).status == 'running'  # the CT was relocated
    # vm:102 is on pve3: moving vm:100 there is blocked, nothing moves.
    answer = pve.cluster.ha.resources('vm:100').relocate.post(node='pve3')
    assert answer['blocking-resources'] == [{'sid': 'vm:102', 'cause': 'resource-affinity'}]
    assert (cluster.vm(100).node, cluster.ct(200).node) == ('pve2', 'pve2')
    # A strict node-affinity rule keeps the guests off other nodes.
    rules.post(rule='pin', type='node-affinity', resources='vm:101', nodes='pve2', strict=1)
    answer = pve.cluster.ha.resources('vm:101').migrate.post(node='pve1')
    assert answer['blocking-resources'] == [{'sid': 'vm:101', 'cause': 'node-affinity'}]
    assert cluster.vm(101).node == 'pve2'
    with pytest.raises(ResourceException) as caught:
        pve.cluster.ha.resources('vm:103').migrate.post(node='pve2')
    assert "resource 'vm:103' is not HA managed" in str(caught.value.content)


def test_fake_rules_read_back_for_the_planner(served, managed):
    pve = api(served)
    rules = pve.cluster.ha.rules
    rules.post(rule='place', type='node-affinity', resources='vm:101,vm:100', nodes='pve2,pve1:3', strict=1)
    rules.post(rule='pair', type='resource-affinity', affinity='positive', resources='vm:100,vm:102', disable=1)
    rules.post(rule='lonely', type='resource-affinity', affinity='positive', resources='vm:102,ct:200')
    served.run(managed.ha_rules['lonely']['resources'].discard, 'ct:200')  # as a purge leaves it
    data = read_ha_rules(rules.get())
    # PVE's next ordinal is the lowest one plus one (Rules::get_next_ordinal): pair and lonely share 2.
    assert [(r['rule'], r['order']) for r in data] == [('place', 1), ('lonely', 2), ('pair', 2)]
    place, lonely, pair = data
    assert place == {'rule': 'place', 'type': 'node-affinity', 'order': 1, 'resources': ['vm:100', 'vm:101'],
                     'vmids': [100, 101], 'nodes': {'pve1': 3, 'pve2': 0}, 'strict': True, 'affinity': 'positive',
                     'disabled': False, 'comment': None, 'errors': {}, 'effective': True}
    assert pair['disabled'] and not pair['effective'] and pair['nodes'] == {} and not pair['strict']
    assert lonely['errors'] == {'resources': ['rule is ineffective as there are less than two resources']}
    assert not lonely['effective']
