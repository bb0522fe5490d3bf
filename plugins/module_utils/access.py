# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""Users, groups, roles and API tokens of a PVE cluster (user.cfg): spec -> read -> plan -> apply.

What PVE takes and keeps follows pve-access-control's API2/User.pm, Group.pm and Role.pm and
AccessControl.pm: user ids are ``name@realm``; a user's groups are replaced unless ``append``; an
empty text clears a field; ``expire`` 0 means never; a token's secret is answered once, when it
is made or regenerated, and never again; built-in roles (``special``) cannot be changed; every
privilege a role names must be one the cluster knows (its ``Administrator`` role holds them all).

Secrets (a user's password, a token's secret) are never compared, never read back, and never put
into a plan's sentences or diff: a plan carries them in ``data`` only, for apply to send.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import re

from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.plan import Plan, Step

# Auth/Plugin.pm user_regex@realm_regex; this collection manages the realms PVE keeps passwords for.
USER_ID = re.compile(r'^([^\s:/]+)@([A-Za-z][A-Za-z0-9.\-_]+)$')
REALMS = ('pam', 'pve')
GROUP_ID = re.compile(r'^[A-Za-z0-9.\-_]+$')
ROLE_ID = re.compile(r'^[A-Za-z0-9.\-_]+$')
TOKEN_NAME = re.compile(r'^[A-Za-z][A-Za-z0-9.\-_]+$')
FULL_TOKEN_ID = re.compile(r'^([^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+)!([A-Za-z][A-Za-z0-9.\-_]+)$')
EMAIL = re.compile(r'^[^\s@]+@[A-Za-z0-9.\-]+$')
USER_KEYS = re.compile(r'^[0-9a-zA-Z!=]{0,4096}$')
# User.pm: the text fields of a user and their lengths.
USER_TEXT = (('firstname', 1024), ('lastname', 1024), ('email', 254), ('comment', 2048))
HIDDEN = '********'


def text_value(value):
    """A text option as PVE keeps it: the empty string is no value (PVE drops empty fields)."""
    if value is None:
        return None
    value = str(value)
    return value if value != '' else None


def split_ids(value):
    """PVE's comma list (``a,b``) or a list, as a set of non-empty strings."""
    if value in (None, ''):
        return frozenset()
    items = value if isinstance(value, (list, tuple, set, frozenset)) else re.split(r'[,;\s]+', str(value))
    return frozenset(str(i).strip() for i in items if str(i).strip())


def as_bool(value):
    return str(value).lower() in ('1', 'true', 'yes', 'on')


def check_userid(userid, option='userid', realms=REALMS):
    """``userid`` as PVE spells users (name@realm, 3 to 64 characters), of one of ``realms``."""
    found = USER_ID.match(userid or '')
    if not found or not 3 <= len(userid) <= 64:
        raise PveError('{0}: {1!r} is not a PVE user id (name@realm, for example alice@pve, 3 to 64 characters, '
                       'no spaces, colons or slashes in the name)'.format(option, userid))
    if realms and found.group(2) not in realms:
        raise PveError('{0}: {1!r} is in realm {2!r}; this module manages users of the realms {3} (users of '
                       'LDAP, AD or OpenID realms come from their realm\'s sync)'.format(
                           option, userid, found.group(2), ' and '.join(realms)))
    return userid


def check_groupid(groupid, option='groupid'):
    if not GROUP_ID.match(groupid or ''):
        raise PveError('{0}: {1!r} is not a PVE group name (letters, digits, ., - and _)'.format(option, groupid))
    return groupid


# ------------------------------------------------------------------------------ reading

def read_users(client):
    """Every user, with its groups and tokens (one request): userid -> entry as GET /access/users?full=1."""
    return dict((u['userid'], u) for u in client.get('access/users', full=1) or [])


def read_groups(client):
    """groupid -> {'comment': str or None, 'users': set} from GET /access/groups."""
    return dict((g['groupid'], {'comment': text_value(g.get('comment')), 'users': split_ids(g.get('users'))})
                for g in client.get('access/groups') or [])


