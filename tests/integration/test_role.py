"""pve.fleet.role through ansible-playbook against the fake cluster (tests/fakecluster/access.py)."""

import copy

from datacenter import (assert_refused_before_any_write, check_mode_clean, diff_of, failure, idempotent, run,
                        task)


def roles(cluster):
    return copy.deepcopy(cluster.user_cfg['roles'])


def test_create_rerun_change_remove(ansible, served, cluster):
    create = [task('role', roleid='Deployer', privs=['VM.Audit', 'VM.PowerMgmt', 'VM.Console'])]
    check = check_mode_clean(ansible, served, cluster, create)
    assert check.changed == ['role'] and roles(cluster) == {}
    first, _second = idempotent(ansible, served, create)
    assert first.task('role')['role'] == {'roleid': 'Deployer', 'privs': ['VM.Audit', 'VM.Console', 'VM.PowerMgmt'],
                                          'special': False}
    assert cluster.user_cfg['roles']['Deployer'] == {'VM.Audit', 'VM.PowerMgmt', 'VM.Console'}

    # Exact by default: listed in another order, the same set is no change; a different set replaces it.
    assert run(ansible, served, [task('role', roleid='Deployer', privs=['VM.Console', 'VM.PowerMgmt', 'VM.Audit'])]
               ).assert_ok().changed == []
    change = [task('role', roleid='Deployer', privs=['VM.Audit', 'VM.Snapshot'])]
    check = check_mode_clean(ansible, served, cluster, change)
    assert check.task('role')['changes'] == ['privs: add VM.Snapshot; remove VM.Console, VM.PowerMgmt']
    idempotent(ansible, served, change)
    assert cluster.user_cfg['roles']['Deployer'] == {'VM.Audit', 'VM.Snapshot'}
    # append adds only
    first, _second = idempotent(ansible, served, [task('role', roleid='Deployer', privs=['VM.Clone'], append=True)])
    assert first.task('role')['changes'] == ['privs: add VM.Clone']
    assert cluster.user_cfg['roles']['Deployer'] == {'VM.Audit', 'VM.Snapshot', 'VM.Clone'}

    remove = [task('role', roleid='Deployer', state='absent')]
    check_mode_clean(ansible, served, cluster, remove)
    assert 'Deployer' in cluster.user_cfg['roles']
    first, _second = idempotent(ansible, served, remove)
    assert first.task('role')['role'] is None and 'Deployer' not in cluster.user_cfg['roles']


def test_diff(ansible, served, cluster):
    run(ansible, served, [task('role', roleid='Viewer', privs=['VM.Audit'])]).assert_ok()
    tasks = [task('role', roleid='Viewer', privs=['VM.Audit', 'Datastore.Audit'])]
    for check in (True, False):
        result = check_mode_clean(ansible, served, cluster, tasks, diff=True) if check else \
            run(ansible, served, tasks, diff=True).assert_ok()
        assert diff_of(result, 'role') == ({'privs': ['VM.Audit']}, {'privs': ['Datastore.Audit', 'VM.Audit']})
    result = run(ansible, served, [task('role', roleid='Viewer', state='absent')], diff=True).assert_ok()
    assert diff_of(result, 'role') == ({'privs': ['Datastore.Audit', 'VM.Audit']}, None)


def test_builtin_role_unchanged_is_fine_changed_is_refused(ansible, served, cluster):
    same = [task('role', roleid='PVETemplateUser', privs=['VM.Clone', 'VM.Audit'])]
    assert run(ansible, served, same).assert_ok().changed == []
    msg = failure(run(ansible, served, [task('role', roleid='PVETemplateUser', privs=['VM.Audit'])]))
    assert msg.startswith('roleid:') and "built-in roles" in msg


BAD_INPUT = [
    (dict(roleid='Deployer', privs=['VM.Audit', 'VM.Fly']), 'privs', "'VM.Fly' is not a privilege of this cluster"),
    (dict(roleid='Deployer', privs=['VM.Adit']), 'privs', 'did you mean VM.Audit'),
    (dict(roleid='PVEmine', privs=['VM.Audit']), 'roleid', 'PVE keeps role names starting with PVE'),
    (dict(roleid='PVEAdmin', privs=['VM.Audit']), 'roleid', "built-in roles"),
    (dict(roleid='Administrator', state='absent'), 'roleid', "built-in roles"),
    (dict(roleid='bad role'), 'roleid', 'is not a PVE role name'),
    (dict(roleid='Deployer', privs=['vm.audit']), 'privs', 'is not a privilege'),
]


def test_bad_input_refused_before_any_write(ansible, served, cluster):
    assert_refused_before_any_write(ansible, served, cluster, 'role', BAD_INPUT, lambda: roles(cluster))
