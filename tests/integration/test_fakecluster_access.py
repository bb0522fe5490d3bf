"""The fake cluster's users, groups, roles, ACLs and API tokens, and the permissions they give
(tests/fakecluster/access.py, after pve-access-control)."""

import pytest
from proxmoxer import ProxmoxAPI

from fakecluster.client import ResourceException, api


@pytest.fixture
def pve(served):
    return api(served)


def as_token(served, full, secret):
    user, _sep, name = full.partition('!')
    env = served.env
    return ProxmoxAPI(env['PROXMOX_HOST'], port=int(env['PROXMOX_PORT']), verify_ssl=served.ca_path, timeout=10,
                      user=user, token_name=name, token_value=secret)


def as_user(served, user, password):
    env = served.env
    return ProxmoxAPI(env['PROXMOX_HOST'], port=int(env['PROXMOX_PORT']), verify_ssl=served.ca_path, timeout=10,
                      user=user, password=password)


def refused(call, *args, **kwargs):
    with pytest.raises(ResourceException) as caught:
        call(*args, **kwargs)
    return caught.value


def message(exc):
    return '{0} {1} {2}'.format(exc.status_code, exc.content, exc.errors or '')


# -------------------------------------------------------------------- users and groups

def test_user_create_read_update_delete(pve):
    pve.access.groups.post(groupid='ops', comment='Operations')
    pve.access.groups.post(groupid='dev')
    pve.access.users.post(userid='alice@pve', password='long enough', email='alice@example.org', firstname='Alice',
                          groups='ops', expire=4102444800)
    users = dict((u['userid'], u) for u in pve.access.users.get(full=1))
    assert users['alice@pve']['groups'] == 'ops' and users['alice@pve']['email'] == 'alice@example.org'
    assert users['alice@pve']['enable'] == 1 and users['alice@pve']['expire'] == 4102444800
    assert users['alice@pve']['realm-type'] == 'pve' and users['alice@pve']['tokens'] == []
    assert 'groups' not in dict((u['userid'], u) for u in pve.access.users.get())['alice@pve']
    # append keeps the groups, without it they are replaced; '' clears a field
    pve.access.users('alice@pve').put(groups='dev', append=1, firstname='')
    assert pve.access.users('alice@pve').get()['groups'] == ['dev', 'ops']
    assert 'firstname' not in pve.access.users('alice@pve').get()
    pve.access.users('alice@pve').put(groups='dev', enable=0)
    read = pve.access.users('alice@pve').get()
    assert read['groups'] == ['dev'] and read['enable'] == 0
    assert pve.access.groups('ops').get()['members'] == []
    assert 'users' in pve.access.groups.get()[0]
    pve.access.users('alice@pve').delete()
    assert 'alice@pve' not in [u['userid'] for u in pve.access.users.get()]
    assert pve.access.groups('dev').get()['members'] == []


@pytest.mark.parametrize('call, words', [
    (lambda pve: pve.access.users.post(userid='bob@pve', groups='nope'), "create user failed: no such group 'nope'"),
    (lambda pve: pve.access.users.post(userid='root@pam'), "create user failed: user 'root@pam' already exists"),
    (lambda pve: pve.access.users('ghost@pve').put(comment='x'), "update user failed: no such user ('ghost@pve')"),
    (lambda pve: pve.access.users('ghost@pve').get(), "no such user ('ghost@pve')"),
    (lambda pve: pve.access.users.post(userid='carol@ldap', password='long enough'),
     "auth domain 'ldap' does not exist"),
    (lambda pve: pve.access.users.post(userid='dave@pam', password='long enough'), "usermod -p"),
    (lambda pve: pve.access.groups.post(groupid='bad group'), 'invalid characters'),
])
def test_user_and_group_refusals(pve, call, words):
    assert words in message(refused(call, pve))


def test_pam_user_password_needs_the_linux_account(served, pve):
    served.run(served.cluster.linux_accounts.add, 'erin')
    pve.access.users.post(userid='erin@pam', password='long enough')
    assert as_user(served, 'erin@pam', 'long enough').version.get()


