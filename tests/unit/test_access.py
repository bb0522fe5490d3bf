"""Plans of the user, group, role and token modules: pure functions of what was read."""

import pytest

from ansible_collections.pve.fleet.plugins.module_utils.access import (
    GroupSpec, RoleSpec, TokenSpec, UserSpec, known_privileges, plan_group, plan_role, plan_token, plan_user)
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError

ROLES = {
    'Administrator': {'privs': frozenset(['VM.Audit', 'VM.PowerMgmt', 'VM.Console', 'Sys.Audit']), 'special': True},
    'PVEAuditor': {'privs': frozenset(['VM.Audit', 'Sys.Audit']), 'special': True},
    'Mine': {'privs': frozenset(['VM.Audit']), 'special': False},
}
GROUPS = {'ops': {'comment': 'Operators', 'users': frozenset(['alice@pve'])},
          'dev': {'comment': None, 'users': frozenset()}}
ALICE = {'userid': 'alice@pve', 'enable': 1, 'expire': 0, 'email': 'alice@example.org', 'groups': 'ops',
         'keys': 'KEY1', 'tokens': [{'tokenid': 'ci', 'privsep': 1, 'expire': 0, 'comment': 'CI'}]}


def user(**params):
    base = dict(userid='alice@pve', state='present', append=False, update_password='on_create')
    base.update(params)
    return UserSpec.from_params(base)


def test_user_unchanged_when_what_is_set_matches():
    plan = plan_user(user(email='alice@example.org', enable=True, groups=['ops'], password='long enough'), ALICE,
                     GROUPS)
    assert not plan.changed


def test_user_changes_are_sentences_and_diff_without_secrets():
    plan = plan_user(user(email='', keys='KEY2', groups=['dev'], password='long enough'), ALICE, GROUPS)
    assert plan.changes == ['remove email (alice@example.org)', 'set keys: ******** -> ********',
                            'groups: join dev; leave ops']
    assert plan.before == {'email': 'alice@example.org', 'keys': '********', 'groups': ['ops']}
    assert plan.after == {'keys': '********', 'groups': ['dev']}
    assert 'KEY2' not in str(plan.diff()) and 'long enough' not in str(plan.diff())
    assert plan.steps[0].data == {'fields': {'email': None, 'keys': 'KEY2'}, 'groups': frozenset(['dev']),
                                  'append': False}


def test_user_groups_append_sends_only_the_new_ones():
    plan = plan_user(user(groups=['ops', 'dev'], append=True), ALICE, GROUPS)
    assert plan.changes == ['groups: join dev'] and plan.steps[0].data['groups'] == frozenset(['dev'])
    assert plan.after == {'groups': ['dev', 'ops']}


def test_user_password_always_is_a_step_and_refused_for_a_token_login():
    plan = plan_user(user(password='long enough', update_password='always'), ALICE, GROUPS, confirm_password='pw')
    assert plan.changes == ['set the password of user alice@pve']
    assert plan.steps[0].data == {'password': 'long enough', 'confirm': 'pw'}
    with pytest.raises(PveError, match='^password: .*API token'):
        plan_user(user(password='long enough', update_password='always'), ALICE, GROUPS, token_login=True)


def test_user_create_and_remove():
    plan = plan_user(user(userid='bob@pve', firstname='Bob', groups=['dev'], password='long enough'), None, GROUPS)
    assert plan.changes == ['create user bob@pve with a password']
    assert plan.after == {'firstname': 'Bob', 'groups': ['dev']}
    plan = plan_user(user(state='absent'), ALICE, GROUPS)
    assert plan.changes == ['remove user alice@pve (with its API tokens and ACL entries)']
    assert plan.before == {'enable': True, 'expire': 0, 'email': 'alice@example.org', 'keys': '********',
                           'groups': ['ops']}
    assert not plan_user(user(userid='bob@pve', state='absent'), None, GROUPS).changed


