"""pve.fleet.evacuate and pve.fleet.rebalance through ansible-playbook against the fake cluster."""

import pytest

GIB = 1024 ** 3


def evacuate(**options):
    return [{'name': 'evacuate', 'pve.fleet.evacuate': options}]


def rebalance(**options):
    return [{'name': 'rebalance', 'pve.fleet.rebalance': options}]


def failure(result):
    assert result.rc != 0, result.output
    return result.failed[0]['result']


def where(cluster):
    return dict((g.vmid, g.node) for g in list(cluster.vms) + list(cluster.cts))


@pytest.fixture
def busy(cluster):
    """pve2 holds a running VM on shared storage, a stopped one on local-lvm, a running container, and a
    VM with a PCI device passed through; pve1 and pve3 hold one VM each."""
    cluster.add_vm(100, 'web1', node='pve2', status='running',
                   config={'memory': '4096', 'scsi0': 'shared:vm-100-disk-0,size=8G', 'tags': 'web'})
    cluster.add_vm(101, 'batch1', node='pve2', status='stopped',
                   config={'memory': '2048', 'scsi0': 'local-lvm:vm-101-disk-0,size=4G'})
    cluster.add_ct(200, 'cache1', node='pve2', status='running',
                   config={'memory': 1024, 'rootfs': 'shared:subvol-200-disk-0,size=4G'})
    cluster.add_vm(102, 'gpu1', node='pve2', status='stopped',
                   config={'memory': '1024', 'scsi0': 'shared:vm-102-disk-0,size=4G', 'hostpci0': '0000:01:00.0'})
    cluster.add_vm(110, 'db1', node='pve1', status='running', config={'memory': '8192', 'scsi0': 'shared:vm-110-d,size=8G'})
    cluster.add_vm(120, 'db2', node='pve3', status='running', config={'memory': '2048', 'scsi0': 'shared:vm-120-d,size=8G'})
    return cluster


def test_evacuate_refuses_before_any_write_when_a_guest_cannot_move(ansible, busy):
    busy.clear_log()
    result = failure(ansible.run(evacuate(node='pve2')))
    assert result['msg'].startswith('cannot move 1 guest(s): gpu1 (102) on pve2:'), result['msg']
    assert 'hostpci0' in result['msg'] and 'allow_partial' in result['msg']
    assert [b['vmid'] for b in result['blocked']] == [102] and len(result['moves']) == 3
    assert busy.writes() == []


def test_evacuate_plans_in_check_mode_then_moves_records_and_undoes(ansible, busy):
    before = where(busy)
    check = ansible.assert_check_mode_writes_nothing(evacuate(node='pve2', allow_partial=True), diff=True)
    planned = check.assert_ok().task('evacuate')
    assert planned['changed'] and sorted(m['vmid'] for m in planned['moves']) == [100, 101, 200]
    modes = dict((m['vmid'], m['mode']) for m in planned['moves'])
    assert modes == {100: 'online', 101: 'offline', 200: 'restart'}
    assert all(m['target'] != 'pve2' for m in planned['moves'])
    assert set(planned['load']['before']) == {'pve1', 'pve2', 'pve3'}
    assert where(busy) == before

    first, second = ansible.assert_idempotent(evacuate(node='pve2', allow_partial=True))
    done = first.task('evacuate')
    assert done['changes'] == planned['changes']  # the plan check mode showed is what ran
    after = where(busy)
    assert [v for v, n in after.items() if n == 'pve2'] == [102]
    assert dict((m['vmid'], m['target']) for m in planned['moves']) == dict(
        (v, after[v]) for v in (100, 101, 200))
    assert busy.vm(100).status == 'running' and busy.ct(200).status == 'running'
    assert 'pve.fleet evacuate' in busy.node_configs['pve2']['description']
    assert second.task('evacuate')['moves'] == []

    back, again = ansible.assert_idempotent(evacuate(node='pve2', undo=True))
    assert sorted(m['vmid'] for m in back.task('evacuate')['moves']) == [100, 101, 200]
    assert where(busy) == before
    assert 'pve.fleet evacuate' not in busy.node_configs['pve2'].get('description', '')
    assert again.task('evacuate')['moves'] == []


def test_the_record_keeps_the_operators_notes(ansible, busy):
    busy.node_configs['pve2'] = {'description': 'rack 4, slot 2\n'}
    ansible.run(evacuate(node='pve2', allow_partial=True)).assert_ok()
    notes = busy.node_configs['pve2']['description']
    assert notes.startswith('rack 4, slot 2\n<!-- pve.fleet evacuate {')
    ansible.run(evacuate(node='pve2', undo=True)).assert_ok()
    assert busy.node_configs['pve2']['description'] == 'rack 4, slot 2\n'


def test_a_selection_moves_only_those_guests(ansible, busy):
    result = ansible.run(evacuate(node='pve2', guests=['web1', '101'])).assert_ok().task('evacuate')
    assert sorted(m['vmid'] for m in result['moves']) == [100, 101]
    assert busy.ct(200).node == 'pve2'


