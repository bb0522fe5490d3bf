"""Users, groups, roles, ACLs and API tokens, and the permissions they give.

fakepve answers the /access endpoints from the schema without keeping anything, and its own
permission model is a union of grants per user. This mixin keeps PVE's user.cfg (users, their
tokens, groups, roles, the ACL tree) and token.cfg (the token secrets: fakepve's ``apitokens``),
and evaluates permissions as PVE does, for the principals it knows:

- pve-access-control ``src/PVE/API2/User.pm`` (users and the token endpoints), ``Group.pm``,
  ``Role.pm``, ``ACL.pm``: what each endpoint takes, stores and answers, and its error wording
  (``die`` inside ``lock_user_config`` is a 500 prefixed ``<action> failed: ``; parameter
  problems are 400s naming the field);
- ``src/PVE/AccessControl.pm``: the privilege list and the built-in roles (``$privgroups``,
  ``create_roles``), ``normalize_path`` and ``check_path`` (valid ACL paths), ``roles()`` (the
  most specific ACL on the path wins, a user's entry beats its groups', ``propagate=0`` applies
  to that path only, ``NoAccess`` wins), ``verify_token`` and ``check_user_enabled``;
- ``src/PVE/RPCEnvironment.pm``: ``permissions()`` and ``compile_acl_path`` (a pool's roles reach
  its guests and storages on their own paths, never propagated; a token with privilege
  separation holds only what its own ACLs give *and* its user holds; one without holds its
  user's privileges), ``check_perm_modify``.

A principal is *modelled* once it is in user.cfg: root@pam and its tokens, and every user made
through the API. Principals fakepve knows only by ``users``/``apitokens``/``grant()`` keep
fakepve's behaviour.
"""

import copy
import re
import time
import uuid

from fakepve.model import PveError
from fakepve.routing import die, param_error, split_list

# AccessControl.pm $privgroups: category -> (root, admin, user, audit) privileges.
PRIVGROUPS = {
    'VM': ((), ('VM.Config.Disk', 'VM.Config.CPU', 'VM.Config.Memory', 'VM.Config.Network', 'VM.Config.HWType',
                'VM.Config.Options', 'VM.Allocate', 'VM.Clone', 'VM.GuestAgent.Unrestricted', 'VM.Migrate',
                'VM.Replicate', 'VM.Snapshot', 'VM.Snapshot.Rollback'),
           ('VM.Config.CDROM', 'VM.Config.Cloudinit', 'VM.Console', 'VM.Backup', 'VM.GuestAgent.FileRead',
            'VM.GuestAgent.FileSystemMgmt', 'VM.GuestAgent.FileWrite', 'VM.PowerMgmt'),
           ('VM.Audit', 'VM.GuestAgent.Audit')),
    'Sys': (('Sys.PowerMgmt', 'Sys.Modify', 'Sys.Incoming', 'Sys.AccessNetwork'), ('Sys.Console', 'Sys.Syslog'), (),
            ('Sys.Audit',)),
    'Datastore': ((), ('Datastore.Allocate', 'Datastore.AllocateTemplate'), ('Datastore.AllocateSpace',),
                  ('Datastore.Audit',)),
    'SDN': ((), ('SDN.Allocate', 'SDN.Audit'), ('SDN.Use',), ('SDN.Audit',)),
    'User': (('Realm.Allocate',), ('User.Modify', 'Group.Allocate', 'Realm.AllocateUser'), (), ()),
    'Pool': ((), ('Pool.Allocate',), ('Pool.Audit',), ('Pool.Audit',)),
    'Mapping': ((), ('Mapping.Modify',), ('Mapping.Use',), ('Mapping.Audit',)),
}


def _special_roles():
    """AccessControl.pm create_roles(): the built-in roles, and every valid privilege (Administrator's)."""
    valid = {'Permissions.Modify'}
    roles = {'NoAccess': set()}
    for cat, (root, admin, user, audit) in PRIVGROUPS.items():
        valid.update(root + admin + user + audit)
        roles.setdefault('PVE{0}Admin'.format(cat), set()).update(admin + user + audit)
        roles.setdefault('PVEAdmin', set()).update(admin + user + audit)
        if user:
            roles.setdefault('PVE{0}User'.format(cat), set()).update(user + audit)
        roles.setdefault('PVEAuditor', set()).update(audit)
    roles['PVEAdmin'].discard('Mapping.Modify')
    roles['PVETemplateUser'] = {'VM.Clone', 'VM.Audit'}
    roles['Administrator'] = set(valid)
    return roles, frozenset(valid)


