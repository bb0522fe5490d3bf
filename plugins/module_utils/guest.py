# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""The guest engine shared by vm and ct: desired spec -> current config -> plan -> apply.

It takes an open client and an already-read ClusterView, so one process can converge many
guests with one ``cluster/resources`` request. Reading a guest costs one request
(``/pending`` holds the config and what waits for a reboot). Check mode stops after the
plan; the plan is also the diff and the ``changes`` a person reads.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pve.fleet.plugins.module_utils import propstr
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView, split_tags
from ansible_collections.pve.fleet.plugins.module_utils.devices import DiskValue, PropValue
from ansible_collections.pve.fleet.plugins.module_utils.tasks import wait_for_task

VMID_MIN, VMID_MAX = 100, 999999999
DNS_NAME = re.compile(r'^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9\-]{0,61}'
                      r'[A-Za-z0-9])?)*$')
HIDDEN = '(hidden)'
CREATE_ATTEMPTS = 5


class Profile:
    """What differs between a VM and a container for the engine."""

    def __init__(self, guest_type, noun, name_key, async_config, disk_content, secret_keys=(), text_keys=(),
                 bool_keys=()):
        self.type = guest_type
        # The storage content type of the guest's volumes: images for VMs, rootdir for containers.
        self.volume_content = disk_content
        self.noun = noun
        self.name_key = name_key
        # qemu's POST .../config runs as a task (disk allocation can take long); lxc has only PUT.
        self.async_config = async_config
        self.secret_keys = frozenset(secret_keys)
        self.text_keys = frozenset(text_keys)
        self.bool_keys = frozenset(bool_keys)


class Spec:
    """What the user asked for, already validated and in PVE's terms."""

    def __init__(self, vmid=None, name=None, node=None, state='present', config=None, remove=(), purge=False,
                 force=False, clone=None, full=True, target_storage=None, restart_for_pending=False, pool=None,
                 create_only=None):
        self.vmid = vmid
        self.name = name
        self.node = node
        self.state = state
        self.config = config or {}
        self.remove = list(remove)
        self.purge = purge
        self.force = force
        self.clone = clone
        self.full = full
        self.target_storage = target_storage
        self.restart_for_pending = restart_for_pending
        self.pool = pool
        # Keys written when the guest is made and never compared after (a password PVE keeps hashed).
        self.create_only = create_only or {}


# The options vm and ct share; each adds its own (module_utils/qemu.py, lxc.py).
GUEST_ARGUMENT_SPEC = dict(
    vmid=dict(type='int'),
    node=dict(type='str'),
    state=dict(type='str', default='present', choices=['present', 'absent', 'started', 'stopped', 'restarted',
                                                       'template']),
    pool=dict(type='str'),
    tags=dict(type='list', elements='str'),
    nets=dict(type='dict'),
    config=dict(type='dict'),
    clone=dict(type='str'),
    full=dict(type='bool', default=True),
    target_storage=dict(type='str'),
    force=dict(type='bool', default=False),
    purge=dict(type='bool', default=False),
    restart_for_pending=dict(type='bool', default=False),
)


def pve_value(value):
    """A module value as PVE spells it: booleans are 1 and 0."""
    return ('1' if value else '0') if isinstance(value, bool) else value


def plain_settings(params, settings):
    """The config keys of the options that map one to one (``{option: (key, spec)}``) and were given."""
    config = dict((key, pve_value(params[option])) for option, (key, _spec) in settings.items()
                  if params[option] is not None)
    if params['tags'] is not None:
        config['tags'] = params['tags']
    return config


def add_raw_config(config, raw):
    """The ``config:`` escape hatch: any other key, once."""
    for key, value in (raw or {}).items():
        if key in config:
            raise PveError('config: {0!r} is also set by its own option; set it once'.format(key))
        config[key] = pve_value(value)


def spec_from(params, name, config, remove, create_only):
    """The engine's Spec from the shared options and what the guest type built."""
    return Spec(vmid=params['vmid'], name=name, node=params['node'], state=params['state'], config=config,
                remove=remove, purge=params['purge'], force=params['force'], clone=params['clone'],
                full=params['full'], target_storage=params['target_storage'],
                restart_for_pending=params['restart_for_pending'], pool=params['pool'], create_only=create_only)