def read_roles(client):
    """roleid -> {'privs': set, 'special': bool} from GET /access/roles."""
    return dict((r['roleid'], {'privs': split_ids(r.get('privs')), 'special': as_bool(r.get('special', 0))})
                for r in client.get('access/roles') or [])


def known_privileges(roles):
    """The privileges the cluster knows: its Administrator role holds every one (AccessControl.pm)."""
    admin = roles.get('Administrator')
    if admin and admin['privs']:
        return frozenset(admin['privs'])
    return frozenset().union(*[r['privs'] for r in roles.values() if r['special']]) if roles else frozenset()


def no_such(kind, option, name, known):
    """A PveError for a missing object: the closest names, or the ones there are."""
    close = difflib.get_close_matches(name, sorted(known), n=3)
    hint = ('did you mean {0}?'.format(', '.join(close)) if close else
            'there are: {0}'.format(', '.join(sorted(known)) or 'none'))
    return PveError('{0}: no {1} {2!r} in the cluster; {3}'.format(option, kind, name, hint))


# -------------------------------------------------------------------------------- users

class UserSpec:
    """A user as the task wants it. ``fields`` maps PVE's keys to values (None: clear, for text);
    ``groups`` is a set or None (not managed); a password is kept apart and never compared."""

    def __init__(self, userid, state, fields, groups, append, password, update_password):
        self.userid = userid
        self.state = state
        self.fields = fields
        self.groups = groups
        self.append = append
        self.password = password
        self.update_password = update_password

    @classmethod
    def from_params(cls, params):
        userid = check_userid(params['userid'])
        fields = {}
        if params.get('enable') is not None:
            fields['enable'] = bool(params['enable'])
        if params.get('expire') is not None:
            if params['expire'] < 0:
                raise PveError('expire: seconds since the epoch, 0 for never; not {0}'.format(params['expire']))
            fields['expire'] = int(params['expire'])
        for key, longest in USER_TEXT:
            value = params.get(key)
            if value is None:
                continue
            if len(value) > longest:
                raise PveError('{0}: PVE takes at most {1} characters, not {2}'.format(key, longest, len(value)))
            if key == 'email' and value and not EMAIL.match(value):
                raise PveError('email: {0!r} does not look like an email address'.format(value))
            if '\n' in value and key != 'comment':
                raise PveError('{0}: PVE takes one line'.format(key))
            fields[key] = text_value(value)
        if params.get('keys') is not None:
            if not USER_KEYS.match(params['keys']):
                raise PveError('keys: PVE takes Yubico key ids or OATH secrets as letters, digits, ! and = '
                               '(up to 4096)')
            fields['keys'] = text_value(params['keys'])
        groups = None
        if params.get('groups') is not None:
            groups = frozenset(check_groupid(g, 'groups') for g in params['groups'])
        password = params.get('password')
        if password is not None and not 8 <= len(password) <= 64:
            # The length only: the value itself is never part of a message.
            raise PveError('password: PVE takes 8 to 64 characters, this one has {0}'.format(len(password)))
        return cls(userid, params.get('state', 'present'), fields, groups, bool(params.get('append')), password,
                   params.get('update_password', 'on_create'))


def user_fields(entry):
    """A user as read (GET /access/users?full=1), in UserSpec's spelling."""
    out = {'enable': as_bool(entry.get('enable', 1)), 'expire': int(entry.get('expire') or 0)}
    for key, _longest in USER_TEXT:
        out[key] = text_value(entry.get(key))
    out['keys'] = text_value(entry.get('keys'))
    out['groups'] = split_ids(entry.get('groups'))
    return out


def _shown(key, value):
    """A user's value as diffs and sentences show it: keys hidden, groups sorted."""
    if key == 'keys' and value is not None:
        return HIDDEN
    if isinstance(value, frozenset):
        return sorted(value)
    return value


