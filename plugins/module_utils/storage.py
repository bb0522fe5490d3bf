# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""Cluster storage definitions (storage.cfg): desired spec -> current config -> plan -> apply.

What each storage type accepts follows pve-storage's plugins (``options()`` and ``plugindata()``
of DirPlugin, NFSPlugin, LVMPlugin, LvmThinPlugin, ISCSIPlugin): which options it takes,
which PVE fixes at creation, which content types it can hold and which it holds by default.
PVE rewrites what it is sent (content as a comma list, booleans as 1/0, ``shared`` implied
for NFS and iSCSI, missing ``content`` filled with the type's default), so both sides are
brought to one spelling (sets, booleans, integer retention counts) before they are compared,
and only the options the user set are compared.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.plan import Plan, Step
from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView
from ansible_collections.pve.fleet.plugins.module_utils.propstr import to_bool
from ansible_collections.pve.fleet.plugins.module_utils.prune import (
    format_prune, normalize_prune, prune_from_option, prune_to_option)

# pve-storage-id (PVE::JSONSchema::parse_storage_id).
STORAGE_ID = re.compile(r'^[a-z][a-z0-9._-]*[a-z0-9]$', re.I)
_FILE_CONTENT = ('images', 'rootdir', 'vztmpl', 'iso', 'backup', 'snippets', 'import')


class StorageType:
    """One storage type: its options (PVE names), which are required and fixed at creation, its content types.

    ``implied_shared``: PVE treats the type as shared by itself (``@SHARED_STORAGE``); it has no ``shared`` option.
    """

    def __init__(self, name, required, fixed, optional, content, default_content, implied_shared=False):
        self.name = name
        self.required = tuple(required)
        self.fixed = tuple(fixed)
        self.options = tuple(required) + tuple(o for o in fixed if o not in required) + tuple(optional)
        self.content = tuple(content)
        self.default_content = frozenset(default_content)
        self.implied_shared = implied_shared


COMMON = ('content', 'nodes', 'disable')

TYPES = dict((t.name, t) for t in (
    StorageType('dir', ('path',), ('path',), COMMON + ('shared', 'prune-backups'), _FILE_CONTENT + ('none',),
                ('images', 'rootdir')),
    StorageType('nfs', ('server', 'export'), ('server', 'export', 'path'), COMMON + ('prune-backups',), _FILE_CONTENT,
                ('images',), implied_shared=True),
    StorageType('lvm', ('vgname',), ('vgname',), COMMON + ('shared',), ('images', 'rootdir'), ('images',)),
    StorageType('lvmthin', ('vgname', 'thinpool'), ('vgname', 'thinpool'), COMMON, ('images', 'rootdir'),
                ('images', 'rootdir')),
    StorageType('iscsi', ('portal', 'target'), ('portal', 'target'), COMMON, ('images', 'none'), ('images',),
                implied_shared=True),
))

# The module's option names (Ansible spells with _) -> PVE's property names.
OPTION_KEYS = (('path', 'path'), ('server', 'server'), ('export', 'export'), ('vgname', 'vgname'),
               ('thinpool', 'thinpool'), ('portal', 'portal'), ('target', 'target'), ('content', 'content'),
               ('nodes', 'nodes'), ('shared', 'shared'), ('prune_backups', 'prune-backups'), ('disable', 'disable'))
PVE_TO_OPTION = dict((pve, opt) for opt, pve in OPTION_KEYS)
# The order options appear in diffs and the changes list.
ORDER = [pve for _opt, pve in OPTION_KEYS]


def split_list(value):
    """PVE's list spelling (``a,b``, ``a;b``, spaces) or a list, as a set of non-empty strings."""
    if value is None:
        return frozenset()
    if isinstance(value, (list, tuple, set, frozenset)):
        items = value
    else:
        items = re.split(r'[,;\s]+', str(value))
    return frozenset(str(item).strip() for item in items if str(item).strip())


def normalize_path(value):
    text = str(value)
    return text.rstrip('/') or '/'


class StorageSpec:
    """What the user asked for: the storage id, its type (None: keep the existing one) and the options set."""

    def __init__(self, name, storage_type, options):
        self.name = name
        self.type = storage_type
        self.options = options  # PVE key -> normalized value; None means "remove" (prune-backups)

    @classmethod
    def from_params(cls, params):
        if not STORAGE_ID.match(params['name']):
            raise PveError('name: {0!r} is not a storage id (a letter, then letters, digits, -, _ or ., ending in a '
                           'letter or digit)'.format(params['name']))
        options = {}
        for opt, pve in OPTION_KEYS:
            value = params.get(opt)
            if value is None:
                continue
            if opt in ('path', 'export'):
                if not str(value).startswith('/'):  # PVE's pve-storage-path format: an absolute path
                    raise PveError('{0}: {1!r} is not an absolute path (e.g. /srv/backup)'.format(opt, value))
                value = normalize_path(value)
            elif opt in ('content', 'nodes'):
                value = split_list(value)
            elif opt in ('shared', 'disable'):
                value = bool(value)
            elif opt == 'prune_backups':
                value = prune_from_option(value, 'prune_backups')
            options[pve] = value
        return cls(params['name'], params.get('type'), options)


def check_options(spec, kind, creating):
    """Each option the user set must belong to the type; content must be one the type holds."""
    stype = TYPES[kind]
    for key in list(spec.options):
        value = spec.options[key]
        option = PVE_TO_OPTION[key]
        if key == 'shared' and stype.implied_shared:
            if value:
                spec.options.pop(key)  # PVE treats the type as shared by itself: nothing to set
                continue
            raise PveError('shared: a {0} storage is always shared in PVE; shared=false is not possible'.format(kind))
        if key not in stype.options:
            raise PveError('{0}: not an option of storage type {1} (it takes: {2})'.format(
                option, kind, ', '.join(PVE_TO_OPTION[o] for o in stype.options)))
    if 'content' in spec.options:
        content = spec.options['content'] or frozenset(['none'])
        wrong = sorted(content - frozenset(stype.content))
        if wrong:
            raise PveError('content: storage type {0} cannot hold {1} (it holds: {2})'.format(
                kind, ', '.join(wrong), ', '.join(stype.content)))
        if 'none' in content and len(content) > 1:
            raise PveError("content: 'none' cannot be combined with other content types")
        spec.options['content'] = content
    if creating:
        missing = [PVE_TO_OPTION[k] for k in stype.required if k not in spec.options]
        if missing:
            raise PveError('{0}: required to create a storage of type {1}'.format(', '.join(missing), kind))


def current_options(config, kind):
    """PVE's config of a storage in the spelling of StorageSpec.options."""
    stype = TYPES.get(kind)
    out = {}
    for key in ORDER:
        value = config.get(key)
        if key in ('content',):
            out[key] = split_list(value) if value not in (None, '') else (stype.default_content if stype else frozenset())
        elif key == 'nodes':
            out[key] = split_list(value)
        elif key in ('shared', 'disable'):
            out[key] = bool(to_bool(value)) if value is not None else False
        elif key == 'prune-backups':
            out[key] = normalize_prune(value) if value not in (None, '') else None
        elif value is not None:
            out[key] = normalize_path(value) if key in ('path', 'export') else str(value)
    if stype is not None and stype.implied_shared:
        out['shared'] = True
    return out


def plain(key, value):
    """A value in the module's spelling, for diffs and results: sorted lists, booleans, the retention dict."""
    if isinstance(value, frozenset):
        return sorted(value)
    if key == 'prune-backups':
        return prune_to_option(value)
    return value


def to_api(key, value):
    """A value as PVE wants it sent."""
    if isinstance(value, frozenset):
        return ','.join(sorted(value))
    if isinstance(value, bool):
        return 1 if value else 0
    if key == 'prune-backups':
        return format_prune(value)
    return value


class StoragePlan(Plan):
    """What to do with one storage: ``action`` is create, update, remove or None; ``options`` holds
    key -> (before, after) in StorageSpec's spelling, which apply sends."""

    def __init__(self, name, kind, action, options, current=None):
        super(StoragePlan, self).__init__('storage {0}'.format(name))
        self.name = name
        self.type = kind
        self.action = action
        self.options = options
        self.current = current
        if action == 'create':
            self.add(Step('create', text='create {0} storage {1}'.format(kind, name)), after={'type': kind})
        elif action == 'remove':
            # PVE drops the definition only; the data stays where it is.
            self.add(Step('remove', text='remove storage {0} (its data is left in place)'.format(name)),
                     before={'type': kind})
        for key in ORDER:
            if key not in options:
                continue
            before, after = (plain(key, v) for v in options[key])
            option = PVE_TO_OPTION[key]
            shown_before = {option: before} if before is not None else {}
            shown_after = {option: after} if after is not None else {}
            if action == 'remove':
                self.before.update(shown_before)
            elif after is None or after is False or after == []:
                self.add(Step('delete', option, before), before=shown_before)
            else:
                self.add(Step('set', option, before, after), before=shown_before, after=shown_after)


def find_storage(client, name):
    """The storage's config from GET /storage (one request), or None."""
    for config in client.get('storage') or []:
        if config.get('storage') == name:
            return config
    return None


def read_current(client, spec):
    """What planning needs, in as few requests as it can: the storage's config (None if it does not
    exist) and, only when the task names nodes, the cluster to check them against."""
    cluster = ClusterView.read(client) if spec.options.get('nodes') else None
    return find_storage(client, spec.name), cluster


def check_nodes(cluster, spec):
    for node in sorted(spec.options.get('nodes') or ()):
        cluster.require_node(node, option='nodes')


def plan_storage(spec, state, config, cluster=None):
    """The plan for one storage (pure: no request) from its config as read (None: it does not exist)."""
    if state == 'absent':
        return _plan_absent(spec, config)
    return _plan_present(spec, config, cluster)


def _plan_present(spec, config, cluster):
    if config is None:
        if spec.type is None:
            raise PveError('type: storage {0!r} does not exist, and creating it needs its type'.format(spec.name))
        check_options(spec, spec.type, creating=True)
        check_nodes(cluster, spec)
        changes = dict((k, (None, v)) for k, v in spec.options.items() if v is not None and v != frozenset())
        return StoragePlan(spec.name, spec.type, 'create', changes)
    kind = config.get('type')
    if spec.type is not None and spec.type != kind:
        raise PveError('type: storage {0!r} is of type {1}, not {2}; PVE cannot change the type of a storage: '
                       'remove it (state=absent) and define it again'.format(spec.name, kind, spec.type))
    if kind not in TYPES:
        raise PveError('type: storage {0!r} is of type {1}, which this module does not manage (it manages {2})'.format(
            spec.name, kind, ', '.join(sorted(TYPES))))
    check_options(spec, kind, creating=False)
    check_nodes(cluster, spec)
    current = current_options(config, kind)
    changes = {}
    for key, wanted in spec.options.items():
        have = current.get(key)
        if wanted == have:
            continue
        if key in TYPES[kind].fixed:
            raise PveError('{0}: PVE fixes it when the storage is created; storage {1!r} has {0} {2!r}, so it cannot '
                           'become {3!r}: remove the storage (state=absent) and define it again'.format(
                               PVE_TO_OPTION[key], spec.name, have, wanted))
        changes[key] = (have, wanted)
    return StoragePlan(spec.name, kind, 'update' if changes else None, changes, config)


def _plan_absent(spec, config):
    if config is None:
        return StoragePlan(spec.name, spec.type, None, {})
    kind = config.get('type')
    if spec.type is not None and spec.type != kind:
        raise PveError('type: storage {0!r} is of type {1}, not {2}; nothing removed'.format(spec.name, kind, spec.type))
    current = current_options(config, kind)
    changes = dict((k, (v, None)) for k, v in current.items()
                   if v not in (None, False, frozenset()) and not (k == 'shared' and TYPES.get(kind, None) and
                                                                   TYPES[kind].implied_shared))
    return StoragePlan(spec.name, kind, 'remove', changes, config)


def apply_plan(run, plan):
    """Send the plan's one write: POST /storage, PUT /storage/{id} or DELETE /storage/{id}."""
    client = run.client
    path = 'storage/{0}'.format(plan.name)
    if plan.action == 'create':
        params = dict((k, to_api(k, after)) for k, (_b, after) in plan.options.items())
        params.update(storage=plan.name, type=plan.type)
        client.post('storage', **params)
    elif plan.action == 'update':
        params, delete = {}, []
        for key, (_before, after) in plan.options.items():
            if after is None or after is False or after == frozenset():
                delete.append(key)  # PVE's default: not set (no nodes restriction, not disabled, ...)
            else:
                params[key] = to_api(key, after)
        if delete:
            params['delete'] = ','.join(sorted(delete))
        params['digest'] = (plan.current or {}).get('digest')
        client.put(path, **params)
    elif plan.action == 'remove':
        client.delete(path)


def public_config(config):
    """PVE's config of a storage without the digest, for results."""
    if config is None:
        return None
    return dict((k, v) for k, v in config.items() if k != 'digest')
