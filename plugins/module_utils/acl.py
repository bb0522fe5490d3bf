# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""ACL entries on one path: spec -> read -> plan -> apply.

An ACL entry is (path, user/group/token, role) with a propagate flag, as pve-access-control's
API2/ACL.pm keeps them: PUT /access/acl gives every role listed to every principal listed, with one
propagate flag (giving an entry again with the other flag changes it), or removes them with
``delete``. Paths are normalized and checked as AccessControl.pm's normalize_path and check_path
do; the roles, users, groups and tokens named must exist.

``exclusive`` makes the listed entries the only ones on the path: the others there are removed
(entries on other paths, including the ones below it, are left alone).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pve.fleet.plugins.module_utils.access import (
    FULL_TOKEN_ID, check_groupid, check_userid, find_token, no_such, read_groups, read_roles, read_users)
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.plan import Plan, Step

KINDS = ('user', 'group', 'token')
_NAME = r'[A-Za-z0-9.\-_]+'
# AccessControl.pm check_path.
ACL_PATH = re.compile(
    r'^(/|/access|/access/groups|/access/groups/{n}|/access/realm|/access/realm/{n}|/nodes|/nodes/{n}|/pool'
    r'|/pool/{n}(?:/{n}){{0,2}}|/sdn|/sdn/(?:controllers|dns|fabrics|ipams|prefix-lists|route-maps|zones)'
    r'|/sdn/(?:controllers/[A-Za-z0-9_\-]+|dns/[A-Za-z0-9]+|fabrics/[A-Za-z0-9]+|ipams/[A-Za-z0-9]+'
    r'|prefix-lists/[A-Za-z0-9]+|route-maps/[A-Za-z0-9]+|zones/{n}|zones/{n}/{n}|zones/{n}/{n}/[1-9][0-9]{{0,3}})'
    r'|/storage|/storage/{n}|/vms|/vms/[1-9][0-9]{{2,}}|/mapping|/mapping/{n}|/mapping/{n}/{n})$'.format(n=_NAME))
PATH_FORMS = '/, /vms, /vms/<vmid>, /storage/<id>, /pool/<id>, /nodes/<node>, /access/groups/<group>, /sdn/..., ' \
    '/mapping/...'


def normalize_path(path):
    """AccessControl.pm normalize_path: single slashes, a leading one, none at the end; None if unusable."""
    if not path:
        return None
    path = re.sub('/+', '/', str(path)).rstrip('/') or '/'
    if not path.startswith('/'):
        path = '/' + path
    return path if re.match(r'^[A-Za-z0-9./_\-]+$', path) else None


class AclSpec:
    """The entries a task names on one path: ``principals`` is a set of (kind, id); ``roles`` a set or None."""

    def __init__(self, path, state, roles, principals, propagate, exclusive):
        self.path = path
        self.state = state
        self.roles = roles
        self.principals = principals
        self.propagate = propagate
        self.exclusive = exclusive

    @classmethod
    def from_params(cls, params):
        path = normalize_path(params['path'])
        if path is None or not ACL_PATH.match(path):
            raise PveError('path: {0!r} is not an ACL path PVE takes ({1})'.format(params['path'], PATH_FORMS))
        principals = set()
        for userid in params.get('users') or []:
            principals.add(('user', check_userid(userid, 'users', realms=None)))
        for groupid in params.get('groups') or []:
            principals.add(('group', check_groupid(groupid, 'groups')))
        for token in params.get('tokens') or []:
            if not FULL_TOKEN_ID.match(token or ''):
                raise PveError('tokens: {0!r} is not a full API token id (user@realm!tokenname)'.format(token))
            principals.add(('token', token))
        roles = frozenset(params['roles']) if params.get('roles') is not None else None
        state = params.get('state', 'present')
        exclusive = bool(params.get('exclusive'))
        if state == 'present' and not exclusive and (not roles or not principals):
            raise PveError('{0}: give roles and at least one of users, groups or tokens (or exclusive: true to '
                           'leave only what is listed on the path)'.format('roles' if not roles else 'users'))
        if state == 'present' and exclusive and bool(roles) != bool(principals):
            raise PveError('{0}: with exclusive, roles and principals go together (none of either leaves the path '
                           'without entries)'.format('roles' if not roles else 'users'))
        if state == 'absent':
            if exclusive:
                raise PveError('exclusive: goes with state=present (it says which entries stay)')
            if not principals:
                raise PveError('users: say whose entries to remove (users, groups or tokens)')
        return cls(path, state, roles, frozenset(principals), params.get('propagate', True) is not False, exclusive)