def plan_user(spec, entry, groups, token_login=False, confirm_password=None):
    """The plan for one user (pure) from its entry as read (None: it does not exist) and the cluster's
    groups. ``token_login``: the module talks to PVE with an API token (which may not change passwords);
    ``confirm_password``: the login's own password, which PVE asks a non-root login to repeat."""
    plan = Plan('user {0}'.format(spec.userid))
    current = user_fields(entry) if entry is not None else None
    if spec.state == 'absent':
        if current is not None:
            shown = dict((k, _shown(k, v)) for k, v in current.items() if v not in (None, frozenset()))
            plan.add(Step('remove', text='remove user {0} (with its API tokens and ACL entries)'.format(spec.userid)),
                     before=shown)
        return plan
    for group in sorted(spec.groups or ()):
        if group not in groups:
            raise no_such('group', 'groups', group, groups)
    if current is None:
        fields = dict((k, v) for k, v in spec.fields.items() if v is not None)
        after = dict((k, _shown(k, v)) for k, v in fields.items())
        if spec.groups:
            after['groups'] = sorted(spec.groups)
        plan.add(Step('create', text='create user {0}'.format(spec.userid),
                      data={'fields': fields, 'groups': spec.groups, 'password': spec.password}), after=after)
        if spec.password is not None:
            plan.steps[-1].text += ' with a password'
        return plan
    changed = {}
    for key, wanted in sorted(spec.fields.items()):
        have = current.get(key)
        if key in ('firstname', 'lastname', 'email', 'comment', 'keys'):
            have = text_value(have)
        if wanted != have:
            changed[key] = wanted
            before = {key: _shown(key, have)} if have is not None else {}
            after = {key: _shown(key, wanted)} if wanted is not None else {}
            if wanted is None:
                plan.add(Step('delete', key, _shown(key, have)), before=before)
            else:
                plan.add(Step('set', key, _shown(key, have), _shown(key, wanted)), before=before, after=after)
    groups_sent = None
    if spec.groups is not None:
        have = current['groups']
        wanted = have | spec.groups if spec.append else spec.groups
        if wanted != have:
            added, removed = sorted(wanted - have), sorted(have - wanted)
            words = []
            if added:
                words.append('join {0}'.format(', '.join(added)))
            if removed:
                words.append('leave {0}'.format(', '.join(removed)))
            groups_sent = (spec.groups - have) if spec.append else spec.groups
            plan.add(Step('groups', 'groups', text='groups: ' + '; '.join(words)),
                     before={'groups': sorted(have)}, after={'groups': sorted(wanted)})
    if changed or groups_sent is not None:
        plan.steps[0].data.update(fields=changed, groups=groups_sent, append=spec.append)
    if spec.password is not None and spec.update_password == 'always':
        if token_login:
            raise PveError('password: PVE changes a password only for a login with a password (api_user and '
                           'api_password), not for an API token; update_password=always cannot be done here')
        plan.add(Step('password', text='set the password of user {0}'.format(spec.userid),
                      data={'password': spec.password, 'confirm': confirm_password}))
    return plan


def apply_user(run, plan):
    """The writes of a user plan: POST/PUT/DELETE /access/users[/{userid}], PUT /access/password."""
    client = run.client
    userid = plan.subject.split(' ', 1)[1]
    first = plan.steps[0]
    if first.action == 'remove':
        client.delete('access/users/{0}'.format(userid))
        return
    if first.action == 'create':
        params = dict((k, to_api(v)) for k, v in first.data['fields'].items())
        if first.data['groups']:
            params['groups'] = ','.join(sorted(first.data['groups']))
        if first.data['password'] is not None:
            params['password'] = first.data['password']
        client.post('access/users', userid=userid, **params)
        return
    data = first.data
    if data.get('fields') or data.get('groups') is not None:
        params = dict((k, '' if v is None else to_api(v)) for k, v in data.get('fields', {}).items())
        if data.get('groups') is not None:
            params['groups'] = ','.join(sorted(data['groups']))
            if data.get('append'):
                params['append'] = 1
        client.put('access/users/{0}'.format(userid), **params)
    for step in plan.steps:
        if step.action == 'password':
            params = {'userid': userid, 'password': step.data['password']}
            if step.data.get('confirm') is not None:
                params['confirmation-password'] = step.data['confirm']
            client.put('access/password', **params)


