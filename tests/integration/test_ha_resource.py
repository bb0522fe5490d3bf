"""pve.fleet.ha_resource through ansible-playbook against the fake cluster, and the fake's HA resources."""

import pytest
import yaml

from fakecluster.client import ResourceException, api


def task(title, **options):
    return {'name': title, 'pve.fleet.ha_resource': options}


def diff_of(result, name):
    diff = result.task(name)['diff']
    diff = diff[0] if isinstance(diff, list) else diff
    return yaml.safe_load(diff['before']), yaml.safe_load(diff['after'])


@pytest.fixture
def guests(served, cluster):
    served.run(cluster.add_vm, 100, 'web1', 'pve1')
    served.run(cluster.add_vm, 101, 'web2', 'pve2', 'running')
    served.run(cluster.add_ct, 200, 'cache1', 'pve3')
    return cluster


def test_create_change_remove(ansible, served, guests):
    cluster = guests
    create = [task('ha', name='web1', state='started', max_restart=3, comment='front end')]
    check = ansible.assert_check_mode_writes_nothing(create).assert_ok()
    assert check.changed == ['ha'] and cluster.ha_resources == {}
    first, _second = ansible.assert_idempotent(create)
    result = first.task('ha')
    assert result['sid'] == 'vm:100' and result['vmid'] == 100 and result['node'] == 'pve1'
    assert result['changes'] == ['put VM 100 (web1) on pve1 under HA as vm:100', 'add state: started',
                                 'add max_restart: 3', 'add comment: front end']
    assert cluster.ha_resources['vm:100'] == {'type': 'vm', 'state': 'started', 'max_restart': 3,
                                              'comment': 'front end'}
    assert result['resource']['sid'] == 'vm:100' and 'digest' not in result['resource']
    assert cluster.vm(100).status == 'running'  # the CRM started it

    change = [task('ha', vmid=100, max_restart=1, max_relocate=0, comment='')]
    check = ansible.assert_check_mode_writes_nothing(change, diff=True).assert_ok()
    before, after = diff_of(check, 'ha')
    assert before == {'max_restart': 3, 'max_relocate': 1, 'comment': 'front end'}
    assert after == {'max_restart': 1, 'max_relocate': 0}
    first, _second = ansible.assert_idempotent(change)
    assert first.task('ha')['changes'] == ['set max_restart: 3 -> 1', 'set max_relocate: 1 -> 0',
                                           'remove comment (front end)']
    assert cluster.ha_resources['vm:100'] == {'type': 'vm', 'state': 'started', 'max_restart': 1, 'max_relocate': 0}

    remove = [task('gone', sid='vm:100', state='absent')]
    check = ansible.assert_check_mode_writes_nothing(remove, diff=True).assert_ok()
    before, after = diff_of(check, 'gone')
    assert before == {'sid': 'vm:100', 'state': 'started', 'max_restart': 1, 'max_relocate': 0} and after is None
    first, _second = ansible.assert_idempotent(remove)
    assert first.task('gone')['resource'] is None and cluster.ha_resources == {}
    assert cluster.vm(100).status == 'running' and not cluster.vm(100).ha_managed  # the guest stays as it was


def test_states_and_defaults(ansible, guests):
    cluster = guests
    # A container by sid; present gives PVE's default started, and the CRM starts it.
    first, _second = ansible.assert_idempotent([task('ct', sid='ct:200')])
    assert first.task('ct')['changes'] == ['put CT 200 (cache1) on pve3 under HA as ct:200', 'add state: started']
    assert cluster.ct(200).status == 'running'
    # Options at PVE's defaults are no change against a resource that leaves them unset.
    result = ansible.run([task('same', vmid=200, state='started', max_restart=1, max_relocate=1,
                               failback=True)]).assert_ok()
    assert result.changed == []
    first, _second = ansible.assert_idempotent([task('off', vmid=200, state='disabled')])
    assert first.task('off')['changes'] == ['set state: started -> disabled']
    assert cluster.ct(200).status == 'stopped'
    # present leaves a requested state alone.
    result = ansible.run([task('keep', name='cache1', comment='kept')]).assert_ok()
    assert cluster.ha_resources['ct:200']['state'] == 'disabled'
    assert result.task('keep')['changes'] == ['add comment: kept']
    first, _second = ansible.assert_idempotent([task('ign', sid='ct:200', state='ignored')])
    assert not cluster.ct(200).ha_managed


def test_enabled_reads_as_started(ansible, served, guests):
    cluster = guests
    served.run(cluster.ha_resources.__setitem__, 'vm:101', {'type': 'vm', 'state': 'enabled'})
    cluster.clear_log()
    result = ansible.run([task('same', vmid=101, state='started')]).assert_ok()
    assert result.changed == [] and cluster.writes() == []