def test_disabled_or_expired_user_cannot_log_in(served, pve):
    pve.access.users.post(userid='frank@pve', password='long enough')
    assert as_user(served, 'frank@pve', 'long enough').version.get()
    pve.access.users('frank@pve').put(enable=0)
    with pytest.raises(Exception, match='authenticate'):
        as_user(served, 'frank@pve', 'long enough')
    pve.access.users('frank@pve').put(enable=1, expire=1000)
    with pytest.raises(Exception, match='authenticate'):
        as_user(served, 'frank@pve', 'long enough')


# ----------------------------------------------------------------------------- roles

def test_roles_builtin_and_custom(pve):
    roles = dict((r['roleid'], r) for r in pve.access.roles.get())
    assert roles['PVEVMUser']['special'] == 1 and 'VM.PowerMgmt' in roles['PVEVMUser']['privs'].split(',')
    assert len(roles['Administrator']['privs'].split(',')) == 47
    pve.access.roles.post(roleid='Operator', privs='VM.Audit,VM.PowerMgmt')
    assert pve.access.roles('Operator').get() == {'VM.Audit': 1, 'VM.PowerMgmt': 1}
    pve.access.roles('Operator').put(privs='VM.Console', append=1)
    assert sorted(pve.access.roles('Operator').get()) == ['VM.Audit', 'VM.Console', 'VM.PowerMgmt']
    pve.access.roles('Operator').put(privs='VM.Audit')
    assert pve.access.roles('Operator').get() == {'VM.Audit': 1}
    pve.access.roles('Operator').delete()


@pytest.mark.parametrize('call, words', [
    (lambda pve: pve.access.roles.post(roleid='X', privs='VM.Audit,VM.Fly'), "'privs': \"invalid privilege 'VM.Fly'"),
    (lambda pve: pve.access.roles.post(roleid='PVEmine'), "cannot use role ID starting with"),
    (lambda pve: pve.access.roles('PVEAdmin').put(privs='VM.Audit'), "auto-generated role 'PVEAdmin' cannot be"),
    (lambda pve: pve.access.roles('PVEAdmin').delete(), "auto-generated role 'PVEAdmin' cannot be deleted"),
    (lambda pve: pve.access.roles('Nope').delete(), "delete role failed: role 'Nope' does not exist"),
])
def test_role_refusals(pve, call, words):
    assert words in message(refused(call, pve))


# ------------------------------------------------------------------------------- ACL

def test_acl_entries_and_propagate(pve):
    pve.access.users.post(userid='gina@pve')
    pve.access.groups.post(groupid='ops')
    pve.access.acl.put(path='/vms/', roles='PVEVMUser,PVEAuditor', users='gina@pve', groups='ops', propagate=0)
    entries = pve.access.acl.get()
    assert sorted((e['path'], e['type'], e['ugid'], e['roleid'], e['propagate']) for e in entries) == [
        ('/vms', 'group', 'ops', 'PVEAuditor', 0), ('/vms', 'group', 'ops', 'PVEVMUser', 0),
        ('/vms', 'user', 'gina@pve', 'PVEAuditor', 0), ('/vms', 'user', 'gina@pve', 'PVEVMUser', 0)]
    pve.access.acl.put(path='/vms', roles='PVEVMUser', users='gina@pve')  # the same entry, propagated now
    assert [e['propagate'] for e in pve.access.acl.get() if e['ugid'] == 'gina@pve' and e['roleid'] == 'PVEVMUser'] \
        == [1]
    pve.access.acl.put(path='/vms', roles='PVEVMUser,PVEAuditor', users='gina@pve', groups='ops', delete=1)
    assert pve.access.acl.get() == []