def to_api(value):
    if isinstance(value, bool):
        return 1 if value else 0
    return value


def public_user(userid, entry):
    """A user as results show it: its fields, groups and token ids; no keys, no secrets."""
    if entry is None:
        return None
    fields = user_fields(entry)
    out = dict((k, v) for k, v in fields.items() if k not in ('keys', 'groups') and v is not None)
    out.update(userid=userid, groups=sorted(fields['groups']),
               tokens=sorted(t['tokenid'] for t in entry.get('tokens') or []))
    return out


# ------------------------------------------------------------------------------- groups

class GroupSpec:
    def __init__(self, groupid, state, comment):
        self.groupid = groupid
        self.state = state
        self.comment = comment  # None: not managed; '' clears it

    @classmethod
    def from_params(cls, params):
        return cls(check_groupid(params['groupid']), params.get('state', 'present'), params.get('comment'))


def plan_group(spec, groups):
    """The plan for one group (pure) from the cluster's groups as read."""
    plan = Plan('group {0}'.format(spec.groupid))
    current = groups.get(spec.groupid)
    if spec.state == 'absent':
        if current is not None:
            before = {'users': sorted(current['users'])}
            if current['comment']:
                before['comment'] = current['comment']
            plan.add(Step('remove', text='remove group {0} (its members stay users; its ACL entries go)'.format(
                spec.groupid)), before=before)
        return plan
    wanted = text_value(spec.comment)
    if current is None:
        plan.add(Step('create', text='create group {0}'.format(spec.groupid), data={'comment': wanted}),
                 after={'comment': wanted} if wanted else {})
    elif spec.comment is not None and wanted != current['comment']:
        if wanted is None:
            plan.add(Step('delete', 'comment', current['comment'], data={'comment': ''}),
                     before={'comment': current['comment']})
        else:
            plan.add(Step('set', 'comment', current['comment'], wanted, data={'comment': wanted}),
                     before={'comment': current['comment']} if current['comment'] else {}, after={'comment': wanted})
    return plan


def apply_group(run, plan):
    groupid = plan.subject.split(' ', 1)[1]
    step = plan.steps[0]
    if step.action == 'create':
        run.client.post('access/groups', groupid=groupid, comment=step.data['comment'])
    elif step.action == 'remove':
        run.client.delete('access/groups/{0}'.format(groupid))
    else:
        run.client.put('access/groups/{0}'.format(groupid), comment=step.data['comment'])


def public_group(groupid, groups):
    current = groups.get(groupid)
    if current is None:
        return None
    out = {'groupid': groupid, 'users': sorted(current['users'])}
    if current['comment']:
        out['comment'] = current['comment']
    return out


# -------------------------------------------------------------------------------- roles

class RoleSpec:
    def __init__(self, roleid, state, privs, append):
        self.roleid = roleid
        self.state = state
        self.privs = privs  # a set, or None: not managed
        self.append = append

    @classmethod
    def from_params(cls, params):
        roleid = params['roleid']
        if not ROLE_ID.match(roleid or ''):
            raise PveError('roleid: {0!r} is not a PVE role name (letters, digits, ., - and _)'.format(roleid))
        privs = None
        if params.get('privs') is not None:
            privs = frozenset(p.strip() for p in params['privs'] if p.strip())
        return cls(roleid, params.get('state', 'present'), privs, bool(params.get('append')))