def read_current(client, spec):
    """The ACL entries and what is needed to check the names the task gives, in as few requests as it can."""
    kinds = set(kind for kind, _id in spec.principals)
    acl = client.get('access/acl') or []
    roles = read_roles(client) if spec.roles else None
    users = read_users(client) if kinds & {'user', 'token'} and spec.state == 'present' else None
    groups = read_groups(client) if 'group' in kinds and spec.state == 'present' else None
    return acl, roles, users, groups


def entries_on(acl, path):
    """{(kind, ugid, role): propagate} of the entries on exactly ``path``."""
    out = {}
    for entry in acl:
        if normalize_path(entry.get('path')) == path:
            out[(entry['type'], entry['ugid'], entry['roleid'])] = str(entry.get('propagate', 1)) in ('1', 'True')
    return out


def label(kind, ugid):
    return '{0} {1}'.format(kind, ugid)


def shown(entries):
    """Entries for the diff: {'user alice@pve': ['PVEVMUser', 'PVEAuditor (not propagated)']}."""
    out = {}
    for (kind, ugid, role), propagate in sorted(entries.items()):
        out.setdefault(label(kind, ugid), []).append(role if propagate else '{0} (not propagated)'.format(role))
    return out


def check_names(spec, roles, users, groups):
    for role in sorted(spec.roles or ()):
        if role not in roles:
            raise no_such('role', 'roles', role, roles)
    for kind, ugid in sorted(spec.principals):
        if kind == 'user' and ugid not in users:
            raise no_such('user', 'users', ugid, users)
        if kind == 'group' and ugid not in groups:
            raise no_such('group', 'groups', ugid, groups)
        if kind == 'token':
            userid, tokenid = ugid.split('!', 1)
            if find_token(users, userid, tokenid) is None:
                raise PveError('tokens: no API token {0!r} in the cluster'.format(ugid))


def plan_acl(spec, acl, roles=None, users=None, groups=None):
    """The plan for the entries on one path (pure) from the ACL and the names read."""
    plan = Plan('ACL {0}'.format(spec.path))
    current = entries_on(acl, spec.path)
    if spec.state == 'present':
        check_names(spec, roles, users, groups)
        wanted = dict(((kind, ugid, role), spec.propagate) for kind, ugid in spec.principals
                      for role in spec.roles or ())
        add = dict((key, prop) for key, prop in wanted.items() if current.get(key) != prop)
        remove = dict((key, prop) for key, prop in current.items() if key not in wanted) if spec.exclusive else {}
    else:
        wanted = {}
        add = {}
        remove = dict((key, prop) for key, prop in current.items() if (key[0], key[1]) in spec.principals
                      and (spec.roles is None or key[2] in spec.roles))
    touched = set((kind, ugid) for kind, ugid, _role in list(add) + list(remove))
    before = dict((key, prop) for key, prop in current.items() if (key[0], key[1]) in touched)
    after = dict(before)
    for key in remove:
        after.pop(key)
    after.update(add)
    plan.before, plan.after = shown(before), shown(after)
    for (kind, ugid, role), prop in sorted(add.items()):
        if (kind, ugid, role) in current:
            text = '{0} of {1} on {2}: propagate {3}'.format(role, label(kind, ugid), spec.path,
                                                             'on' if prop else 'off')
        else:
            text = 'grant {0} to {1} on {2}{3}'.format(
                role, label(kind, ugid), spec.path, '' if prop else ' (not propagated)')
        plan.steps.append(Step('grant', text=text, data={'kind': kind, 'ugid': ugid, 'role': role,
                                                         'propagate': prop}))
    for (kind, ugid, role), _prop in sorted(remove.items()):
        plan.steps.append(Step('revoke', text='remove {0} of {1} on {2}'.format(role, label(kind, ugid), spec.path),
                               data={'kind': kind, 'ugid': ugid, 'role': role}))
    return plan


def apply_acl(run, plan):
    """PUT /access/acl: one request per role and propagate flag for the grants, one per role for the removals."""
    path = plan.subject.split(' ', 1)[1]
    batches = {}
    for step in plan.steps:
        key = (step.action, step.data['role'], step.data.get('propagate'))
        batches.setdefault(key, {}).setdefault(step.data['kind'], []).append(step.data['ugid'])
    for (action, role, propagate), who in sorted(batches.items(), key=lambda item: (item[0][0], item[0][1],
                                                                                    bool(item[0][2]))):
        params = dict(('{0}s'.format(kind), ','.join(sorted(ids))) for kind, ids in who.items())
        params.update(path=path, roles=role)
        if action == 'grant':
            params['propagate'] = 1 if propagate else 0
        else:
            params['delete'] = 1
        run.client.put('access/acl', **params)


def public_entries(acl, path):
    """The entries on the path, as results show them."""
    return [{'type': kind, 'ugid': ugid, 'roleid': role, 'propagate': prop}
            for (kind, ugid, role), prop in sorted(entries_on(acl, path).items())]