SPECIAL_ROLES, VALID_PRIVS = _special_roles()
# Auth/Plugin.pm: user, realm and group names; AccessControl.pm: token names are realm-like.
USER_RE = re.compile(r'^([^\s:/]+)@([A-Za-z][A-Za-z0-9.\-_]+)$')
TOKEN_RE = re.compile(r'^([^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+)!([A-Za-z][A-Za-z0-9.\-_]+)$')
TOKEN_NAME = re.compile(r'[A-Za-z][A-Za-z0-9.\-_]+')
# AccessControl.pm check_path: the ACL paths PVE accepts.
_NAME = r'[A-Za-z0-9.\-_]+'
ACL_PATH = re.compile(r'^(/|/access|/access/groups|/access/groups/{n}|/access/realm|/access/realm/{n}|/nodes'
                      r'|/nodes/{n}|/pool|/pool/{n}(?:/{n}){{0,2}}|/sdn|/sdn/\w+(?:/[\w.\-]+){{0,3}}|/storage'
                      r'|/storage/{n}|/vms|/vms/[1-9][0-9]{{2,}}|/mapping|/mapping/{n}|/mapping/{n}/{n})$'.format(n=_NAME))
# domains.cfg of a fresh cluster: the realms whose passwords PVE stores itself.
REALMS = {'pam': 'pam', 'pve': 'pve'}
USER_FIELDS = ('enable', 'expire', 'firstname', 'lastname', 'email', 'comment', 'keys')
KINDS = ('user', 'group', 'token')


def normalize_path(path):
    """AccessControl.pm normalize_path: one slash each, none at the end, a leading one; None if unusable."""
    if not path:
        return None
    path = re.sub('/+', '/', str(path)).rstrip('/') or '/'
    if not path.startswith('/'):
        path = '/' + path
    return path if re.fullmatch(r'[A-Za-z0-9./_-]+', path) else None


def _bool(value):
    return 1 if str(value).lower() in ('1', 'true', 'yes', 'on') else 0