class Change:
    """One line of the plan: a key set, removed or grown, or an action on the guest."""

    def __init__(self, action, key=None, before=None, after=None, note=None):
        self.action = action
        self.key = key
        self.before = before
        self.after = after
        self.note = note

    def describe(self):
        if self.action == 'set':
            if self.before is None:
                return 'add {0}: {1}'.format(self.key, self.after)
            return 'set {0}: {1} -> {2}'.format(self.key, self.before, self.after)
        if self.action == 'delete':
            return 'remove {0} ({1}){2}'.format(self.key, self.before, ', ' + self.note if self.note else '')
        if self.action == 'resize':
            return 'grow {0}: {1} -> {2}'.format(self.key, self.before, self.after)
        return self.note


def check_vmid(vmid, option='vmid'):
    if vmid is not None and not VMID_MIN <= int(vmid) <= VMID_MAX:
        raise PveError('{0}: {1} is outside {2}-{3}'.format(option, vmid, VMID_MIN, VMID_MAX))


def check_dns_name(name, option='name'):
    if name is not None and not DNS_NAME.match(name):
        raise PveError('{0}: {1!r} is not a valid DNS name (letters, digits and hyphens, dot-separated labels of '
                       'at most 63 characters, not starting or ending with a hyphen)'.format(option, name))


def _yaml_scalar(value):
    text = str(value)
    if text == '' or re.search(r'[:#\[\]{}&*!|>\'"%@`,]|^\s|\s$|^[-?]', text) or text.lower() in (
            'yes', 'no', 'true', 'false', 'null', 'on', 'off', '~'):
        return "'{0}'".format(text.replace("'", "''"))
    return text


def yaml_text(data):
    """A flat dict as block YAML a person can read in --diff output."""
    lines = []
    for key in sorted(data):
        value = data[key]
        if isinstance(value, str) and '\n' in value.strip():
            lines.append('{0}: |\n{1}'.format(key, '\n'.join('  ' + line for line in value.strip().split('\n'))))
        else:
            lines.append('{0}: {1}'.format(key, _yaml_scalar(value)))
    return '\n'.join(lines) + ('\n' if lines else '')