def test_anti_affinity_tags_keep_guests_apart(ansible, cluster):
    for vmid, node in ((100, 'pve2'), (101, 'pve2'), (102, 'pve1')):
        cluster.add_vm(vmid, 'r{0}'.format(vmid), node=node, status='running',
                       config={'memory': '1024', 'scsi0': 'shared:vm-{0}-d,size=4G'.format(vmid),
                               'tags': 'anti-affinity-quorum'})
    result = failure(ansible.run(evacuate(node='pve2')))
    # pve1 holds a member already: one of pve2's two can go to pve3, the other has nowhere to go.
    assert len(result['moves']) == 1 and result['moves'][0]['target'] == 'pve3'
    assert len(result['blocked']) == 1


def test_ha_managed_guests_move_through_ha_with_their_affinity_partner(ansible, cluster):
    cluster.add_vm(100, 'app1', node='pve2', status='running', config={'memory': '1024',
                                                                       'scsi0': 'shared:vm-100-d,size=4G'})
    cluster.add_vm(101, 'app2', node='pve2', status='running', config={'memory': '1024',
                                                                       'scsi0': 'shared:vm-101-d,size=4G'})
    setup = [{'name': 'ha', 'pve.fleet.ha_resource': {'vmid': vmid, 'state': 'started'}} for vmid in (100, 101)]
    rule = {'rule': 'app-together', 'type': 'resource-affinity', 'resources': ['vm:100', 'vm:101'],
            'affinity': 'positive'}
    setup.append({'name': 'rule', 'pve.fleet.ha_rule': rule})
    ansible.run(setup, auth='password').assert_ok()
    cluster.clear_log()
    result = ansible.run(evacuate(node='pve2')).assert_ok().task('evacuate')
    assert all(m['ha'] for m in result['moves'])
    targets = set(m['target'] for m in result['moves'])
    assert len(targets) == 1 and cluster.vm(100).node == cluster.vm(101).node == targets.pop()
    posts = [e['path'] for e in cluster.writes() if e['method'] == 'POST']
    assert any(p.endswith('/cluster/ha/resources/vm:100/migrate') for p in posts), posts
    assert not any(p.endswith('/qemu/100/migrate') for p in posts)


def test_no_node_goes_above_its_memory_reserve(ansible, cluster):
    cluster.nodes['pve1']['maxmem'] = 16 * GIB
    cluster.nodes['pve3']['maxmem'] = 16 * GIB
    for vmid in range(100, 106):
        cluster.add_vm(vmid, 'big{0}'.format(vmid), node='pve2', status='running',
                       config={'memory': str(4 * 1024), 'scsi0': 'shared:vm-{0}-d,size=4G'.format(vmid)})
    result = failure(ansible.run(evacuate(node='pve2', memory_reserve=20)))
    assert result['blocked'] and all('reserve' in b['reason'] or 'room' in b['reason'] for b in result['blocked'])
    ansible.run(evacuate(node='pve2', memory_reserve=20, allow_partial=True)).assert_ok()
    for node in ('pve1', 'pve3'):
        assert cluster.node_load(node)['mem'] <= 0.8 * 16 * GIB, node


def test_bad_input_fails_before_any_write(ansible, busy):
    for options, message in ((dict(node='pve9'), "node: node 'pve9' is not in the cluster"),
                             (dict(node='pve2', guests=['nosuch']), "guests: no guest 'nosuch'"),
                             (dict(node='pve2', parallel=0), 'parallel: 0 is not a number'),
                             (dict(node='pve2', memory_reserve=150), 'memory_reserve:'),
                             (dict(node='pve2', undo=True, guests=['web1']), 'guests: undo brings back')):
        busy.clear_log()
        msg = failure(ansible.run(evacuate(**options)))['msg']
        assert msg.startswith(message), msg
        assert busy.writes() == []


# ------------------------------------------------------------------------------------- rebalance

@pytest.fixture
def skewed(cluster):
    """Eight running 4 GiB VMs on pve1, one on pve2, none on pve3 (64 GiB nodes)."""
    for vmid in range(100, 108):
        cluster.add_vm(vmid, 'w{0}'.format(vmid), node='pve1', status='running',
                       config={'memory': '4096', 'scsi0': 'shared:vm-{0}-d,size=4G'.format(vmid)})
    cluster.add_vm(120, 'solo', node='pve2', status='running', config={'memory': '4096',
                                                                       'scsi0': 'shared:vm-120-d,size=4G'})
    cluster.add_vm(130, 'stay', node='pve1', status='running',
                   config={'memory': '4096', 'scsi0': 'shared:vm-130-d,size=4G', 'tags': 'no-balance'})
    return cluster


def test_rebalance_plans_moves_that_lower_the_spread_and_converges(ansible, skewed):
    check = ansible.assert_check_mode_writes_nothing(rebalance(balanciness=10)).assert_ok().task('rebalance')
    assert check['changed'] and check['spread']['after'] < check['spread']['before']
    assert 130 not in [m['vmid'] for m in check['moves']]
    first, second = ansible.assert_idempotent(rebalance(balanciness=10))
    done = first.task('rebalance')
    assert done['changes'] == check['changes']
    assert second.task('rebalance')['moves'] == [] and second.task('rebalance')['spread']['before'] <= 10
    assert skewed.vm(130).node == 'pve1'
    counts = {}
    for node in where(skewed).values():
        counts[node] = counts.get(node, 0) + 1
    assert max(counts.values()) - min(counts.values()) <= 2, counts


def test_rebalance_max_moves(ansible, skewed):
    result = ansible.run(rebalance(max_moves=1)).assert_ok().task('rebalance')
    assert len(result['moves']) == 1 and result['truncated']