@pytest.mark.parametrize('params, words', [
    (dict(path='/vms', roles='PVEVMUser'), "either 'users', 'groups' or 'tokens' is required"),
    (dict(path='/nowhere', roles='PVEVMUser', users='root@pam'), "invalid ACL path '/nowhere'"),
    (dict(path='/vms', roles='Nope', users='root@pam'), "ACL update failed: role 'Nope' does not exist"),
    (dict(path='/vms', roles='PVEVMUser', users='ghost@pve'), "user 'ghost@pve' does not exist"),
    (dict(path='/vms', roles='PVEVMUser', groups='ghosts'), "group 'ghosts' does not exist"),
    (dict(path='/vms', roles='PVEVMUser', tokens='root@pam!nope'), "no such token 'nope' for user 'root@pam'"),
])
def test_acl_refusals(pve, params, words):
    assert words in message(refused(pve.access.acl.put, **params))


# ------------------------------------------------------------------- tokens and privileges

@pytest.fixture
def restricted(served, pve, cluster):
    """ivy@pve: PVEVMAdmin on /vms; token ivy@pve!sep (privsep) with PVEVMUser on /vms/100 only; ivy@pve!full
    without privsep. VMs 100 and 101."""
    cluster.add_vm(100, 'a', node='pve1', status='stopped')
    cluster.add_vm(101, 'b', node='pve1', status='stopped')
    pve.access.users.post(userid='ivy@pve')
    pve.access.acl.put(path='/vms', roles='PVEVMAdmin', users='ivy@pve')
    sep = pve.access.users('ivy@pve').token('sep').post()
    full = pve.access.users('ivy@pve').token('full').post(privsep=0, comment='acts as ivy')
    pve.access.acl.put(path='/vms/100', roles='PVEVMUser', tokens='ivy@pve!sep')
    return (as_token(served, 'ivy@pve!sep', sep['value']), as_token(served, 'ivy@pve!full', full['value']),
            sep, full)


def test_token_creation_answers_the_secret_once(pve, restricted):
    _sep_api, _full_api, sep, full = restricted
    assert sep['full-tokenid'] == 'ivy@pve!sep' and sep['info']['privsep'] == 1 and len(sep['value']) == 36
    assert full['info'] == {'privsep': 0, 'comment': 'acts as ivy'}
    listed = pve.access.users('ivy@pve').token.get()
    assert [t['tokenid'] for t in listed] == ['full', 'sep'] and not any('value' in t for t in listed)
    assert pve.access.users('ivy@pve').token('sep').get() == {'privsep': 1, 'expire': 0}
    assert 'Token already exists' in message(refused(pve.access.users('ivy@pve').token('sep').post))
    assert 'does not match the regex' in message(refused(pve.access.users('ivy@pve').token('x').post))


def test_privsep_token_holds_its_own_acls_within_its_users(pve, restricted):
    sep_api, full_api, _sep, _full = restricted
    # Only what its own ACL gives: it sees VM 100 and may start it, not 101.
    assert [g['vmid'] for g in sep_api.cluster.resources.get(type='vm')] == [100]
    sep_api.nodes('pve1').qemu(100).status.start.post()
    exc = refused(sep_api.nodes('pve1').qemu(101).status.start.post)
    assert exc.status_code == 403 and 'Permission check failed (/vms/101, VM.PowerMgmt)' in message(exc)
    # PVEVMUser has no VM.Config.Memory: refused on 100 too.
    exc = refused(sep_api.nodes('pve1').qemu(100).config.put, memory=1024)
    assert 'Permission check failed (/vms/100, VM.Config.Memory)' in message(exc)
    # The token without privsep acts as its user (PVEVMAdmin on /vms).
    full_api.nodes('pve1').qemu(101).config.put(memory=1024)
    perms = sep_api.access.permissions.get()
    assert 'VM.PowerMgmt' in perms['/vms/100'] and 'VM.Allocate' not in perms['/vms/100']


def test_privsep_token_never_exceeds_its_user(served, pve, restricted):
    sep_api, _full_api, _sep, _full = restricted
    # The token is granted Administrator on /; its user holds PVEVMAdmin on /vms only.
    pve.access.acl.put(path='/', roles='Administrator', tokens='ivy@pve!sep')
    assert 'Permission check failed (/, Sys.Audit)' in message(refused(sep_api.cluster.backup.get))
    sep_api.nodes('pve1').qemu(101).status.start.post()