class GuestEngine:
    """Converges one guest at a time against a cluster view read once."""

    def __init__(self, client, cluster, profile, timeout, check_mode=False):
        self.client = client
        self.cluster = cluster
        self.profile = profile
        self.timeout = timeout
        self.check_mode = check_mode
        self._bridges = {}
        # Hooks of a guest type: prepare_create(spec, node, record_task) before a create, check_existing(spec, config).
        self.prepare_create = None
        self.check_existing = None

    # ------------------------------------------------------------ reading

    def path(self, node, vmid, tail=''):
        return 'nodes/{0}/{1}/{2}{3}'.format(node, self.profile.type, vmid, tail)

    def locate(self, spec):
        """The existing guest the spec names, or None; a vmid of the other guest type is an error."""
        guest = None
        if spec.vmid is not None:
            guest = self.cluster.find_guest(vmid=spec.vmid)
        elif spec.name is not None:
            guest = self.cluster.find_guest(name=spec.name, guest_type=self.profile.type)
        if guest is not None and guest['type'] != self.profile.type:
            raise PveError('vmid: {0} is a {1}, not a {2}'.format(
                guest['vmid'], 'container' if guest['type'] == 'lxc' else 'VM', self.profile.noun))
        return guest

    def read(self, guest):
        """(config, pending) of a guest from one /pending request; pending None means a pending delete."""
        config, pending = {}, {}
        for item in self.client.get(self.path(guest['node'], guest['vmid'], '/pending')) or []:
            if 'value' in item:
                config[item['key']] = item['value']
            if item.get('delete'):
                pending[item['key']] = None
            elif 'pending' in item:
                pending[item['key']] = item['pending']
        return config, pending

    # ------------------------------------------------------------ comparing

    def matches(self, key, want, have):
        """Whether the value PVE holds already is what the user asked for, after normalization."""
        if isinstance(want, PropValue):
            return want.matches(have)
        if have is None:
            return False
        if key == 'tags':
            return split_tags(want) == split_tags(have)
        if key in self.profile.text_keys:
            return str(want).rstrip('\n') == str(have).rstrip('\n')
        if key == 'sshkeys':
            return propstr.decode_sshkeys(want).strip() == propstr.decode_sshkeys(have).strip()
        if key in self.profile.bool_keys:
            return propstr.to_bool(want) == propstr.to_bool(have)
        fmt = propstr.format_of(self.profile.type, key)
        if fmt is not None:
            return PropValue.from_user(key, want, fmt, key).matches(have)
        return str(want) == str(have)

    def shown(self, key, value):
        """A value as results and diffs show it: secrets hidden, sshkeys decoded."""
        if value is None:
            return None
        if key in self.profile.secret_keys:
            return HIDDEN
        if key == 'sshkeys':
            return propstr.decode_sshkeys(value)
        return value

    def wire(self, key, value, current):
        """The value to send for a key."""
        if isinstance(value, PropValue):
            return value.render(current)
        if key == 'sshkeys':
            return propstr.encode_sshkeys(propstr.decode_sshkeys(value))
        if key == 'tags':
            return ';'.join(split_tags(value))
        if key in self.profile.bool_keys:
            return '1' if propstr.to_bool(value) else '0'
        fmt = propstr.format_of(self.profile.type, key)
        if fmt is not None:
            return PropValue.from_user(key, value, fmt, key).render(current)
        return str(value)

    def config_changes(self, spec, config, pending):
        """The plan for an existing guest's config: what to set, grow and remove."""
        changes = []
        for key in sorted(spec.config):
            want = spec.config[key]
            effective = pending[key] if key in pending else config.get(key)
            if isinstance(want, DiskValue) and effective is not None:
                want.check_against(effective)
                if want.grows(effective):
                    changes.append(Change('resize', key, propstr.format_size(want.current_size(effective)),
                                          propstr.format_size(want.size)))
                if want.volume_matches(effective) and want.options_match(effective):
                    continue
            elif self.matches(key, want, effective):
                continue
            after = self.wire(key, want, effective)
            changes.append(Change('set', key, self.shown(key, effective), self.shown(key, after)))
            changes[-1].wire = after
        for key in spec.remove:
            if key in config and pending.get(key, '') is not None:
                note = 'its volume destroyed' if spec.purge and self._is_disk(key, config[key]) else None
                if note is None and self._is_disk(key, config[key]):
                    note = 'kept as an unused disk'
                changes.append(Change('delete', key, self.shown(key, config[key]), None, note))
        return changes

    def _is_disk(self, key, value):
        fmt = propstr.format_of(self.profile.type, key)
        return fmt is not None and 'size' in fmt.sizes and 'media=cdrom' not in str(value)

    # ------------------------------------------------------------ validating

    def check_storage(self, storage, node, content, option):
        """The storage exists on the node and holds this kind of content."""
        if storage is None:
            return
        per_node = self.cluster.storages.get(storage)
        if not per_node:
            raise PveError('{0}: storage {1!r} does not exist (storages: {2})'.format(
                option, storage, ', '.join(sorted(self.cluster.storages)) or 'none'))
        entry = per_node.get(node)
        if entry is None:
            raise PveError('{0}: storage {1!r} is not available on node {2}'.format(option, storage, node))
        if content not in str(entry.get('content', '')).split(','):
            raise PveError('{0}: storage {1!r} does not hold {2} (its content: {3})'.format(
                option, storage, content, entry.get('content')))

    def bridges(self, node):
        if node not in self._bridges:
            nets = self.client.get('nodes/{0}/network'.format(node), type='any_bridge') or []
            self._bridges[node] = set(n['iface'] for n in nets)
        return self._bridges[node]

    def check_devices(self, spec, node, changed_keys):
        """Storages and bridges of the devices about to be written exist on the node."""
        for key in changed_keys:
            want = spec.config.get(key)
            if isinstance(want, DiskValue):
                content = 'iso' if want.props.get('media') == 'cdrom' else self.profile.volume_content
                if want.volume not in (None, 'none') or want.storage:
                    self.check_storage(want.storage, node, content, want.option)
            elif isinstance(want, PropValue) and 'bridge' in want.props:
                if want.props['bridge'] not in self.bridges(node):
                    raise PveError('{0}: bridge {1!r} does not exist on node {2} (bridges: {3})'.format(
                        want.option, want.props['bridge'], node, ', '.join(sorted(self.bridges(node))) or 'none'))

    # ------------------------------------------------------------ placing

    def default_node(self):
        """The online node with the most free memory."""
        online = [(r.get('maxmem', 0) - r.get('mem', 0), n) for n, r in self.cluster.nodes.items()
                  if r.get('status') == 'online']
        if not online:
            raise PveError('node: no node of the cluster is online')
        return sorted(online, key=lambda item: (-item[0], item[1]))[0][1]

    # ------------------------------------------------------------ the whole run

    def converge(self, spec):
        guest = self.locate(spec)
        if spec.state == 'absent':
            return self._remove(spec, guest)
        result = dict(changed=False, changes=[], tasks=[])
        if guest is None:
            guest, config, pending, before = self._create(spec, result)
        else:
            config, pending = self.read(guest)
            before = dict(config)
            if self.check_existing:
                self.check_existing(spec, config)
            if spec.node and spec.node != guest['node']:
                result['warnings'] = ['{0} {1} is on {2}, not on {3}; it is not moved (pve.fleet.migrate moves '
                                      'guests)'.format(self.profile.noun, guest['vmid'], guest['node'], spec.node)]
            self._update(spec, guest, config, pending, result)
        self._power(spec, guest, pending, result)
        if result['changed'] and not self.check_mode and guest.get('vmid') is not None:
            config, pending = self.read(guest)
            guest.update(self._status(guest))
        result.update(vmid=guest['vmid'], node=guest['node'], name=guest.get('name'), status=guest.get('status'),
                      config=self._public(config), pending=self._public(pending),
                      reboot_required=bool(pending) and guest.get('status') == 'running')
        result['diff'] = self._diff(before, result)
        return result

    def _public(self, config):
        return dict((k, self.shown(k, v)) for k, v in config.items() if k != 'digest')

    def _diff(self, before, result):
        keys = [c for c in result['changes_made'] if c.key] if 'changes_made' in result else []
        old = dict((c.key, c.before) for c in keys if c.before is not None)
        new = dict((c.key, c.after) for c in keys if c.after is not None)
        made = [c for c in result.get('changes_made', []) if c.action in ('create', 'clone')]
        for change in result.get('changes_made', []):
            if change.action == 'power':
                old['status'], new['status'] = change.before, change.after
        if made:
            old, new = {}, dict(new, state='present')
        result.pop('changes_made', None)
        return dict(before=yaml_text(old), after=yaml_text(new),
                    before_header='{0} {1} (before)'.format(self.profile.noun, result['vmid']),
                    after_header='{0} {1} (after)'.format(self.profile.noun, result['vmid']))

    def _record(self, result, changes):
        result.setdefault('changes_made', []).extend(changes)
        result['changes'].extend(c.describe() for c in changes)
        if changes:
            result['changed'] = True

    def _wait(self, upid, result):
        if upid:
            result['tasks'].append(upid)
            wait_for_task(self.client, upid, self.timeout)

    def _status(self, guest):
        status = self.client.get(self.path(guest['node'], guest['vmid'], '/status/current')) or {}
        return dict(status=status.get('status'), name=status.get('name', guest.get('name')))

    # ------------------------------------------------------------ create / update

    def _create(self, spec, result):
        if spec.clone is not None:
            return self._clone(spec, result)
        node = spec.node or self.default_node()
        self.cluster.require_node(node)
        if self.prepare_create:
            self.prepare_create(spec, node, result['tasks'].append)
        self.check_devices(spec, node, list(spec.config))
        params = dict((key, self.wire(key, value, None)) for key, value in spec.config.items())
        params.update(spec.create_only)
        if spec.pool:
            params['pool'] = spec.pool
        name = spec.name or spec.config.get(self.profile.name_key)
        guest = dict(vmid=spec.vmid, node=node, name=name, status='stopped', type=self.profile.type)
        change = Change('create', note='create {0} {1} on {2}'.format(
            self.profile.noun, name or spec.vmid, node), after='present')
        sets = [Change('set', key, None, self.shown(key, params[key])) for key in sorted(params) if key != 'pool']
        self._record(result, [change] + sets)
        if self.check_mode:
            return guest, {}, {}, {}
        path = 'nodes/{0}/{1}'.format(node, self.profile.type)
        guest['vmid'] = self._claim_vmid(spec, name, lambda vmid: self.client.post(path, vmid=vmid, **params), result)
        return guest, {}, {}, {}

    def _claim_vmid(self, spec, name, send, result):
        """Create (or clone) with the given vmid, or the next free one; returns the vmid.

        ``send(vmid)`` makes the request and returns its UPID. A race with another run is re-read,
        not retried blind.
        """
        for _attempt in range(CREATE_ATTEMPTS):
            vmid = spec.vmid if spec.vmid is not None else int(self.client.get('cluster/nextid'))
            try:
                upid = send(vmid)
            except PveError as exc:
                if spec.vmid is None and exc.status == 500 and 'already exists' in exc.message:
                    # Another run took this id first: if it made our guest, say so; else take the next id.
                    self.cluster = ClusterView.read(self.client)
                    twin = self.cluster.find_guests(name=name, guest_type=self.profile.type) if name else []
                    if twin:
                        raise PveError('name: another run created {0!r} (vmid {1}) at the same time; run again to '
                                       'converge it'.format(name, twin[0]['vmid']))
                    continue
                raise
            self._wait(upid, result)
            return vmid
        raise PveError('vmid: no free vmid after {0} attempts (other runs are creating guests)'.format(
            CREATE_ATTEMPTS))

    def _clone(self, spec, result):
        source = self.cluster.find_guest(vmid=spec.clone) if str(spec.clone).isdigit() else \
            self.cluster.find_guest(name=spec.clone, guest_type=self.profile.type)
        if source is None:
            raise PveError('clone: no {0} {1!r} to clone from'.format(self.profile.noun, spec.clone))
        if source['type'] != self.profile.type:
            raise PveError('clone: {0!r} is not a {1}'.format(spec.clone, self.profile.noun))
        if not spec.full and not source['template']:
            raise PveError('clone: a linked clone (full: false) needs a template; {0!r} (vmid {1}) is not one'.format(
                spec.clone, source['vmid']))
        if not spec.full and spec.target_storage:
            raise PveError('target_storage: only a full clone can be placed on another storage')
        node = spec.node or source['node']
        self.cluster.require_node(node)
        if spec.target_storage:
            self.check_storage(spec.target_storage, node, self.profile.volume_content, 'target_storage')
        source_config, _pending = self.read(source)
        for key, want in spec.config.items():
            if isinstance(want, DiskValue) and key in source_config and want.storage and \
                    want.storage != (spec.target_storage or want.current_storage(source_config[key])):
                raise PveError('{0}: storage {1!r} conflicts with the clone of {2} ({3} is on {4})'.format(
                    want.option, want.storage, spec.clone, key, want.current_storage(source_config[key])))
        name = spec.name or spec.config.get(self.profile.name_key)
        self._record(result, [Change('clone', after='present', note='clone {0} {1} ({2}) to {3} on {4} ({5})'.format(
            self.profile.noun, source['name'], source['vmid'], name or spec.vmid, node,
            'full' if spec.full else 'linked'))])
        guest = dict(vmid=spec.vmid, node=node, name=name, status='stopped', type=self.profile.type)
        if self.check_mode:
            # What the clone will hold is the source's config; the rest of the plan compares against it.
            config = dict(source_config)
            self._update(spec, guest, config, {}, result, skip_keys=(self.profile.name_key,))
            return guest, config, {}, {}
        params = dict(full=1 if spec.full else 0, target=node if node != source['node'] else None,
                      storage=spec.target_storage, pool=spec.pool)
        params[self.profile.name_key] = name
        path = self.path(source['node'], source['vmid'], '/clone')
        guest['vmid'] = self._claim_vmid(spec, name, lambda newid: self.client.post(path, newid=newid, **params),
                                         result)
        config, pending = self.read(guest)
        spec.config.update(spec.create_only)
        self._update(spec, guest, config, pending, result, skip_keys=(self.profile.name_key,))
        return guest, config, pending, {}

    def _update(self, spec, guest, config, pending, result, skip_keys=()):
        changes = [c for c in self.config_changes(spec, config, pending) if c.key not in skip_keys]
        if spec.pool and guest.get('pool') != spec.pool and guest.get('vmid') is not None:
            changes.append(Change('pool', note='add to pool {0}'.format(spec.pool)))
        if not changes:
            return
        self.check_devices(spec, guest['node'], [c.key for c in changes if c.action == 'set'])
        self._record(result, changes)
        if self.check_mode:
            return
        sets = dict((c.key, c.wire) for c in changes if c.action == 'set')
        deletes = [c.key for c in changes if c.action == 'delete']
        if sets or deletes:
            self._write_config(guest, sets, deletes, result)
        if spec.purge and deletes:
            self._purge_unused(guest, config, deletes, result)
        for change in changes:
            if change.action == 'resize':
                self._wait(self.client.put(self.path(guest['node'], guest['vmid'], '/resize'), disk=change.key,
                                           size=change.after), result)
            elif change.action == 'pool':
                self.client.put('pools', poolid=spec.pool, vms=str(guest['vmid']), **{'allow-move': 1})

    def _write_config(self, guest, sets, deletes, result):
        params = dict(sets)
        if deletes:
            params['delete'] = ','.join(deletes)
        path = self.path(guest['node'], guest['vmid'], '/config')
        if self.profile.async_config:
            self._wait(self.client.post(path, **params), result)
        else:
            self.client.put(path, **params)

    def _purge_unused(self, guest, old_config, deletes, result):
        """Detached disks become unusedN; with purge, destroy exactly those volumes."""
        gone = set()
        for key in deletes:
            fmt = propstr.format_of(self.profile.type, key)
            if self._is_disk(key, old_config[key]):
                gone.add(propstr.parse(old_config[key], fmt).get(fmt.default_key))
        config, _pending = self.read(guest)
        unused = [k for k, v in config.items() if re.match(r'^unused\d+$', k) and str(v).split(',', 1)[0] in gone]
        if unused:
            self._write_config(guest, {}, unused, result)

    # ------------------------------------------------------------ power and removal

    def _power(self, spec, guest, pending, result):
        status = guest.get('status')
        node, vmid = guest['node'], guest['vmid']
        actions = []
        if spec.state == 'started' and status != 'running':
            actions.append(('start', 'running'))
        elif spec.state == 'stopped' and status == 'running':
            actions.append(('shutdown', 'stopped'))
        elif spec.state == 'restarted':
            actions.append(('reboot' if status == 'running' else 'start', 'running'))
        elif spec.state == 'template':
            if guest.get('template'):
                return
            if status == 'running':
                if not spec.force:
                    raise PveError('state: {0} {1} is running; converting it to a template needs it stopped '
                                   '(set force: true to shut it down)'.format(self.profile.noun, vmid))
                actions.append(('shutdown', 'stopped'))
            actions.append(('template', 'template'))
        elif spec.state in ('present', 'started') and spec.restart_for_pending and pending and status == 'running':
            actions.append(('reboot', 'running'))
        for verb, after in actions:
            note = '{0} {1} {2}'.format(verb, self.profile.noun, guest.get('name') or vmid)
            self._record(result, [Change('power', before=status, after=after, note=note)])
            if self.check_mode:
                continue
            if verb == 'template':
                upid = self.client.post(self.path(node, vmid, '/template'))
            else:
                extra = dict(forceStop=1, timeout=self.timeout) if verb == 'shutdown' else {}
                upid = self.client.post(self.path(node, vmid, '/status/' + verb), **extra)
            self._wait(upid, result)
            status = after if after != 'template' else 'stopped'
        guest['status'] = status

    def _remove(self, spec, guest):
        result = dict(changed=False, changes=[], tasks=[], vmid=spec.vmid, node=None, name=spec.name, status=None,
                      config={}, pending={}, reboot_required=False)
        if guest is None:
            result['diff'] = dict(before='', after='')
            return result
        result.update(vmid=guest['vmid'], node=guest['node'], name=guest['name'])
        config, _pending = self.read(guest)
        running = guest['status'] == 'running'
        if running and not spec.force:
            raise PveError('state: {0} {1} ({2}) is running; removing it needs force: true'.format(
                self.profile.noun, guest['vmid'], guest['name']))
        changes = []
        if running:
            changes.append(Change('power', before='running', after='stopped', note='stop {0} {1}'.format(
                self.profile.noun, guest['name'])))
        changes.append(Change('destroy', note='destroy {0} {1} ({2}) and its disks{3}'.format(
            self.profile.noun, guest['name'], guest['vmid'], ', purged from jobs and HA' if spec.purge else '')))
        self._record(result, changes)
        result.pop('changes_made', None)
        result['diff'] = dict(before=yaml_text(dict(self._public(config), state='present')), after='state: absent\n',
                              before_header='{0} {1}'.format(self.profile.noun, guest['vmid']),
                              after_header='{0} {1}'.format(self.profile.noun, guest['vmid']))
        if self.check_mode:
            return result
        if running:
            self._wait(self.client.post(self.path(guest['node'], guest['vmid'], '/status/stop')), result)
        params = {'purge': 1, 'destroy-unreferenced-disks': 1} if spec.purge else {}
        self._wait(self.client.delete(self.path(guest['node'], guest['vmid']), **params), result)
        result['status'] = 'absent'
        return result