def plan_role(spec, roles):
    """The plan for one role (pure) from the cluster's roles as read; every privilege is checked against
    the cluster's own list, and built-in roles are never changed."""
    plan = Plan('role {0}'.format(spec.roleid))
    current = roles.get(spec.roleid)
    known = known_privileges(roles)
    for priv in sorted(spec.privs or ()):
        if priv not in known:
            close = difflib.get_close_matches(priv, sorted(known), n=3)
            raise PveError('privs: {0!r} is not a privilege of this cluster{1} (its {2} privileges are the '
                           'Administrator role\'s)'.format(priv, '; did you mean {0}?'.format(', '.join(close))
                                                           if close else '', len(known)))
    builtin = current is not None and current['special']
    if spec.state == 'absent':
        if current is not None:
            if builtin:
                raise PveError('roleid: {0} is one of PVE\'s built-in roles, which PVE does not remove'.format(
                    spec.roleid))
            plan.add(Step('remove', text='remove role {0} (ACL entries naming it stop counting)'.format(
                spec.roleid)), before={'privs': sorted(current['privs'])})
        return plan
    if current is None:
        if spec.roleid.lower().startswith('pve'):
            raise PveError('roleid: PVE keeps role names starting with PVE (any case) for its built-in roles; '
                           'choose another name than {0!r}'.format(spec.roleid))
        privs = spec.privs or frozenset()
        plan.add(Step('create', text='create role {0}'.format(spec.roleid), data={'privs': privs}),
                 after={'privs': sorted(privs)})
        return plan
    if spec.privs is None:
        return plan
    wanted = current['privs'] | spec.privs if spec.append else spec.privs
    if wanted == current['privs']:
        return plan
    if builtin:
        raise PveError('roleid: {0} is one of PVE\'s built-in roles, whose privileges PVE does not change; make a '
                       'role of your own (privs: {1})'.format(spec.roleid, ', '.join(sorted(spec.privs))))
    added, removed = sorted(wanted - current['privs']), sorted(current['privs'] - wanted)
    words = (['add {0}'.format(', '.join(added))] if added else []) + \
        (['remove {0}'.format(', '.join(removed))] if removed else [])
    plan.add(Step('privs', 'privs', text='privs: ' + '; '.join(words),
                  data={'privs': frozenset(added) if spec.append else wanted, 'append': spec.append}),
             before={'privs': sorted(current['privs'])}, after={'privs': sorted(wanted)})
    return plan


def apply_role(run, plan):
    roleid = plan.subject.split(' ', 1)[1]
    step = plan.steps[0]
    if step.action == 'create':
        run.client.post('access/roles', roleid=roleid, privs=','.join(sorted(step.data['privs'])) or None)
    elif step.action == 'remove':
        run.client.delete('access/roles/{0}'.format(roleid))
    else:
        params = {'privs': ','.join(sorted(step.data['privs'])) or None}
        if step.data['append']:
            params['append'] = 1
        run.client.put('access/roles/{0}'.format(roleid), **params)


def public_role(roleid, roles):
    current = roles.get(roleid)
    if current is None:
        return None
    return {'roleid': roleid, 'privs': sorted(current['privs']), 'special': current['special']}


# ------------------------------------------------------------------------------- tokens

class TokenSpec:
    def __init__(self, userid, tokenid, state, fields, regenerate):
        self.userid = userid
        self.tokenid = tokenid
        self.state = state
        self.fields = fields  # privsep, expire, comment (None: clear) as set by the task
        self.regenerate = regenerate

    @property
    def full_tokenid(self):
        return '{0}!{1}'.format(self.userid, self.tokenid)

    @classmethod
    def from_params(cls, params):
        userid = check_userid(params['userid'], realms=None)
        tokenid = params['tokenid']
        if not TOKEN_NAME.match(tokenid or ''):
            raise PveError('tokenid: {0!r} is not a PVE token name (a letter, then letters, digits, ., - or _; '
                           'at least 2 characters)'.format(tokenid))
        fields = {}
        if params.get('privsep') is not None:
            fields['privsep'] = bool(params['privsep'])
        if params.get('expire') is not None:
            if params['expire'] < 0:
                raise PveError('expire: seconds since the epoch, 0 for never; not {0}'.format(params['expire']))
            fields['expire'] = int(params['expire'])
        if params.get('comment') is not None:
            fields['comment'] = text_value(params['comment'])
        state = params.get('state', 'present')
        if params.get('regenerate') and state == 'absent':
            raise PveError('regenerate: a token that is to be absent is not regenerated')
        return cls(userid, tokenid, state, fields, bool(params.get('regenerate')))


