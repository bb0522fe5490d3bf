"""pve.fleet.acl through ansible-playbook against the fake cluster (tests/fakecluster/access.py)."""

import copy

import pytest

from datacenter import assert_refused_before_any_write, check_mode_clean, diff_of, idempotent, run, task


def acl(cluster):
    return copy.deepcopy(cluster.user_cfg['acl'])


@pytest.fixture
def principals(served, cluster):
    """Users alice and bob, group ops, token alice@pve!ci."""
    def setup():
        for userid in ('alice@pve', 'bob@pve'):
            cluster.user_cfg['users'][userid] = {'enable': 1, 'expire': 0, 'tokens': {}}
        cluster.user_cfg['users']['alice@pve']['tokens']['ci'] = {'privsep': 1, 'expire': 0}
        cluster.user_cfg['groups']['ops'] = {'comment': None, 'users': {'bob@pve'}}
    served.run(setup)
    return cluster


def test_grant_rerun_change_revoke(ansible, served, principals):
    cluster = principals
    grant = [task('acl', path='/vms/', roles=['PVEVMUser', 'PVEAuditor'], users=['alice@pve'], groups=['ops'],
                  tokens=['alice@pve!ci'])]
    check = check_mode_clean(ansible, served, cluster, grant)
    assert len(check.task('acl')['changes']) == 6 and acl(cluster) == {}
    assert 'grant PVEAuditor to group ops on /vms' in check.task('acl')['changes']
    first, _second = idempotent(ansible, served, grant)
    assert first.task('acl')['path'] == '/vms' and len(first.task('acl')['acl']) == 6
    assert acl(cluster) == {'/vms': {('user', 'alice@pve'): {'PVEVMUser': 1, 'PVEAuditor': 1},
                                     ('group', 'ops'): {'PVEVMUser': 1, 'PVEAuditor': 1},
                                     ('token', 'alice@pve!ci'): {'PVEVMUser': 1, 'PVEAuditor': 1}}}

    # The same entries without propagation: the flag changes, nothing else.
    change = [task('acl', path='/vms', roles=['PVEVMUser'], users=['alice@pve'], propagate=False)]
    check = check_mode_clean(ansible, served, cluster, change)
    assert check.task('acl')['changes'] == ['PVEVMUser of user alice@pve on /vms: propagate off']
    idempotent(ansible, served, change)
    assert cluster.user_cfg['acl']['/vms'][('user', 'alice@pve')] == {'PVEVMUser': 0, 'PVEAuditor': 1}

    # absent with roles removes those; without roles, every role of the principals listed
    revoke = [task('acl', path='/vms', roles=['PVEAuditor'], groups=['ops'], state='absent')]
    check_mode_clean(ansible, served, cluster, revoke)
    first, _second = idempotent(ansible, served, revoke)
    assert first.task('acl')['changes'] == ['remove PVEAuditor of group ops on /vms']
    revoke_all = [task('acl', path='/vms', users=['alice@pve'], tokens=['alice@pve!ci'], state='absent')]
    first, _second = idempotent(ansible, served, revoke_all)
    assert len(first.task('acl')['changes']) == 4
    assert acl(cluster) == {'/vms': {('group', 'ops'): {'PVEVMUser': 1}}}


def test_exclusive_leaves_only_the_listed_entries(ansible, served, principals):
    cluster = principals
    run(ansible, served, [task('acl', path='/storage/local', roles=['PVEDatastoreAdmin'], users=['bob@pve']),
                          task('acl', 'two', path='/storage/local', roles=['PVEAuditor'], groups=['ops']),
                          task('acl', 'below', path='/vms/100', roles=['PVEAuditor'], groups=['ops'])]).assert_ok()
    exact = [task('acl', path='/storage/local', roles=['PVEDatastoreUser'], users=['alice@pve'], exclusive=True)]
    check = check_mode_clean(ansible, served, cluster, exact, diff=True)
    assert check.task('acl')['changes'] == ['grant PVEDatastoreUser to user alice@pve on /storage/local',
                                            'remove PVEAuditor of group ops on /storage/local',
                                            'remove PVEDatastoreAdmin of user bob@pve on /storage/local']
    assert diff_of(check, 'acl') == ({'group ops': ['PVEAuditor'], 'user bob@pve': ['PVEDatastoreAdmin']},
                                     {'user alice@pve': ['PVEDatastoreUser']})
    assert len(cluster.user_cfg['acl']['/storage/local']) == 2
    idempotent(ansible, served, exact)
    assert cluster.user_cfg['acl']['/storage/local'] == {('user', 'alice@pve'): {'PVEDatastoreUser': 1}}
    assert cluster.user_cfg['acl']['/vms/100'] == {('group', 'ops'): {'PVEAuditor': 1}}  # another path: untouched
    # exclusive with nothing listed empties the path
    first, _second = idempotent(ansible, served, [task('acl', path='/storage/local', exclusive=True)])
    assert first.task('acl')['acl'] == [] and '/storage/local' not in cluster.user_cfg['acl']


