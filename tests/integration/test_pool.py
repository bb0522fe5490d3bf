"""pve.fleet.pool through ansible-playbook against the fake cluster (fakepve's pools, pve-manager Pool.pm)."""

import pytest

from datacenter import (assert_refused_before_any_write, check_mode_clean, diff_of, failure, idempotent, run,
                        task)


@pytest.fixture
def guests(cluster):
    cluster.add_vm(100, 'web1', node='pve1')
    cluster.add_vm(101, 'web2', node='pve2')
    cluster.add_vm(102, 'db1', node='pve3', pool='databases')
    cluster.add_ct(200, 'cache1', node='pve1')
    return cluster


def pools(cluster):
    # fakepve makes a pool's pool_info entry when the pool is first read: compare members, not the records.
    return dict((name, members(cluster, name)) for name in cluster.pools)


def members(cluster, poolid):
    return sorted(cluster.pools.get(poolid, ())), sorted(cluster.pool_info.get(poolid, {}).get('storage', ()))


def test_create_rerun_change_remove(ansible, served, guests):
    cluster = guests
    create = [task('pool', poolid='web', comment='Web tier', vms=['web1', 101, '200'], storage=['local'])]
    check = check_mode_clean(ansible, served, cluster, create)
    assert check.task('pool')['changes'] == ['create pool web', 'add guests 100, 101, 200 and storage local to pool web']
    assert 'web' not in cluster.pools
    first, _second = idempotent(ansible, served, create)
    made = first.task('pool')['pool']
    assert made['vms'] == [100, 101, 200] and made['storage'] == ['local'] and made['comment'] == 'Web tier'
    assert members(cluster, 'web') == ([100, 101, 200], ['local'])
    assert cluster.vm(100).pool == 'web'

    # Without exclusive, members are added and the others stay; with it, the pool holds exactly the list.
    assert run(ansible, served, [task('pool', poolid='web', vms=['web1'])]).assert_ok().changed == []
    exact = [task('pool', poolid='web', comment='', vms=['web1', 'web2'], storage=[], exclusive=True)]
    check = check_mode_clean(ansible, served, cluster, exact)
    assert check.task('pool')['changes'] == ['remove comment (Web tier)',
                                             'take guest 200 and storage local out of pool web']
    idempotent(ansible, served, exact)
    assert members(cluster, 'web') == ([100, 101], [])

    remove = [task('pool', poolid='web', state='absent')]
    check = check_mode_clean(ansible, served, cluster, remove)
    assert check.task('pool')['changes'] == ['take guests 100, 101 out of pool web (they stay as they are)',
                                             'remove pool web (its ACL entries go with it)']
    first, _second = idempotent(ansible, served, remove)
    assert first.task('pool')['pool'] is None and 'web' not in cluster.pools
    assert cluster.vm(100) is not None and cluster.vm(100).pool is None


def test_moving_a_guest_from_another_pool_needs_allow_move(ansible, served, guests):
    cluster = guests
    msg = failure(run(ansible, served, [task('pool', poolid='web', vms=['db1'])]))
    assert msg.startswith('vms:') and "VM 102 (db1) on pve3 already in another pool (databases)" in msg
    assert 'web' not in cluster.pools
    first, _second = idempotent(ansible, served, [task('pool', poolid='web', vms=['db1'], allow_move=True)])
    assert first.task('pool')['changes'][-1] == 'add guest 102 to pool web (moving 102 from databases)'
    assert members(cluster, 'web')[0] == [102] and members(cluster, 'databases')[0] == []


def test_nested_pools(ansible, served, guests):
    cluster = guests
    msg = failure(run(ansible, served, [task('pool', poolid='dept/team')]))
    assert msg.startswith('poolid:') and "parent pool 'dept' does not exist" in msg
    idempotent(ansible, served, [task('pool', poolid='dept'), task('pool', 'child', poolid='dept/team', vms=[100])])
    assert 'dept/team' in cluster.pools
    msg = failure(run(ansible, served, [task('pool', poolid='dept', state='absent')]))
    assert msg.startswith('poolid:') and "holds the pool(s) dept/team" in msg
    idempotent(ansible, served, [task('pool', poolid='dept/team', state='absent'),
                                 task('pool', 'parent', poolid='dept', state='absent')])
    assert 'dept' not in cluster.pools


def test_diff(ansible, served, guests):
    cluster = guests
    result = run(ansible, served, [task('pool', poolid='web', comment='Web', vms=[100])], diff=True).assert_ok()
    assert diff_of(result, 'pool') == ({'vms': []}, {'comment': 'Web', 'vms': [100]})
    tasks = [task('pool', poolid='web', comment='Web tier', vms=[101], storage=['shared'])]
    result = check_mode_clean(ansible, served, cluster, tasks, diff=True)
    assert diff_of(result, 'pool') == ({'comment': 'Web', 'storage': [], 'vms': [100]},
                                       {'comment': 'Web tier', 'storage': ['shared'], 'vms': [100, 101]})
    result = run(ansible, served, [task('pool', poolid='web', state='absent')], diff=True).assert_ok()
    assert diff_of(result, 'pool') == ({'comment': 'Web', 'storage': [], 'vms': [100]}, None)


def test_pool_acl_reaches_its_members(ansible, served, guests):
    """The point of a pool: a role on /pool/web holds for its guests."""
    cluster = guests
    run(ansible, served, [task('pool', poolid='web', vms=['web1']), task('user', userid='ops@pve'),
                          task('acl', path='/pool/web', roles=['PVEVMUser'], users=['ops@pve'])]).assert_ok()
    assert cluster.allowed('ops@pve', '/vms/100', 'VM.PowerMgmt')
    assert not cluster.allowed('ops@pve', '/vms/101', 'VM.PowerMgmt')


BAD_INPUT = [
    (dict(poolid='9web'), 'poolid', 'is not a PVE pool name'),
    (dict(poolid='a/b/c/d'), 'poolid', 'nested too deeply'),
    (dict(poolid='web', vms=[999]), 'vms', 'no guest with vmid 999'),
    (dict(poolid='web', vms=['web3']), 'vms', "no guest 'web3'"),
    (dict(poolid='web', vms=['']), 'vms', 'an empty item'),
    (dict(poolid='web', storage=['nas']), 'storage', "no storage 'nas'"),
    (dict(poolid='web', vms=['db1']), 'vms', 'already in another pool'),
    (dict(poolid='web', exclusive=True), 'exclusive', 'give vms and/or storage'),
    (dict(poolid='x/y'), 'poolid', "parent pool 'x' does not exist"),
]


def test_bad_input_refused_before_any_write(ansible, served, guests):
    assert_refused_before_any_write(ansible, served, guests, 'pool', BAD_INPUT, lambda: pools(guests))


def test_two_guests_with_one_name_are_refused(ansible, served, guests):
    guests.add_vm(103, 'web1', node='pve3')
    msg = failure(run(ansible, served, [task('pool', poolid='web', vms=['web1'])]))
    assert msg.startswith('vms:') and 'ambiguous' in msg and '100' in msg and '103' in msg
