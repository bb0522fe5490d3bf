"""Plans of the acl, pool and backup_job modules: pure functions of what was read."""

import pytest

from ansible_collections.pve.fleet.plugins.module_utils.acl import AclSpec, normalize_path, plan_acl
from ansible_collections.pve.fleet.plugins.module_utils.backup_jobs import (
    JobSpec, JobState, new_job_id, notes_problems, plan_job)
from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.pools import PoolSpec, PoolState, plan_pool

ROLES = {'PVEVMUser': {}, 'PVEAuditor': {}, 'NoAccess': {}}
USERS = {'alice@pve': {'tokens': [{'tokenid': 'ci', 'privsep': 1}]}, 'bob@pve': {}}
GROUPS = {'ops': {}}
ACL = [{'path': '/vms', 'type': 'user', 'ugid': 'alice@pve', 'roleid': 'PVEVMUser', 'propagate': 1},
       {'path': '/vms', 'type': 'group', 'ugid': 'ops', 'roleid': 'PVEAuditor', 'propagate': 0},
       {'path': '/vms/100', 'type': 'user', 'ugid': 'bob@pve', 'roleid': 'PVEAuditor', 'propagate': 1}]


def acl(**params):
    base = dict(path='/vms', state='present', propagate=True, exclusive=False)
    base.update(params)
    return AclSpec.from_params(base)


@pytest.mark.parametrize('given, normalized', [('/vms/', '/vms'), ('vms//100', '/vms/100'), ('/', '/'),
                                               ('/bad path', None)])
def test_path_is_normalized_as_pve_does(given, normalized):
    assert normalize_path(given) == normalized


def test_acl_grant_and_propagate_change():
    assert not plan_acl(acl(roles=['PVEVMUser'], users=['alice@pve']), ACL, ROLES, USERS, GROUPS).changed
    plan = plan_acl(acl(roles=['PVEAuditor'], groups=['ops'], tokens=['alice@pve!ci']), ACL, ROLES, USERS, GROUPS)
    assert plan.changes == ['PVEAuditor of group ops on /vms: propagate on',
                            'grant PVEAuditor to token alice@pve!ci on /vms']
    assert plan.before == {'group ops': ['PVEAuditor (not propagated)']}
    assert plan.after == {'group ops': ['PVEAuditor'], 'token alice@pve!ci': ['PVEAuditor']}


def test_acl_exclusive_removes_the_others_on_the_path_only():
    plan = plan_acl(acl(roles=['PVEAuditor'], users=['bob@pve'], exclusive=True), ACL, ROLES, USERS, GROUPS)
    assert plan.changes == ['grant PVEAuditor to user bob@pve on /vms', 'remove PVEAuditor of group ops on /vms',
                            'remove PVEVMUser of user alice@pve on /vms']
    assert plan.after == {'user bob@pve': ['PVEAuditor']}


def test_acl_absent_with_and_without_roles():
    plan = plan_acl(acl(users=['alice@pve'], groups=['ops'], state='absent'), ACL)
    assert plan.changes == ['remove PVEAuditor of group ops on /vms', 'remove PVEVMUser of user alice@pve on /vms']
    plan = plan_acl(acl(roles=['PVEAuditor'], users=['alice@pve'], state='absent'), ACL)
    assert not plan.changed


@pytest.mark.parametrize('params, words', [
    (dict(path='/vms/5', roles=['PVEVMUser'], users=['bob@pve']), '^path: '),
    (dict(roles=['PVEVMUser']), '^users: give roles'),
    (dict(roles=['PVEVMUser'], tokens=['bob@pve']), '^tokens: '),
    (dict(users=['bob@pve'], state='absent', exclusive=True), '^exclusive: '),
])
def test_acl_spec_refusals(params, words):
    with pytest.raises(PveError, match=words):
        acl(**params)


def test_acl_names_must_exist():
    with pytest.raises(PveError, match="^roles: no role 'PVEVMUsr' in the cluster; did you mean PVEVMUser"):
        plan_acl(acl(roles=['PVEVMUsr'], users=['bob@pve']), ACL, ROLES, USERS, GROUPS)
    with pytest.raises(PveError, match="^tokens: no API token 'bob@pve!ci'"):
        plan_acl(acl(roles=['PVEVMUser'], tokens=['bob@pve!ci']), ACL, ROLES, USERS, GROUPS)


RESOURCES = [{'type': 'qemu', 'vmid': 100, 'name': 'web1', 'node': 'pve1'},
             {'type': 'qemu', 'vmid': 101, 'name': 'web2', 'node': 'pve1', 'pool': 'other'},
             {'type': 'lxc', 'vmid': 200, 'name': 'cache', 'node': 'pve2', 'pool': 'web'},
             {'type': 'node', 'node': 'pve1', 'status': 'online'},
             {'type': 'storage', 'storage': 'local', 'node': 'pve1', 'content': 'backup'}]
WEB = {'poolid': 'web', 'comment': 'Web', 'members': [{'type': 'lxc', 'vmid': 200, 'id': 'lxc/200'}]}


def pool(**params):
    base = dict(poolid='web', state='present', exclusive=False, allow_move=False)
    base.update(params)
    return PoolSpec.from_params(base)