def test_removal_says_which_rules_pve_purges(ansible, served, guests):
    cluster = guests
    ansible.run([task('a', vmid=100), task('b', vmid=101)]).assert_ok()
    pve = api(served)
    pve.cluster.ha.rules.post(rule='pair', type='resource-affinity', resources='vm:100,vm:101', affinity='positive')
    pve.cluster.ha.rules.post(rule='home', type='node-affinity', resources='vm:100', nodes='pve1')
    result = ansible.run([task('gone', vmid=100, state='absent')], diff=True).assert_ok()
    assert result.task('gone')['changes'] == [
        'remove HA resource vm:100 (the guest stays as it is); PVE drops it from rules home, pair']
    assert 'home' not in cluster.ha_rules and cluster.ha_rules['pair']['resources'] == {'vm:101'}


def test_groups_where_the_cluster_still_has_them(ansible, served, guests):
    cluster = guests
    # PVE 9 without groups (they were migrated to rules) refuses them.
    result = ansible.run([task('g', vmid=100, group='rack-a')])
    assert result.rc != 0
    assert result.failed[0]['result']['msg'].startswith('group: this cluster has no HA groups')
    # A cluster that has groups (PVE 8, or PVE 9 before the migration).
    served.run(cluster.ha_groups.__setitem__, 'rack-a', {'nodes': 'pve1:2,pve2', 'restricted': 1})
    first, _second = ansible.assert_idempotent([task('g', vmid=100, group='rack-a')])
    assert cluster.ha_resources['vm:100']['group'] == 'rack-a'
    rules = api(served).cluster.ha.rules.get()
    assert [(r['rule'], r['nodes'], r['strict'], r['resources']) for r in rules] == [
        ('ha-group-rack-a', 'pve1:2,pve2', 1, 'vm:100')]
    result = ansible.run([task('g', vmid=100, group='rack-b')])
    assert result.failed[0]['result']['msg'] == "group: HA group 'rack-b' does not exist (groups: rack-a)"
    ansible.assert_idempotent([task('g', vmid=100, group='')])
    assert 'group' not in cluster.ha_resources['vm:100']


BAD_INPUT = [
    (dict(sid='vm:abc'), 'sid', 'is not the HA resource id of a guest'),
    (dict(sid='vm:100', vmid=101), 'sid', 'names guest 100, but vmid is 101'),
    (dict(sid='ct:100'), 'sid', 'ct:100 names a container, but VM 100 (web1) on pve1 is a VM (vm:100)'),
    (dict(vmid=999), 'vmid', 'no such guest in the cluster'),
    (dict(name='nope'), 'name', "'nope': no guest of that name"),
    (dict(vmid=100, max_restart=-1), 'max_restart', 'is not a number of tries'),
    (dict(vmid=100, max_relocate=-2), 'max_relocate', 'is not a number of tries'),
    (dict(vmid=100, group='rack a'), 'group', 'is not an HA group id'),
    (dict(vmid=100, group='rack-a'), 'group', 'this cluster has no HA groups'),
    (dict(vmid=100, state='absent', max_restart=2), 'max_restart', 'not used with state=absent'),
]


def test_bad_input_refused_before_any_write(ansible, guests):
    cluster = guests
    tasks = [dict(task('bad{0}'.format(i), **case[0]), ignore_errors=True) for i, case in enumerate(BAD_INPUT)]
    cluster.clear_log()
    result = ansible.run(tasks)
    assert cluster.writes() == []
    for i, (_options, option, text) in enumerate(BAD_INPUT):
        assert result.status('bad{0}'.format(i)) == 'failed', result.output
        msg = result.task('bad{0}'.format(i))['msg']
        assert msg.startswith(option + ' ') or msg.startswith(option + ':'), msg
        assert text in msg and '\n' not in msg, msg
    missing = ansible.run([dict(task('none', state='started'), ignore_errors=True)])
    assert 'one of the following is required: sid, vmid, name' in missing.task('none')['msg']


# ------------------------------------------------------------------ the fake's own HA resources

def pve_error(call):
    with pytest.raises(ResourceException) as caught:
        call()
    return caught.value


def test_fake_resources_follow_pve(served, guests):
    pve = api(served)
    ha = pve.cluster.ha.resources
    ha.post(sid='100', max_restart=2)  # a bare vmid becomes vm:100 (Config::parse_sid)
    assert [r['sid'] for r in ha.get()] == ['vm:100']
    assert 'already defined' in str(pve_error(lambda: ha.post(sid='vm:100')).content)
    assert 'is not a CT' in str(pve_error(lambda: ha.post(sid='ct:101')).content)
    assert 'does not exist in cluster' in str(pve_error(lambda: ha.post(sid='vm:998')).content)
    digest = ha('vm:100').get()['digest']
    ha('vm:100').put(comment='x', digest=digest)
    assert 'detected modified configuration' in str(pve_error(lambda: ha('vm:100').put(comment='y', digest=digest))
                                                    .content)
    assert "no such option 'bogus'" in str(pve_error(lambda: ha('vm:100').put(delete='bogus')).content)
    assert 'not HA managed' in str(pve_error(lambda: ha('vm:101').delete()).content)
