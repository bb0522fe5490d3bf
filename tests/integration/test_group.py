"""pve.fleet.group through ansible-playbook against the fake cluster (tests/fakecluster/access.py)."""

import copy

from datacenter import assert_refused_before_any_write, check_mode_clean, diff_of, idempotent, run, task


def groups(cluster):
    return copy.deepcopy(cluster.user_cfg['groups'])


def test_create_rerun_change_remove(ansible, served, cluster):
    create = [task('group', groupid='ops', comment='Operators')]
    check = check_mode_clean(ansible, served, cluster, create)
    assert check.changed == ['group'] and groups(cluster) == {}
    first, _second = idempotent(ansible, served, create)
    assert first.task('group')['group'] == {'groupid': 'ops', 'comment': 'Operators', 'users': []}
    assert cluster.user_cfg['groups']['ops']['comment'] == 'Operators'

    # Members come from the user side; the group shows them.
    run(ansible, served, [task('user', userid='alice@pve', groups=['ops'])]).assert_ok()
    change = [task('group', groupid='ops', comment='Operators, on call')]
    check_mode_clean(ansible, served, cluster, change)
    first, _second = idempotent(ansible, served, change)
    assert first.task('group')['changes'] == ['set comment: Operators -> Operators, on call']
    assert first.task('group')['group']['users'] == ['alice@pve']
    # Left out, the comment stays; empty, it goes.
    assert run(ansible, served, [task('group', groupid='ops')]).assert_ok().changed == []
    first, _second = idempotent(ansible, served, [task('group', groupid='ops', comment='')])
    assert first.task('group')['changes'] == ['remove comment (Operators, on call)']
    assert cluster.user_cfg['groups']['ops']['comment'] is None

    # Removal keeps the members as users and drops the group's ACL entries.
    served.run(cluster.user_cfg['acl'].__setitem__, '/vms', {('group', 'ops'): {'PVEVMUser': 1}})
    remove = [task('group', groupid='ops', state='absent')]
    check = check_mode_clean(ansible, served, cluster, remove)
    assert 'ops' in cluster.user_cfg['groups']
    first, _second = idempotent(ansible, served, remove)
    assert first.task('group')['group'] is None and 'ops' not in cluster.user_cfg['groups']
    assert 'alice@pve' in cluster.user_cfg['users'] and cluster.user_cfg['acl'] == {}


def test_diff(ansible, served, cluster):
    result = run(ansible, served, [task('group', groupid='dev', comment='Developers')], diff=True).assert_ok()
    assert diff_of(result, 'group') == (None, {'comment': 'Developers'})
    tasks = [task('group', groupid='dev', comment='Dev team')]
    result = check_mode_clean(ansible, served, cluster, tasks, diff=True)
    assert diff_of(result, 'group') == ({'comment': 'Developers'}, {'comment': 'Dev team'})
    assert '+comment: Dev team' in result.output
    result = run(ansible, served, [task('group', groupid='dev', state='absent')], diff=True).assert_ok()
    assert diff_of(result, 'group') == ({'comment': 'Developers', 'users': []}, None)


def test_absent_group_stays_absent_without_a_write(ansible, served, cluster):
    cluster.clear_log()
    result = run(ansible, served, [task('group', groupid='nothing', state='absent')]).assert_ok()
    assert result.changed == [] and cluster.writes() == []


BAD_INPUT = [
    (dict(groupid='bad group'), 'groupid', 'is not a PVE group name'),
    (dict(groupid='ops/x'), 'groupid', 'is not a PVE group name'),
    (dict(groupid='ops:x'), 'groupid', 'is not a PVE group name'),
    (dict(groupid=''), 'groupid', 'is not a PVE group name'),
    (dict(groupid='ops!', state='absent'), 'groupid', 'is not a PVE group name'),
]


def test_bad_input_refused_before_any_write(ansible, served, cluster):
    assert_refused_before_any_write(ansible, served, cluster, 'group', BAD_INPUT, lambda: groups(cluster))