def pool_state(pool_record='web', poolids=('web', 'other')):
    return PoolState(frozenset(poolids), WEB if pool_record == 'web' else pool_record, ClusterView(RESOURCES))


def test_pool_members_by_vmid_and_name():
    plan = plan_pool(pool(vms=['web1', '200']), pool_state())
    assert plan.changes == ['add guest 100 to pool web'] and plan.steps[0].data['vms'] == [100]
    assert plan.before == {'vms': [200]} and plan.after == {'vms': [100, 200]}
    plan = plan_pool(pool(vms=[100], exclusive=True, storage=['local']), pool_state())
    assert plan.changes == ['add guest 100 and storage local to pool web', 'take guest 200 out of pool web']


def test_pool_move_needs_allow_move():
    with pytest.raises(PveError, match=r"^vms: VM 101 \(web2\) on pve1 already in another pool \(other\)"):
        plan_pool(pool(vms=['web2']), pool_state())
    plan = plan_pool(pool(vms=['web2'], allow_move=True), pool_state())
    assert plan.steps[0].data['allow_move'] and plan.changes == ['add guest 101 to pool web (moving 101 from other)']


def test_pool_create_and_remove():
    plan = plan_pool(pool(poolid='new', comment='x', vms=[100]), pool_state(None))
    assert plan.changes == ['create pool new', 'add guest 100 to pool new']
    plan = plan_pool(pool(state='absent'), pool_state())
    assert [s.action for s in plan.steps] == ['leave', 'remove']
    assert plan.before == {'comment': 'Web', 'vms': [200], 'storage': []}
    with pytest.raises(PveError, match="^poolid: pool 'web' holds the pool"):
        plan_pool(pool(state='absent'), pool_state(poolids=('web', 'web/a')))
    with pytest.raises(PveError, match="^poolid: the parent pool 'x' does not exist"):
        plan_pool(pool(poolid='x/y'), pool_state(None))


JOB = {'id': 'nightly', 'schedule': 'daily', 'all': 1, 'exclude': '101', 'storage': 'local', 'enabled': 1,
       'prune-backups': {'keep-last': '3'}, 'compress': 'zstd', 'comment': 'nightly'}


def job(**params):
    base = dict(id='nightly', state='present')
    base.update(params)
    return JobSpec.from_params(base)


def jobs_state(*jobs):
    return JobState(list(jobs), ClusterView(RESOURCES), frozenset(['web', 'other']))


def test_job_unchanged_after_pves_normalization():
    plan = plan_job(job(schedule='daily', all=True, exclude=[101], prune={'keep_last': 3}, compress='zstd'),
                    jobs_state(JOB))
    assert not plan.changed


def test_job_selection_switch_drops_the_others():
    plan = plan_job(job(vmid=[100]), jobs_state(JOB))
    assert plan.changes == ['remove all (true)', 'add vmid: 100', 'remove exclude (101)']
    assert plan.delete == ['all', 'exclude']
    plan = plan_job(job(pool='web'), jobs_state(JOB))
    assert plan.delete == ['all', 'exclude'] and plan.after == {'pool': 'web'}


def test_job_create_from_comment_gets_a_stable_id():
    plan = plan_job(job(id=None, comment='weekly web', schedule='sun 03:00', pool='web'), jobs_state())
    assert plan.action == 'create' and plan.jobid == new_job_id('weekly web') == plan_job(
        job(id=None, comment='weekly web', schedule='sun 03:00', pool='web'), jobs_state()).jobid
    assert plan.options['comment'] == (None, 'weekly web')


def test_job_found_by_comment_and_removed():
    plan = plan_job(job(id=None, comment='nightly', state='absent'), jobs_state(JOB))
    assert plan.changes == ['remove backup job nightly'] and plan.before['schedule'] == 'daily'


@pytest.mark.parametrize('template, words', [
    ('{{guestname}} {{vmid}}', None), ('a\\nb', None), ('{{name}}', 'the variable {{name}}'),
    ('a\\tb', 'the escape \\t'), ('two\nlines', 'one line'),
])
def test_notes_template_check(template, words):
    found = notes_problems(template)
    assert (found is None) if words is None else (words in found)


@pytest.mark.parametrize('params, words', [
    (dict(schedule='every day'), '^schedule: '),
    (dict(vmid=[100], all=True), '^all: cannot go with vmid'),
    (dict(pool='web', exclude=[1000]), '^exclude: '),
    (dict(all=False), '^all: false leaves the job without guests'),
    (dict(vmid=[]), '^vmid: an empty list'),
    (dict(id=None), '^id: give the job id'),
])
def test_job_spec_refusals(params, words):
    with pytest.raises(PveError, match=words):
        job(**params)


def test_job_references_checked_and_missing_vmids_warned():
    with pytest.raises(PveError, match="^storage: no storage 'nas'"):
        plan_job(job(schedule='daily', all=True, storage='nas'), jobs_state())
    plan = plan_job(job(schedule='daily', vmid=[100, 150]), jobs_state())
    assert plan.warnings == ['vmid: no guest 150 in the cluster (yet); the job will skip it']