@pytest.mark.parametrize('params, words', [
    (dict(userid='alice'), '^userid: '),
    (dict(userid='alice@ldap'), "^userid: .*realm 'ldap'"),
    (dict(password='short'), '^password: PVE takes 8 to 64 characters, this one has 5$'),
    (dict(email='nope'), '^email: '),
    (dict(expire=-1), '^expire: '),
    (dict(groups=['a b']), '^groups: '),
])
def test_user_spec_refusals(params, words):
    with pytest.raises(PveError, match=words):
        user(**params)


def test_user_unknown_group_names_the_closest():
    with pytest.raises(PveError, match="^groups: no group 'opps' in the cluster; did you mean ops"):
        plan_user(user(groups=['opps']), ALICE, GROUPS)


def test_group_plans():
    assert plan_group(GroupSpec('ops', 'present', None), GROUPS).changes == []
    assert plan_group(GroupSpec('ops', 'present', 'Ops'), GROUPS).changes == ['set comment: Operators -> Ops']
    assert plan_group(GroupSpec('ops', 'present', ''), GROUPS).changes == ['remove comment (Operators)']
    plan = plan_group(GroupSpec('new', 'present', 'x'), GROUPS)
    assert plan.changes == ['create group new'] and plan.after == {'comment': 'x'}
    plan = plan_group(GroupSpec('ops', 'absent', None), GROUPS)
    assert plan.before == {'comment': 'Operators', 'users': ['alice@pve']}


def role(**params):
    base = dict(roleid='Mine', state='present', append=False)
    base.update(params)
    return RoleSpec.from_params(base)


def test_role_privileges_come_from_the_administrator_role():
    assert known_privileges(ROLES) == ROLES['Administrator']['privs']
    with pytest.raises(PveError, match=r"^privs: 'VM.PowerMgnt' is not a privilege of this cluster; did you mean "
                                       r"VM.PowerMgmt\?"):
        plan_role(role(privs=['VM.PowerMgnt']), ROLES)


def test_role_plans():
    assert plan_role(role(privs=['VM.Audit']), ROLES).changes == []
    plan = plan_role(role(privs=['VM.Console'], append=True), ROLES)
    assert plan.changes == ['privs: add VM.Console'] and plan.steps[0].data['privs'] == frozenset(['VM.Console'])
    plan = plan_role(role(privs=['VM.Console']), ROLES)
    assert plan.changes == ['privs: add VM.Console; remove VM.Audit']
    assert plan.after == {'privs': ['VM.Console']}
    assert plan_role(role(roleid='PVEAuditor', privs=['Sys.Audit', 'VM.Audit']), ROLES).changes == []
    with pytest.raises(PveError, match="^roleid: PVEAuditor is one of PVE's built-in roles"):
        plan_role(role(roleid='PVEAuditor', privs=['VM.Audit']), ROLES)
    with pytest.raises(PveError, match='^roleid: PVE keeps role names starting with PVE'):
        plan_role(role(roleid='pveNew'), ROLES)
    with pytest.raises(PveError, match="^roleid: Administrator is one of PVE's built-in roles"):
        plan_role(role(roleid='Administrator', state='absent'), ROLES)


def token(**params):
    base = dict(userid='alice@pve', tokenid='ci', state='present', regenerate=False)
    base.update(params)
    return TokenSpec.from_params(base)


USERS = {'alice@pve': ALICE}


def test_token_plans():
    assert plan_token(token(privsep=True, comment='CI'), USERS).changes == []
    plan = plan_token(token(privsep=False, comment=''), USERS)
    assert plan.changes == ['remove comment (CI)', 'set privsep: true -> false']
    assert plan.steps[0].data == {'fields': {'comment': None, 'privsep': False}, 'regenerate': False}
    plan = plan_token(token(regenerate=True), USERS)
    assert plan.changes[0].startswith('regenerate the secret of API token alice@pve!ci')
    plan = plan_token(token(tokenid='new', expire=100), USERS)
    assert plan.after == {'expire': 100, 'privsep': True}
    assert plan_token(token(state='absent'), USERS).before == {'privsep': True, 'expire': 0, 'comment': 'CI'}
    assert not plan_token(token(userid='gone@pve', state='absent'), USERS).changed
    with pytest.raises(PveError, match="^userid: no user 'gone@pve'"):
        plan_token(token(userid='gone@pve'), USERS)