def test_diff(ansible, served, principals):
    cluster = principals
    result = run(ansible, served, [task('acl', path='/pool/web', roles=['PVEVMUser'], users=['bob@pve'],
                                        propagate=False)], diff=True).assert_ok()
    assert diff_of(result, 'acl') == (None, {'user bob@pve': ['PVEVMUser (not propagated)']})
    tasks = [task('acl', path='/pool/web', roles=['PVEVMUser', 'PVEAuditor'], users=['bob@pve'])]
    result = check_mode_clean(ansible, served, cluster, tasks, diff=True)
    assert diff_of(result, 'acl') == ({'user bob@pve': ['PVEVMUser (not propagated)']},
                                      {'user bob@pve': ['PVEAuditor', 'PVEVMUser']})
    assert '+user bob@pve: [PVEAuditor, PVEVMUser]' in result.output
    result = run(ansible, served, [task('acl', path='/pool/web', users=['bob@pve'], state='absent')],
                 diff=True).assert_ok()
    assert diff_of(result, 'acl') == ({'user bob@pve': ['PVEVMUser (not propagated)']}, None)


def test_propagation_decides_what_a_token_sees(ansible, served, principals):
    """Checked through the fake's permissions: an entry without propagate holds on its path only."""
    cluster = principals
    cluster.add_vm(100, 'web1', node='pve1')
    run(ansible, served, [task('acl', path='/vms', roles=['PVEAuditor'], users=['alice@pve'], propagate=False),
                          task('acl', 'token', path='/vms', roles=['PVEAuditor'], tokens=['alice@pve!ci'])]).assert_ok()
    assert not cluster.allowed('alice@pve!ci', '/vms/100', 'VM.Audit')  # its user holds it on /vms only
    run(ansible, served, [task('acl', path='/vms', roles=['PVEAuditor'], users=['alice@pve'])]).assert_ok()
    assert cluster.allowed('alice@pve!ci', '/vms/100', 'VM.Audit')


BAD_INPUT = [
    (dict(path='/nowhere', roles=['PVEVMUser'], users=['alice@pve']), 'path', 'is not an ACL path PVE takes'),
    (dict(path='/vms/99', roles=['PVEVMUser'], users=['alice@pve']), 'path', 'is not an ACL path PVE takes'),
    (dict(path='/vms', roles=['PVEVMUsr'], users=['alice@pve']), 'roles', 'did you mean PVEVMUser'),
    (dict(path='/vms', roles=['PVEVMUser'], users=['carol@pve']), 'users', "no user 'carol@pve'"),
    (dict(path='/vms', roles=['PVEVMUser'], users=['carol']), 'users', 'is not a PVE user id'),
    (dict(path='/vms', roles=['PVEVMUser'], groups=['opps']), 'groups', "no group 'opps'"),
    (dict(path='/vms', roles=['PVEVMUser'], tokens=['alice@pve!nope']), 'tokens', "no API token 'alice@pve!nope'"),
    (dict(path='/vms', roles=['PVEVMUser'], tokens=['alice@pve']), 'tokens', 'is not a full API token id'),
    (dict(path='/vms', roles=['PVEVMUser']), 'users', 'give roles and at least one of users, groups or tokens'),
    (dict(path='/vms', users=['alice@pve']), 'roles', 'give roles'),
    (dict(path='/vms', roles=['PVEVMUser'], state='absent'), 'users', 'say whose entries to remove'),
    (dict(path='/vms', users=['alice@pve'], state='absent', exclusive=True), 'exclusive', 'goes with state=present'),
]


def test_bad_input_refused_before_any_write(ansible, served, principals):
    served.run(principals.user_cfg['acl'].__setitem__, '/vms', {('user', 'bob@pve'): {'PVEAuditor': 1}})
    assert_refused_before_any_write(ansible, served, principals, 'acl', BAD_INPUT, lambda: acl(principals))