class AccessControl(object):
    """Mixin of FakePve: user.cfg and the permissions it gives (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user_cfg = {
            'users': {'root@pam': {'enable': 1, 'expire': 0, 'tokens': {}}},
            'groups': {},  # groupid -> {'comment': str or None, 'users': set()}
            'roles': {},  # custom roles: roleid -> set(privs); the built-in ones are SPECIAL_ROLES
            'acl': {},  # path -> {(kind, ugid): {roleid: propagate}}
        }
        # Linux accounts on the nodes: a pam user's password is set with usermod, which needs one.
        self.linux_accounts = {'root'}

    def _routes_access_control(self):
        users, user = '/access/users', '/access/users/{userid}'
        token = user + '/token/{tokenid}'
        groups, group = '/access/groups', '/access/groups/{groupid}'
        roles, role = '/access/roles', '/access/roles/{roleid}'
        return [('GET', users, self._ac_users), ('POST', users, self._ac_user_create),
                ('GET', user, self._ac_user_read), ('PUT', user, self._ac_user_update),
                ('DELETE', user, self._ac_user_delete),
                ('GET', user + '/token', self._ac_tokens), ('GET', token, self._ac_token_read),
                ('POST', token, self._ac_token_create), ('PUT', token, self._ac_token_update),
                ('DELETE', token, self._ac_token_delete),
                ('GET', groups, self._ac_groups), ('POST', groups, self._ac_group_create),
                ('GET', group, self._ac_group_read), ('PUT', group, self._ac_group_update),
                ('DELETE', group, self._ac_group_delete),
                ('GET', roles, self._ac_roles), ('POST', roles, self._ac_role_create),
                ('GET', role, self._ac_role_read), ('PUT', role, self._ac_role_update),
                ('DELETE', role, self._ac_role_delete),
                ('GET', '/access/acl', self._ac_acl), ('PUT', '/access/acl', self._ac_acl_update)]

    # ------------------------------------------------------------------ model

    def _seed_tokens(self):
        """Tokens put straight into ``apitokens`` (build_cluster's root@pam!fleet) for a user of user.cfg
        become tokens of that user without privilege separation: they act as the user."""
        for full in list(self.apitokens):
            found = TOKEN_RE.match(full)
            if found and found.group(1) in self.user_cfg['users']:
                self.user_cfg['users'][found.group(1)].setdefault('tokens', {}).setdefault(
                    found.group(2), {'privsep': 0, 'expire': 0})

    def _token_info(self, full):
        found = TOKEN_RE.match(full)
        if not found:
            return None
        self._seed_tokens()
        return ((self.user_cfg['users'].get(found.group(1)) or {}).get('tokens') or {}).get(found.group(2))

    def _modelled(self, who):
        """True for a principal of user.cfg (and not root@pam itself, who may do anything anyway)."""
        if not who or who == 'root@pam':
            return False
        if '!' in who:
            return self._token_info(who) is not None
        return who in self.user_cfg['users']

    def _roles(self, who, path):
        """AccessControl.pm roles(): {role: propagate} that hold for ``who`` (a user or a token id) on path."""
        acl = self.user_cfg['acl']
        groups = [g for g, data in self.user_cfg['groups'].items() if who in data['users']]
        prefixes = ['/'] + ['/' + '/'.join(path.strip('/').split('/')[:i + 1])
                            for i in range(len(path.strip('/').split('/')))] if path != '/' else ['/']
        roles = {}
        for depth, prefix in enumerate(prefixes):
            final = depth == len(prefixes) - 1
            node = acl.get(prefix, {})
            found = None
            for key in (('token', who), ('user', who)):
                entry = node.get(key)
                if entry:
                    found = dict((r, p) for r, p in entry.items() if final or p) or None
                if found:
                    break
            if not found:
                merged = {}
                for group in groups:
                    for role, prop in node.get(('group', group), {}).items():
                        if final or prop:
                            merged[role] = prop
                found = merged or None
            if found:
                roles = found  # a more specific path overrides what the path above gave
        if 'NoAccess' in roles:
            return {'NoAccess': roles['NoAccess']}
        return roles

    def _role_privs(self, role):
        return SPECIAL_ROLES.get(role, self.user_cfg['roles'].get(role, set()))

    def _compiled(self, who, path):
        """RPCEnvironment.pm compile_acl_path: {priv: propagate} from the path's roles and the pools'."""
        roles = self._roles(who, path)
        if 'NoAccess' not in roles:
            pool_roles = {}
            for name in sorted(self.pools):
                members = {'/vms/{0}'.format(v) for v in self.pools[name]}
                members |= {'/storage/' + s for s in self.pool_info.get(name, {}).get('storage', ())}
                if path in members:
                    pool_roles.update(dict.fromkeys(self._roles(who, '/pool/' + name), 1))
            if 'NoAccess' in pool_roles:
                roles = {'NoAccess': 0}
            else:
                for role in pool_roles:
                    roles.setdefault(role, 0)
        privs = {}
        for role, prop in roles.items():
            for priv in self._role_privs(role):
                privs[priv] = privs.get(priv, 0) or prop
        return privs

    def _permissions_of(self, who, path):
        """RPCEnvironment.pm permissions(): {priv: propagate} held by a user or token on path."""
        if who == 'root@pam':
            return dict.fromkeys(VALID_PRIVS, 1)
        if '!' in who:
            info = self._token_info(who)
            if info is None:
                return {}
            owner = who.split('!')[0]
            user_privs = self._permissions_of(owner, path)
            if not _bool(info.get('privsep', 1)):
                return user_privs
            privs = self._compiled(who, path)
            if owner == 'root@pam':
                return privs
            return dict((p, user_privs[p] and prop) for p, prop in privs.items() if p in user_privs)
        if who not in self.user_cfg['users']:
            return {}
        return self._compiled(who, path)

    def allowed(self, user, path, priv):
        if not self._modelled(user):
            return super().allowed(user, path, priv)
        try:
            return priv in self._permissions_of(user, path.rstrip('/') or '/')
        except ValueError:
            return False

    def check_permissions(self, user, perms, values, declared=None):
        """fakepve checks nothing until its own ACL exists, and lets every root@pam token through; a principal
        of user.cfg is always checked, and a root@pam token with privilege separation too."""
        if not self._modelled(user):
            return super().check_permissions(user, perms, values, declared)
        if perms is not None and perms.get('user') in ('all', 'world') and 'check' not in perms:
            return
        ok, why = self._check(user, perms['check'], values, declared) if perms and 'check' in perms \
            else (False, 'user != root@pam')
        if not ok:
            raise PveError(403, 'Permission check failed ({0})'.format(why) if why else 'Permission check failed')

    # ------------------------------------------------------------ authentication

    def _enabled(self, userid):
        """AccessControl.pm check_user_enabled, as a reason it fails or None."""
        data = self.user_cfg['users'].get(userid)
        if data is None:
            return "no such user ('{0}')".format(userid)
        if not _bool(data.get('enable', 1)):
            return "user '{0}' is disabled".format(userid)
        if data.get('expire') and int(data['expire']) < time.time():
            return "user '{0}' access expired".format(userid)
        return None

    def _authenticate(self, request):
        """AccessControl.pm verify_token for a token of user.cfg: its user enabled, the token there and not
        expired; then fakepve checks the secret. PVE answers every such failure 401."""
        auth = request.headers.get('Authorization', '')
        if auth.startswith('PVEAPIToken='):
            tokenid = auth[len('PVEAPIToken='):].partition('=')[0]
            found = TOKEN_RE.match(tokenid)
            if found and found.group(1) in self.user_cfg['users']:
                info = self._token_info(tokenid)
                if info is None or self._enabled(found.group(1)) or \
                        (info.get('expire') and int(info['expire']) < time.time()):
                    raise PveError(401, 'authentication failure')
        return super()._authenticate(request)

    def check_password(self, user, password):
        """A ticket login of a disabled or expired user fails (AccessControl.pm authenticate_user)."""
        if user in self.user_cfg['users'] and user != 'root@pam' and self._enabled(user):
            return False
        return super().check_password(user, password)

    # ------------------------------------------------------------------- users

    def _user_entry(self, userid, data, full):
        entry = dict((k, data[k]) for k in USER_FIELDS if data.get(k) not in (None, ''))
        entry.setdefault('enable', 1)
        entry.setdefault('expire', 0)
        if full:
            entry['groups'] = sorted(g for g, gd in self.user_cfg['groups'].items() if userid in gd['users'])
            entry['tokens'] = dict((t, self._token_view(info)) for t, info in (data.get('tokens') or {}).items())
        return entry

    @staticmethod
    def _token_view(info):
        view = {'privsep': _bool(info.get('privsep', 1)), 'expire': int(info.get('expire') or 0)}
        if info.get('comment'):
            view['comment'] = info['comment']
        return view

    def _user_visible(self, user, userid):
        if not self._modelled(user) or user.split('!')[0] == userid:
            return True
        privs = ('User.Modify', 'Sys.Audit')
        if any(self.allowed(user, '/access/groups', p) for p in privs):
            return True
        return any(userid in gd['users'] and any(self.allowed(user, '/access/groups/' + g, p) for p in privs)
                   for g, gd in self.user_cfg['groups'].items())

    async def _ac_users(self, v, user):
        """User.pm index: groups as a comma list and tokens as a list with full=1."""
        self._seed_tokens()
        out = []
        for userid in sorted(self.user_cfg['users']):
            if not self._user_visible(user, userid):
                continue
            entry = self._user_entry(userid, self.user_cfg['users'][userid], v.get('full'))
            if v.get('enabled') is not None and bool(entry['enable']) != bool(_bool(v['enabled'])):
                continue
            if v.get('full'):
                entry['groups'] = ','.join(entry['groups'])
                entry['tokens'] = [dict(tokenid=t, **info) for t, info in sorted(entry['tokens'].items())]
            realm = userid.rpartition('@')[2]
            if realm in REALMS:
                entry['realm-type'] = REALMS[realm]
            entry['userid'] = userid
            out.append(entry)
        return out

    def _need_user(self, userid):
        self._seed_tokens()
        data = self.user_cfg['users'].get(userid)
        if data is None:
            raise die("no such user ('{0}')".format(userid))
        return data

    async def _ac_user_read(self, v, user):
        return self._user_entry(v['userid'], self._need_user(v['userid']), True)

    def _set_password(self, userid, password):
        """AccessControl.pm domain_set_password: the pve realm keeps it (priv/shadow.cfg), pam sets the
        Linux account's with usermod (Auth/PAM.pm store_password), which fails without that account."""
        name, _at, realm = userid.rpartition('@')
        if realm not in REALMS:
            raise die("auth domain '{0}' does not exist".format(realm))
        if REALMS[realm] == 'pam' and name not in self.linux_accounts:
            raise die("change password failed: command 'usermod -p ******** {0}' failed: exit code 6".format(name))
        self.users[userid] = password

    def _join_groups(self, cfg, userid, groups):
        for group in split_list(groups):
            if group not in cfg['groups']:
                raise die("no such group '{0}'".format(group))
            cfg['groups'][group]['users'].add(userid)

    async def _ac_user_create(self, v, user):
        userid = v['userid']
        cfg = copy.deepcopy(self.user_cfg)
        try:
            if userid in cfg['users']:
                raise die("user '{0}' already exists".format(userid))
            data = {'enable': _bool(v['enable']) if v.get('enable') is not None else 1, 'tokens': {}}
            if v.get('expire'):
                data['expire'] = int(v['expire'])
            cfg['users'][userid] = data
            self._join_groups(cfg, userid, v.get('groups'))
            for key in ('firstname', 'lastname', 'email', 'comment', 'keys'):
                if v.get(key):
                    data[key] = v[key]
            if v.get('password') is not None:
                self._set_password(userid, v['password'])
        except PveError as exc:
            raise die('create user failed: ' + exc.message) from exc
        self.user_cfg = cfg

    async def _ac_user_update(self, v, user):
        userid = v['userid']
        cfg = copy.deepcopy(self.user_cfg)
        try:
            if userid not in cfg['users']:
                raise die("no such user ('{0}')".format(userid))
            data = cfg['users'][userid]
            for key in ('enable', 'expire'):
                if v.get(key) is not None:
                    data[key] = _bool(v[key]) if key == 'enable' else int(v[key])
            if v.get('groups') is not None and not v.get('append'):
                for group in cfg['groups'].values():
                    group['users'].discard(userid)
            self._join_groups(cfg, userid, v.get('groups'))
            for key in ('firstname', 'lastname', 'email', 'comment', 'keys'):
                if v.get(key) is not None:
                    data[key] = v[key]  # '' clears it: user.cfg keeps no empty field
        except PveError as exc:
            raise die('update user failed: ' + exc.message) from exc
        self.user_cfg = cfg

    def _drop_acl(self, match):
        """Remove the ACL entries whose (kind, ugid) ``match``, and what is left empty."""
        for path in list(self.user_cfg['acl']):
            node = self.user_cfg['acl'][path]
            for key in [k for k in node if match(k) or not node[k]]:
                del node[key]
            if not node:
                del self.user_cfg['acl'][path]

    async def _ac_user_delete(self, v, user):
        """User.pm delete_user: the user, its groups, ACLs and tokens (whose ACLs PVE drops on reading)."""
        userid = v['userid']
        self._seed_tokens()
        if userid not in self.user_cfg['users']:
            # PVE disables the user first, so a missing one fails only when the entry is written back.
            raise die("delete user failed: no such user ('{0}')".format(userid))
        data = self.user_cfg['users'].pop(userid)
        for group in self.user_cfg['groups'].values():
            group['users'].discard(userid)
        tokens = set('{0}!{1}'.format(userid, t) for t in (data.get('tokens') or {}))
        self._drop_acl(lambda key: (key[0] == 'user' and key[1] == userid) or (key[0] == 'token' and key[1] in tokens))
        for full in tokens:
            self.apitokens.pop(full, None)
        self.users.pop(userid, None)

    # ------------------------------------------------------------------ tokens

    async def _ac_tokens(self, v, user):
        data = self._need_user(v['userid'])
        return [dict(tokenid=t, **self._token_view(info)) for t, info in sorted((data.get('tokens') or {}).items())]

    def _need_token(self, userid, tokenid):
        data = self._need_user(userid)
        info = (data.get('tokens') or {}).get(tokenid)
        if info is None:
            raise die("no such token '{0}' for user '{1}'".format(tokenid, userid))
        return info

    async def _ac_token_read(self, v, user):
        return self._token_view(self._need_token(v['userid'], v['tokenid']))

    async def _ac_token_create(self, v, user):
        """User.pm generate_token: the secret (a UUID, PVE::TokenConfig) is answered here only."""
        userid, tokenid = v['userid'], v['tokenid']
        if not TOKEN_NAME.fullmatch(tokenid):
            # fakepve does not read the schema's Perl-quoted pattern (?^:...); PVE checks it with the parameters.
            raise param_error(tokenid='value does not match the regex pattern')
        data = self._need_user(userid)
        if tokenid in (data.get('tokens') or {}):
            raise param_error(tokenid='Token already exists.')
        info = {'privsep': _bool(v['privsep']) if v.get('privsep') is not None else 1}
        if v.get('expire') is not None:
            info['expire'] = int(v['expire'])
        if v.get('comment'):
            info['comment'] = v['comment']
        data.setdefault('tokens', {})[tokenid] = info
        full = '{0}!{1}'.format(userid, tokenid)
        secret = str(uuid.uuid4())
        self.apitokens[full] = secret
        return {'info': dict(info), 'value': secret, 'full-tokenid': full}

    async def _ac_token_update(self, v, user):
        """User.pm update_token_info: privsep, expire, comment ('' or delete=comment drops it), regenerate."""
        userid, tokenid = v['userid'], v['tokenid']
        info = copy.deepcopy(self._need_token(userid, tokenid))
        for key in split_list(v.get('delete')):
            if key != 'comment':
                raise param_error(delete="unknown option '{0}'".format(key))
        if v.get('privsep') is not None:
            info['privsep'] = _bool(v['privsep'])
        if v.get('expire') is not None:
            info['expire'] = int(v['expire'])
        if v.get('comment') is not None:
            info['comment'] = v['comment']
        if not info.get('comment') or 'comment' in split_list(v.get('delete')):
            info.pop('comment', None)
        info.setdefault('expire', 0)  # as user.cfg reads it back
        self.user_cfg['users'][userid]['tokens'][tokenid] = info
        result = dict(info)
        if v.get('regenerate') and _bool(v['regenerate']):
            full = '{0}!{1}'.format(userid, tokenid)
            self.apitokens[full] = str(uuid.uuid4())
            result.update({'value': self.apitokens[full], 'full-tokenid': full})
        return result

    async def _ac_token_delete(self, v, user):
        userid, tokenid = v['userid'], v['tokenid']
        self._need_token(userid, tokenid)
        full = '{0}!{1}'.format(userid, tokenid)
        del self.user_cfg['users'][userid]['tokens'][tokenid]
        self.apitokens.pop(full, None)
        # The token's ACL entries stay in user.cfg, but PVE drops them when it reads the file back.
        self._drop_acl(lambda key: key == ('token', full))

    # ------------------------------------------------------------------ groups

    def _group_visible(self, user, group):
        return not self._modelled(user) or any(self.allowed(user, '/access/groups/' + group, p)
                                               for p in ('User.Modify', 'Sys.Audit', 'Group.Allocate'))

    async def _ac_groups(self, v, user):
        out = []
        for group, data in sorted(self.user_cfg['groups'].items()):
            if not self._group_visible(user, group):
                continue
            entry = {'groupid': group, 'users': ','.join(sorted(data['users']))}
            if data.get('comment'):
                entry['comment'] = data['comment']
            out.append(entry)
        return out

    def _need_group(self, group, fail=''):
        data = self.user_cfg['groups'].get(group)
        if data is None:
            raise die("{0}group '{1}' does not exist".format(fail, group))
        return data

    async def _ac_group_read(self, v, user):
        data = self._need_group(v['groupid'])
        out = {'members': sorted(data['users'])}
        if data.get('comment'):
            out['comment'] = data['comment']
        return out

    async def _ac_group_create(self, v, user):
        if v['groupid'] in self.user_cfg['groups']:
            raise die("create group failed: group '{0}' already exists".format(v['groupid']))
        self.user_cfg['groups'][v['groupid']] = {'comment': v.get('comment') or None, 'users': set()}

    async def _ac_group_update(self, v, user):
        data = self._need_group(v['groupid'], 'update group failed: ')
        if v.get('comment') is not None:
            data['comment'] = v['comment'] or None

    async def _ac_group_delete(self, v, user):
        self._need_group(v['groupid'], 'delete group failed: ')
        del self.user_cfg['groups'][v['groupid']]
        self._drop_acl(lambda key: key == ('group', v['groupid']))

    # ------------------------------------------------------------------- roles

    def _role(self, role):
        if role in SPECIAL_ROLES:
            return SPECIAL_ROLES[role]
        return self.user_cfg['roles'].get(role)

    async def _ac_roles(self, v, user):
        names = sorted(set(SPECIAL_ROLES) | set(self.user_cfg['roles']))
        return [{'roleid': r, 'privs': ','.join(sorted(self._role(r))), 'special': 1 if r in SPECIAL_ROLES else 0}
                for r in names]

    async def _ac_role_read(self, v, user):
        privs = self._role(v['roleid'])
        if privs is None:
            raise die("role '{0}' does not exist".format(v['roleid']))
        return dict.fromkeys(sorted(privs), 1)

    @staticmethod
    def _check_privs(privs):
        """The pve-priv format (AccessControl.pm verify_privname), checked with the parameters: a 400."""
        for priv in split_list(privs):
            if priv not in VALID_PRIVS:
                raise param_error(privs="invalid privilege '{0}'".format(priv))
        return set(split_list(privs))

    async def _ac_role_create(self, v, user):
        role = v['roleid']
        privs = self._check_privs(v.get('privs'))
        if role.lower().startswith('pve'):
            raise param_error(roleid="cannot use role ID starting with the (case-insensitive) 'PVE' namespace")
        if self._role(role) is not None:
            raise die("create role failed: role '{0}' already exists".format(role))
        self.user_cfg['roles'][role] = privs

    async def _ac_role_update(self, v, user):
        role = v['roleid']
        privs = self._check_privs(v.get('privs'))
        if role in SPECIAL_ROLES:
            raise die("auto-generated role '{0}' cannot be modified".format(role))
        if role not in self.user_cfg['roles']:
            raise die("update role failed: role '{0}' does not exist".format(role))
        if v.get('append') and _bool(v['append']):
            self.user_cfg['roles'][role] |= privs
        else:
            self.user_cfg['roles'][role] = privs

    async def _ac_role_delete(self, v, user):
        role = v['roleid']
        if role in SPECIAL_ROLES:
            raise die("auto-generated role '{0}' cannot be deleted".format(role))
        if role not in self.user_cfg['roles']:
            raise die("delete role failed: role '{0}' does not exist".format(role))
        del self.user_cfg['roles'][role]
        # The ACL lines naming it stay in user.cfg; PVE ignores them when it reads the file ('invalid acl role').
        for node in self.user_cfg['acl'].values():
            for roles in node.values():
                roles.pop(role, None)
        self._drop_acl(lambda key: False)

    # --------------------------------------------------------------------- ACL

    def _may_modify(self, user, path):
        """RPCEnvironment.pm check_perm_modify: Permissions.Modify, or the object's allocate privilege."""
        privs = ['Permissions.Modify']
        if path.startswith('/storage/'):
            privs.append('Datastore.Allocate')
        elif path.startswith('/vms/'):
            privs.append('VM.Allocate')
        elif path.startswith('/pool/'):
            privs.append('Pool.Allocate')
        return any(self.allowed(user, path, p) for p in privs)

    async def _ac_acl(self, v, user):
        """ACL.pm read_acl: the tree in path order, where the caller may audit /access or modify the path."""
        audit = not self._modelled(user) or self.allowed(user, '/access', 'Sys.Audit')
        out = []
        for path in sorted(self.user_cfg['acl'], key=lambda p: [s for s in p.split('/') if s]):
            if not (audit or self._may_modify(user, path)):
                continue
            node = self.user_cfg['acl'][path]
            for kind in KINDS:
                for (k, ugid), roles in sorted(node.items()):
                    if k != kind:
                        continue
                    for role, prop in sorted(roles.items()):
                        out.append({'path': path, 'type': kind, 'ugid': ugid, 'roleid': role, 'propagate': prop})
        return out

    async def _ac_acl_update(self, v, user):
        """ACL.pm update_acl: every role for every user, group and token given, with one propagate flag."""
        if not (v.get('users') or v.get('groups') or v.get('tokens')):
            raise param_error(**dict.fromkeys(('users', 'groups', 'tokens'),
                                              "either 'users', 'groups' or 'tokens' is required."))
        path = normalize_path(v['path'])
        if path is None or (not v.get('delete') and not ACL_PATH.match(path)):
            raise param_error(path="invalid ACL path '{0}'".format(v['path']))
        delete = v.get('delete') is not None and _bool(v['delete'])
        propagate = _bool(v['propagate']) if v.get('propagate') is not None else 1
        acl = copy.deepcopy(self.user_cfg['acl'])
        node = acl.setdefault(path, {})
        mine = self._permissions_of(user, path) if self._modelled(user) else None
        try:
            for role in split_list(v['roles']):
                if self._role(role) is None:
                    raise die("role '{0}' does not exist".format(role))
                if mine is not None and 'Permissions.Modify' not in mine:
                    verb = 'remove' if delete else 'add'
                    for priv in self._role(role):
                        if priv not in mine:
                            raise param_error(role="Cannot {0} role '{1}' - requires 'Permissions.Modify' or "
                                                   "superset of privileges.".format(verb, role))
                        if propagate and mine[priv] != propagate and not delete:
                            raise param_error(role="Cannot {0} role '{1}' with propagation - requires "
                                                   "'Permissions.Modify' or propagated superset of privileges."
                                              .format(verb, role))
                    if role == 'NoAccess':
                        raise param_error(role="Cannot {0} role '{1}' - requires 'Permissions.Modify'".format(
                            verb, role))
                keys = []
                for group in split_list(v.get('groups')):
                    if group not in self.user_cfg['groups']:
                        raise die("group '{0}' does not exist".format(group))
                    keys.append(('group', group))
                for userid in split_list(v.get('users')):
                    if userid not in self.user_cfg['users']:
                        raise die("user '{0}' does not exist".format(userid))
                    keys.append(('user', userid))
                for full in split_list(v.get('tokens')):
                    found = TOKEN_RE.match(full)
                    if not found:
                        raise die("'{0}' is not a valid token ID - not able to split into user and token "
                                  "parts".format(full))
                    self._need_token(found.group(1), found.group(2))
                    keys.append(('token', full))
                for key in keys:
                    if delete:
                        node.get(key, {}).pop(role, None)
                    else:
                        node.setdefault(key, {})[role] = propagate
        except PveError as exc:
            if exc.status == 400:
                raise
            raise die('ACL update failed: ' + exc.message) from exc
        for key in [k for k, roles in node.items() if not roles]:
            del node[key]
        if not node:
            del acl[path]
        self.user_cfg['acl'] = acl

    async def _permissions(self, v, user):
        """GET /access/permissions for a principal of user.cfg: what permissions() gives on every path its
        ACLs (and its user's and groups') name, and on /."""
        who = v.get('userid') or user
        if not self._modelled(who):
            return await super()._permissions(v, user)
        paths = {'/'} | set(self.user_cfg['acl']) | {'/pool/' + p for p in self.pools}
        if v.get('path') is not None:
            paths = {normalize_path(v['path']) or v['path']}
        out = {}
        for path in sorted(paths):
            privs = self._permissions_of(who, path)
            if privs:
                out[path] = dict(sorted(privs.items()))
        return out

    # ---------------------------------------------------------- what else cleans up

    async def _pool_delete(self, v, user):
        """pve-manager Pool.pm delete_pool also drops the pool's ACLs (AccessControl.pm delete_pool_acl)."""
        result = await super()._pool_delete(v, user)
        prefix = '/pool/' + v['poolid']
        for path in [p for p in self.user_cfg['acl'] if p == prefix or p.startswith(prefix + '/')]:
            del self.user_cfg['acl'][path]
        return result


__all__ = ['AccessControl', 'SPECIAL_ROLES', 'VALID_PRIVS', 'normalize_path']