def test_propagate_off_applies_to_the_path_only(served, pve, cluster):
    cluster.add_vm(100, 'a', node='pve1', status='stopped')
    pve.access.users.post(userid='jo@pve')
    token = pve.access.users('jo@pve').token('tk').post(privsep=0)['value']
    jo = as_token(served, 'jo@pve!tk', token)
    pve.access.acl.put(path='/vms', roles='PVEAuditor', users='jo@pve', propagate=0)
    assert jo.cluster.resources.get(type='vm') == []
    pve.access.acl.put(path='/vms', roles='PVEAuditor', users='jo@pve', propagate=1)
    assert [g['vmid'] for g in jo.cluster.resources.get(type='vm')] == [100]
    # A more specific entry overrides: NoAccess on the VM itself.
    pve.access.acl.put(path='/vms/100', roles='NoAccess', users='jo@pve')
    assert jo.cluster.resources.get(type='vm') == []


def test_user_privileges_override_group_privileges_and_pools_reach_members(served, pve, cluster):
    cluster.add_vm(100, 'a', node='pve1', status='stopped', pool='web')
    pve.access.groups.post(groupid='ops')
    pve.access.users.post(userid='kim@pve', groups='ops')
    kim = as_token(served, 'kim@pve!tk', pve.access.users('kim@pve').token('tk').post(privsep=0)['value'])
    pve.access.acl.put(path='/pool/web', roles='PVEVMUser', groups='ops')
    kim.nodes('pve1').qemu(100).status.start.post()  # through the pool
    pve.access.acl.put(path='/pool/web', roles='PVEAuditor', users='kim@pve')  # the user's entry wins on that path
    assert 'VM.PowerMgmt' in message(refused(kim.nodes('pve1').qemu(100).status.stop.post))


def test_token_expiry_disabled_user_and_removal(served, pve, restricted):
    sep_api, _full_api, _sep, _full = restricted
    pve.access.users('ivy@pve').token('sep').put(expire=1000)
    with pytest.raises(ResourceException) as caught:
        sep_api.version.get()
    assert caught.value.status_code == 401
    pve.access.users('ivy@pve').token('sep').put(expire=0)
    assert sep_api.version.get()
    pve.access.users('ivy@pve').put(enable=0)
    with pytest.raises(ResourceException):
        sep_api.version.get()
    pve.access.users('ivy@pve').put(enable=1)
    pve.access.users('ivy@pve').token('sep').delete()
    with pytest.raises(ResourceException):
        sep_api.version.get()
    assert not any(e['type'] == 'token' for e in pve.access.acl.get())


def test_token_update_and_regenerate(served, pve, restricted):
    sep_api, _full_api, sep, _full = restricted
    updated = pve.access.users('ivy@pve').token('sep').put(comment='ci', privsep=1)
    assert updated == {'privsep': 1, 'expire': 0, 'comment': 'ci'}
    assert pve.access.users('ivy@pve').token('sep').put(delete='comment') == {'privsep': 1, 'expire': 0}
    again = pve.access.users('ivy@pve').token('sep').put(regenerate=1)
    assert again['full-tokenid'] == 'ivy@pve!sep' and again['value'] != sep['value']
    with pytest.raises(ResourceException):
        sep_api.version.get()
    assert as_token(served, 'ivy@pve!sep', again['value']).version.get()
    # Its ACLs stay: regenerate changes the secret only.
    assert any(e['ugid'] == 'ivy@pve!sep' for e in pve.access.acl.get())


def test_root_token_of_the_fixture_is_listed_and_acts_as_root(pve):
    assert pve.access.users('root@pam').token.get() == [{'tokenid': 'fleet', 'privsep': 0, 'expire': 0}]
    assert '/' in pve.access.permissions.get()