def find_token(users, userid, tokenid):
    """The token's entry (privsep, expire, comment) from read_users, or None."""
    for token in (users.get(userid) or {}).get('tokens') or []:
        if token.get('tokenid') == tokenid:
            return {'privsep': as_bool(token.get('privsep', 1)), 'expire': int(token.get('expire') or 0),
                    'comment': text_value(token.get('comment'))}
    return None


def plan_token(spec, users):
    """The plan for one API token (pure) from the users as read (read_users)."""
    plan = Plan('token {0}'.format(spec.full_tokenid))
    if spec.userid not in users:
        if spec.state == 'absent':
            return plan
        raise no_such('user', 'userid', spec.userid, users)
    current = find_token(users, spec.userid, spec.tokenid)
    if spec.state == 'absent':
        if current is not None:
            plan.add(Step('remove', text='remove API token {0} (its ACL entries go with it)'.format(
                spec.full_tokenid)), before=dict((k, v) for k, v in current.items() if v is not None))
        return plan
    if current is None:
        fields = dict((k, v) for k, v in spec.fields.items() if v is not None)
        after = dict(fields, privsep=fields.get('privsep', True))  # PVE's default: privilege separation
        plan.add(Step('create', text='create API token {0} (its secret is returned once)'.format(spec.full_tokenid),
                      data={'fields': fields}), after=after)
        return plan
    changed = {}
    for key, wanted in sorted(spec.fields.items()):
        have = current.get(key)
        if wanted == have:
            continue
        changed[key] = wanted
        before = {key: have} if have is not None else {}
        if wanted is None:
            plan.add(Step('delete', key, have), before=before)
        else:
            plan.add(Step('set', key, have, wanted), before=before, after={key: wanted})
    if spec.regenerate:
        plan.add(Step('regenerate', text='regenerate the secret of API token {0} (the old secret stops working; '
                                         'the new one is returned once)'.format(spec.full_tokenid)))
    if plan.steps:
        plan.steps[0].data.update(fields=changed, regenerate=spec.regenerate)
    return plan


def apply_token(run, plan):
    """The one write of a token plan. A secret PVE answers (made or regenerated) is kept in ``run.secret``
    for the module's result: PVE shows it this once only."""
    full = plan.subject.split(' ', 1)[1]
    userid, tokenid = full.split('!', 1)
    path = 'access/users/{0}/token/{1}'.format(userid, tokenid)
    step = plan.steps[0]
    run.secret = None
    if step.action == 'remove':
        run.client.delete(path)
    elif step.action == 'create':
        answer = run.client.post(path, **dict((k, to_api(v)) for k, v in step.data['fields'].items())) or {}
        run.secret = answer.get('value')
    else:
        params = {}
        for key, value in step.data['fields'].items():
            if value is None:
                params['delete'] = key  # only comment can be cleared
            else:
                params[key] = to_api(value)
        if step.data['regenerate']:
            params['regenerate'] = 1
        answer = run.client.put(path, **params) or {}
        run.secret = answer.get('value') if step.data['regenerate'] else None


def public_token(spec, users):
    current = find_token(users, spec.userid, spec.tokenid)
    if current is None:
        return None
    out = dict((k, v) for k, v in current.items() if v is not None)
    out.update(tokenid=spec.tokenid, userid=spec.userid, full_tokenid=spec.full_tokenid)
    return out
