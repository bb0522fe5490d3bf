# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""The guest engine shared by vm, ct and fleet: spec -> state (read) -> plan (pure) -> apply (writes).

- ``GuestSpec``: what the user asked for, validated, in PVE's terms (qemu.py / lxc.py build it).
- ``read_states``: what planning needs of each guest, one request each (``/pending`` holds the
  config and what waits for a reboot; for a clone, the source's), several at a time.
- ``plan_guest``: pure; create, clone, config set/delete, resize, pool, power and removal, each a
  step of a ``GuestPlan``. The diff, the ``changes`` sentences and the check-mode result are the plan.
  Facts it lacks (bridges, storage content, the next free vmid) it asks for through
  ``cluster.plan_with_facts``.
- ``apply_guest``: the only code that writes; it carries out exactly the plan's steps.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.pve.fleet.plugins.module_utils import propstr
from ansible_collections.pve.fleet.plugins.module_utils.api import backoff
from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView, plan_with_facts
from ansible_collections.pve.fleet.plugins.module_utils.devices import DiskValue, PropValue
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.options import Option, setting
from ansible_collections.pve.fleet.plugins.module_utils.plan import Plan, Step, execute

VMID_MIN, VMID_MAX = 100, 999999999
DNS_NAME = re.compile(r'^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9\-]{0,61}'
                      r'[A-Za-z0-9])?)*$')
# PVE's pve-tag format (pve-common PVE::JSONSchema, PVE_TAG_RE): a tag PVE cannot store never converges.
TAG = re.compile(r'^[a-z0-9_][a-z0-9_\-+.]*$', re.IGNORECASE)
CREATE_ATTEMPTS = 10
MIB = 1024 ** 2
STATES = ['present', 'absent', 'started', 'stopped', 'restarted', 'template']

# The options vm and ct share; each guest type adds its own (module_utils/qemu.py, lxc.py).
GUEST_OPTIONS = [
    Option('vmid', dict(type='int')),
    Option('node', dict(type='str')),
    Option('state', dict(type='str', default='present', choices=STATES)),
    Option('pool', dict(type='str')),
    setting('tags', dict(type='list', elements='str'), compare='tags'),
    Option('config', dict(type='dict')),
    Option('clone', dict(type='str')),
    Option('full', dict(type='bool', default=True)),
    Option('target_storage', dict(type='str')),
    Option('force', dict(type='bool', default=False)),
    Option('purge', dict(type='bool', default=False)),
    Option('restart_for_pending', dict(type='bool', default=False)),
    setting('description', dict(type='str'), compare='text'),
    setting('cores', dict(type='int')),
    setting('onboot', dict(type='bool'), compare='bool'),
    setting('startup', dict(type='str'), compare='propstr', fmt='startup'),
    setting('nameserver', dict(type='str')),
    setting('searchdomain', dict(type='str')),
    Option(key='protection', compare='bool'),
]


class GuestSpec:
    """What the user asked for, validated and in PVE's terms.

    ``config``: key -> desired value (text, or a PropValue/DiskValue holding only the sub-keys given);
    ``remove``: keys to delete; ``create_only``: keys sent when the guest is made and never compared
    (a password PVE keeps hashed); ``extra``: what only one guest type uses (lxc's ostemplate).
    """

    def __init__(self, kind, vmid=None, name=None, node=None, state='present', config=None, remove=(), purge=False,
                 force=False, clone=None, full=True, target_storage=None, restart_for_pending=False, pool=None,
                 create_only=None, extra=None):
        self.kind = kind
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
        self.create_only = create_only or {}
        self.extra = extra or {}

    @property
    def label(self):
        return self.name if self.name is not None else str(self.vmid)


def check_vmid(vmid, option='vmid'):
    if vmid is not None and not VMID_MIN <= int(vmid) <= VMID_MAX:
        raise PveError('{0}: {1} is outside {2}-{3}'.format(option, vmid, VMID_MIN, VMID_MAX))


def check_dns_name(name, option='name'):
    if name is not None and not DNS_NAME.match(name):
        raise PveError('{0}: {1!r} is not a valid DNS name (letters, digits and hyphens, dot-separated labels of '
                       'at most 63 characters, not starting or ending with a hyphen)'.format(option, name))


def check_tags(tags, option='tags'):
    for tag in tags or []:
        if not TAG.match(str(tag)):
            raise PveError('{0}: {1!r} is not a tag PVE can store (a letter, digit or _, then letters, digits, '
                           '_, -, + or .; one tag per list item)'.format(option, tag))


def add_raw_config(config, raw):
    """The ``config:`` escape hatch: any other key, once."""
    for key, value in (raw or {}).items():
        if key in config:
            raise PveError('config: {0!r} is also set by its own option; set it once'.format(key))
        config[key] = ('1' if value else '0') if isinstance(value, bool) else value


def spec_from(kind, params, name, config, remove, create_only, extra=None):
    """The GuestSpec from the shared options and what the guest type built (checks the shared ones)."""
    check_vmid(params['vmid'])
    check_tags(params.get('tags'))
    return GuestSpec(kind, vmid=params['vmid'], name=name, node=params['node'], state=params['state'], config=config,
                     remove=remove, purge=params['purge'], force=params['force'], clone=params['clone'],
                     full=params['full'], target_storage=params['target_storage'],
                     restart_for_pending=params['restart_for_pending'], pool=params['pool'],
                     create_only=create_only, extra=extra)


# ---------------------------------------------------------------------------------------- reading

class GuestState:
    """What planning knows of one guest: its record (None when it does not exist yet), config and
    pending values (None for a pending removal); for a clone not made yet, the source and its config."""

    def __init__(self, guest=None, config=None, pending=None, source=None, source_config=None):
        self.guest = guest
        self.config = config or {}
        self.pending = pending or {}
        self.source = source
        self.source_config = source_config or {}


def pending_path(guest):
    return 'nodes/{0}/{1}/{2}/pending'.format(guest['node'], guest['type'], guest['vmid'])


def parse_pending(items):
    """(config, pending) from a /pending answer."""
    config, pending = {}, {}
    for item in items or []:
        if 'value' in item:
            config[item['key']] = item['value']
        if item.get('delete'):
            pending[item['key']] = None
        elif 'pending' in item:
            pending[item['key']] = item['pending']
    return config, pending


def locate(spec, cluster):
    """(the existing guest the spec names or None, the clone source or None); pure."""
    kind = spec.kind
    guest = None
    if spec.vmid is not None:
        guest = cluster.find_guest(vmid=spec.vmid)
    elif spec.name is not None:
        guest = cluster.find_guest(name=spec.name, guest_type=kind.type)
    if guest is not None and guest['type'] != kind.type:
        raise PveError('vmid: {0} is a {1}, not a {2}'.format(
            guest['vmid'], 'container' if guest['type'] == 'lxc' else 'VM', kind.noun))
    source = None
    if guest is None and spec.clone is not None and spec.state != 'absent':
        clone = str(spec.clone)
        source = cluster.find_guest(vmid=int(clone)) if clone.isdigit() else \
            cluster.find_guest(name=clone, guest_type=kind.type)
        if source is None:
            raise PveError('clone: no {0} {1!r} to clone from'.format(kind.noun, spec.clone))
        if source['type'] != kind.type:
            raise PveError('clone: {0!r} is not a {1}'.format(spec.clone, kind.noun))
    return guest, source


def read_states(client, cluster, specs, workers=8):
    """One GuestState (or the PveError that names why not) per spec, reading every config needed at once,
    ``workers`` requests at a time."""
    located, paths = [], []
    for spec in specs:
        try:
            guest, source = locate(spec, cluster)
        except PveError as exc:
            located.append(exc)
            continue
        located.append((guest, source))
        if guest is not None and spec.state != 'absent':
            paths.append(pending_path(guest))
        elif source is not None:
            paths.append(pending_path(source))
    answers = iter(client.get_many(paths, workers=workers))
    states = []
    for spec, item in zip(specs, located):
        if isinstance(item, PveError):
            states.append(item)
            continue
        guest, source = item
        if guest is not None and spec.state != 'absent':
            config, pending = parse_pending(next(answers))
            states.append(GuestState(guest, config, pending))
        elif source is not None:
            config, _pending = parse_pending(next(answers))
            states.append(GuestState(None, source=source, source_config=config))
        else:
            states.append(GuestState(guest))
    return states


# --------------------------------------------------------------------------------------- planning

class GuestPlan(Plan):
    """What one run does to one guest: the steps, and what the guest is after them."""

    def __init__(self, spec, guest=None):
        kind = spec.kind
        super(GuestPlan, self).__init__('{0} {1}'.format(kind.noun, spec.label))
        self.spec = spec
        self.kind = kind
        self.exists = guest is not None
        self.vmid = guest['vmid'] if guest else spec.vmid
        self.node = guest['node'] if guest else spec.node
        self.name = guest.get('name') if guest else spec.name
        self.status = guest.get('status') if guest else None
        self.template = bool(guest.get('template')) if guest else False
        self.current = {}  # the config the set steps were compared against (what apply renders over)
        self.warnings = []

    def retitle(self):
        label = self.name or self.vmid
        self.subject = '{0} {1}'.format(self.kind.noun, label if self.vmid is None or not self.name
                                        else '{0} ({1})'.format(self.vmid, self.name))

    def diff(self):
        diff = super(GuestPlan, self).diff()
        diff['before_header'] = '{0} (before)'.format(self.subject)
        diff['after_header'] = '{0} (after)'.format(self.subject)
        return diff

    @property
    def guest(self):
        """The guest as apply addresses it."""
        return dict(vmid=self.vmid, node=self.node, type=self.kind.type, name=self.name)


def plan_guest(spec, state, cluster):
    """The plan for one guest (pure: no request). Raises PveError for what cannot be done, before any
    write, and FactNotLoaded for a fact the cluster view must read first (see plan_with_facts)."""
    if spec.state == 'absent':
        return _plan_remove(spec, state.guest)
    if state.guest is None:
        plan = _plan_clone(spec, state, cluster) if state.source is not None else _plan_create(spec, cluster)
    else:
        plan = GuestPlan(spec, state.guest)
        plan.retitle()
        hook = spec.kind.hooks.get('existing')
        if hook:
            hook(spec, state.config)
        if spec.node and spec.node != plan.node:
            plan.warnings.append('{0} {1} is on {2}, not on {3}; it is not moved (pve.fleet.migrate moves '
                                 'guests)'.format(spec.kind.noun, plan.vmid, plan.node, spec.node))
        _plan_config(plan, spec, state.config, state.pending, cluster)
        if spec.pool and state.guest.get('pool') != spec.pool:
            plan.add(Step('pool', text='add to pool {0}'.format(spec.pool), data={'pool': spec.pool}),
                     before={'pool': state.guest.get('pool')}, after={'pool': spec.pool})
    _plan_power(plan, spec, state.pending)
    return plan


def _memory_of(spec):
    """Bytes of memory a new guest will take, for placement (PVE's defaults when not given)."""
    value = spec.config.get('memory')
    if isinstance(value, PropValue):
        value = value.props.get('current')
    try:
        return int(value) * MIB
    except (TypeError, ValueError):
        return 512 * MIB


def _place(spec, cluster, keys):
    """The node a new guest goes to: the one asked for (checked), or the online node with the most free
    memory among those that have every storage, bridge and template the guest needs."""
    if spec.node:
        cluster.require_node(spec.node)
        return spec.node

    def fits(node):
        try:
            _check_devices(spec, node, keys, cluster)
            hook = spec.kind.hooks.get('fits')
            if hook:
                hook(spec, node, cluster)
        except PveError:
            return False
        return True

    node = cluster.place(_memory_of(spec), fits)
    if node is None:
        online = cluster.online_nodes()
        if not online:
            raise PveError('node: no node of the cluster is online')
        best = sorted(online, key=lambda n: (-cluster.free_memory(n), n))[0]
        try:
            _check_devices(spec, best, keys, cluster)  # says, naming the option, what the best node lacks
            hook = spec.kind.hooks.get('fits')
            if hook:
                hook(spec, best, cluster)
        except PveError as exc:
            raise PveError('{0}; no online node has it (nodes: {1}): give node, or make it available'.format(
                str(exc).rstrip('.'), ', '.join(online)))
        raise PveError('node: no online node fits {0} {1}'.format(spec.kind.noun, spec.label))
    return node


def _check_devices(spec, node, keys, cluster):
    """The storages and bridges of the devices about to be written exist on the node."""
    kind = spec.kind
    for key in keys:
        want = spec.config.get(key)
        if isinstance(want, DiskValue):
            content = 'iso' if want.is_cdrom else kind.volume_content
            if want.volume not in (None, 'none') or want.storage:
                if want.storage is not None:
                    cluster.check_storage(want.storage, node, content, want.option)
        elif isinstance(want, PropValue) and 'bridge' in want.props:
            bridges = cluster.bridges(node)
            if want.props['bridge'] not in bridges:
                raise PveError('{0}: bridge {1!r} does not exist on node {2} (bridges: {3})'.format(
                    want.option, want.props['bridge'], node, ', '.join(sorted(bridges)) or 'none'))


def _plan_create(spec, cluster):
    kind = spec.kind
    plan = GuestPlan(spec)
    hook = kind.hooks.get('create')
    node = _place(spec, cluster, list(spec.config))
    before_create, extra_params = hook(spec, node, cluster) if hook else ([], {})
    _check_devices(spec, node, list(spec.config), cluster)
    plan.node = node
    plan.vmid = cluster.claim_vmid(spec.vmid)
    plan.name = spec.name or spec.config.get(kind.name_key)
    plan.status = 'stopped'
    plan.retitle()
    params = dict((key, kind.wire(key, value, None)) for key, value in spec.config.items())
    params.update(spec.create_only)
    params.update(extra_params)
    if spec.pool:
        params['pool'] = spec.pool
    for step in before_create:
        plan.add(step)
    plan.add(Step('create', text='create {0} {1} (vmid {2}) on {3}'.format(kind.noun, plan.name or plan.vmid,
                                                                           plan.vmid, node),
                  data={'params': params}), after={'state': 'present'})
    for key in sorted(params):
        shown = kind.shown(key, params[key])
        plan.add(Step('add', key, None, shown, text='add {0}: {1}'.format(key, _line(shown))), after={key: shown})
    return plan


def _line(value):
    return str(value).rstrip('\n').replace('\n', '\\n')


def _predicted_clone_config(spec, source_config):
    """What a clone will hold, as planning compares against it: the source's config, with its disks on
    the target storage of a full clone, and no MAC addresses (PVE gives a clone new ones)."""
    kind = spec.kind
    predicted = {}
    for key, value in source_config.items():
        fmt = kind.format_of(key)
        if fmt is not None and fmt.name in ('qemu-net', 'lxc-net'):
            props = propstr.parse(value, fmt)
            props.pop('macaddr', None)
            props.pop('hwaddr', None)
            value = propstr.format_props(props, fmt)
        elif spec.full and spec.target_storage and kind.is_disk(key, value) and not key.startswith('unused'):
            props = propstr.parse(value, fmt)
            volume = props.get(fmt.default_key, '')
            if ':' in volume:
                props[fmt.default_key] = '{0}:{1}'.format(spec.target_storage, volume.split(':', 1)[1])
                value = propstr.format_props(props, fmt)
        predicted[key] = value
    return predicted


def _plan_clone(spec, state, cluster):
    kind = spec.kind
    source = state.source
    if not spec.full and not source['template']:
        raise PveError('clone: a linked clone (full: false) needs a template; {0!r} (vmid {1}) is not one'.format(
            spec.clone, source['vmid']))
    if not spec.full and spec.target_storage:
        raise PveError('target_storage: only a full clone can be placed on another storage')
    hook = kind.hooks.get('clone')
    if hook:
        hook(spec, state.source_config)
    node = spec.node or source['node']
    cluster.require_online(node)
    if spec.target_storage:
        cluster.check_storage(spec.target_storage, node, kind.volume_content, 'target_storage')
    for key, want in spec.config.items():
        current = state.source_config.get(key)
        if isinstance(want, DiskValue) and current is not None and want.storage and \
                want.storage != (spec.target_storage or want.current_storage(current)):
            raise PveError('{0}: storage {1!r} conflicts with the clone of {2} ({3} is on {4})'.format(
                want.option, want.storage, spec.clone, key, want.current_storage(current)))
    plan = GuestPlan(spec)
    plan.node = node
    plan.vmid = cluster.claim_vmid(spec.vmid)
    plan.name = spec.name or spec.config.get(kind.name_key)
    plan.status = 'stopped'
    plan.retitle()
    params = dict(full=1 if spec.full else 0, target=node if node != source['node'] else None,
                  storage=spec.target_storage, pool=spec.pool)
    params[kind.name_key] = plan.name
    plan.add(Step('clone', text='clone {0} {1} ({2}) to {3} (vmid {4}) on {5} ({6})'.format(
        kind.noun, source['name'], source['vmid'], plan.name or plan.vmid, plan.vmid, node,
        'full' if spec.full else 'linked'), data={'source': source, 'params': params}), after={'state': 'present'})
    # What the clone holds is the source's config; the rest of the plan compares against that. Keys a
    # clone cannot take from its source (cloud-init's password) are set on it like any other key.
    wanted = dict(spec.config)
    wanted.update(spec.create_only)
    clone_spec = GuestSpec(kind, config=wanted, remove=spec.remove, purge=spec.purge, full=spec.full,
                           target_storage=spec.target_storage)
    _plan_config(plan, clone_spec, _predicted_clone_config(spec, state.source_config), {}, cluster,
                 skip_keys=(kind.name_key,))
    return plan


def _plan_config(plan, spec, config, pending, cluster, skip_keys=()):
    """Set, grow and remove steps for the keys the spec gives, compared with what PVE holds (pending first)."""
    kind = spec.kind
    plan.current = dict(config)
    for key in sorted(spec.config):
        if key in skip_keys:
            continue
        want = spec.config[key]
        effective = pending[key] if key in pending else config.get(key)
        if isinstance(want, DiskValue) and effective is not None:
            want.check_against(effective)
            if want.grows(effective):
                before, after = propstr.format_size(want.current_size(effective)), propstr.format_size(want.size)
                plan.add(Step('resize', key, before, after, text='grow {0}: {1} -> {2}'.format(key, before, after)),
                         before={key + '.size': before}, after={key + '.size': after})
            if want.volume_matches(effective) and want.options_match(effective):
                continue
        elif kind.matches(key, want, effective):
            continue
        wire = kind.wire(key, want, effective)
        before, after = kind.shown(key, effective), kind.shown(key, wire)
        step = Step('set', key, before, after, data={'value': want})
        plan.add(step, before={key: before} if before is not None else {}, after={key: after})
    for key in spec.remove:
        if key in config and pending.get(key, '') is not None:
            disk = kind.is_disk(key, config[key])
            note = ('its volume destroyed' if spec.purge else 'kept as an unused disk') if disk else None
            before = kind.shown(key, config[key])
            text = 'remove {0} ({1}){2}'.format(key, _line(before), ', ' + note if note else '')
            volume = None
            if disk and spec.purge:
                fmt = kind.format_of(key)
                volume = propstr.parse(config[key], fmt).get(fmt.default_key)
            plan.add(Step('delete', key, before, text=text, data={'volume': volume}), before={key: before})
    _check_devices(spec, plan.node, [s.key for s in plan.steps if s.action == 'set'], cluster)


def _plan_power(plan, spec, pending):
    kind = spec.kind
    status = plan.status
    actions = []
    if spec.state == 'started' and status != 'running':
        actions.append(('start', 'running'))
    elif spec.state == 'stopped' and status == 'running':
        actions.append(('shutdown', 'stopped'))
    elif spec.state == 'restarted':
        actions.append(('reboot' if status == 'running' else 'start', 'running'))
    elif spec.state == 'template':
        if plan.template:
            return
        if status == 'running':
            if not spec.force:
                raise PveError('state: {0} {1} is running; converting it to a template needs it stopped '
                               '(set force: true to shut it down)'.format(kind.noun, plan.vmid))
            actions.append(('shutdown', 'stopped'))
        actions.append(('template', 'template'))
    elif spec.state in ('present', 'started') and spec.restart_for_pending and status == 'running':
        if pending:
            actions.append(('reboot', 'running'))
        elif any(s.action in ('set', 'delete') for s in plan.steps):
            # Whether PVE applies a change live or keeps it pending is PVE's call: look after writing.
            plan.add(Step('reboot-if-pending', text='reboot {0} {1} if the changes wait for a restart'.format(
                kind.noun, plan.name or plan.vmid)))
    for verb, after in actions:
        plan.add(Step('power', text='{0} {1} {2}'.format(verb, kind.noun, plan.name or plan.vmid),
                      before=status, after=after, data={'verb': verb}),
                 before={'status': status} if 'status' not in plan.before else {}, after={'status': after})
        if after == 'template':
            plan.template, plan.status = True, 'stopped'
        else:
            plan.status = after


def _plan_remove(spec, guest):
    kind = spec.kind
    plan = GuestPlan(spec, guest)
    if guest is None:
        plan.status = 'absent'
        return plan
    plan.retitle()
    running = guest['status'] == 'running'
    if running and not spec.force:
        raise PveError('state: {0} {1} ({2}) is running; removing it needs force: true'.format(
            kind.noun, guest['vmid'], guest['name']))
    if running:
        plan.add(Step('stop', text='stop {0} {1}'.format(kind.noun, guest['name'] or guest['vmid'])))
    plan.add(Step('destroy', text='destroy {0} {1} ({2}) and its disks{3}'.format(
        kind.noun, guest['name'], guest['vmid'], ', purged from jobs and HA' if spec.purge else ''),
        data={'purge': spec.purge}), before={'state': 'present'}, after={'state': 'absent'})
    plan.status = 'absent'
    return plan


# ------------------------------------------------------------------------------------------ apply

def _path(plan, tail=''):
    return 'nodes/{0}/{1}/{2}{3}'.format(plan.node, plan.kind.type, plan.vmid, tail)


def apply_guest(run, plan):
    """Carry out the plan's steps in order; the only code of the engine that writes."""
    client = run.client
    current = dict(plan.current)
    config_done = False
    for step in plan.steps:
        action = step.action
        if action == 'fetch-template':
            data = step.data
            run.wait(client.post('nodes/{0}/aplinfo'.format(data['node']), storage=data['storage'],
                                 template=data['template']))
        elif action == 'create':
            path = 'nodes/{0}/{1}'.format(plan.node, plan.kind.type)
            params = step.data['params']
            _claim(run, plan, lambda vmid: client.post(path, vmid=vmid, **params))
        elif action == 'clone':
            source = step.data['source']
            path = 'nodes/{0}/{1}/{2}/clone'.format(source['node'], source['type'], source['vmid'])
            params = step.data['params']
            _claim(run, plan, lambda newid: client.post(path, newid=newid, **params))
            # The set steps were planned against the source's config; they are sent over the clone's own.
            current, _pending = parse_pending(client.get(_path(plan, '/pending')))
        elif action in ('set', 'delete') and not config_done:
            config_done = True
            sets = dict((s.key, plan.kind.wire(s.key, s.data['value'], current.get(s.key)))
                        for s in plan.steps if s.action == 'set')
            deletes = [s.key for s in plan.steps if s.action == 'delete']
            _write_config(run, plan, sets, deletes)
            volumes = [s.data['volume'] for s in plan.steps if s.action == 'delete' and s.data.get('volume')]
            if volumes:
                _purge_unused(run, plan, volumes)
        elif action == 'resize':
            run.task(lambda: client.put(_path(plan, '/resize'), disk=step.key, size=step.after))
        elif action == 'pool':
            client.put('pools', poolid=step.data['pool'], vms=str(plan.vmid), **{'allow-move': 1})
        elif action == 'power':
            verb = step.data['verb']
            if verb == 'template':
                run.task(lambda: client.post(_path(plan, '/template')))
            else:
                extra = dict(forceStop=1, timeout=run.timeout) if verb == 'shutdown' else {}
                run.task(lambda: client.post(_path(plan, '/status/' + verb), **extra))
        elif action == 'reboot-if-pending':
            _config, pending = parse_pending(client.get(_path(plan, '/pending')))
            if pending:
                run.task(lambda: client.post(_path(plan, '/status/reboot')))
        elif action == 'stop':
            run.task(lambda: client.post(_path(plan, '/status/stop')))
        elif action == 'destroy':
            params = {'purge': 1, 'destroy-unreferenced-disks': 1} if step.data['purge'] else {}
            run.task(lambda: client.delete(_path(plan, ''), **params))


def _claim(run, plan, send):
    """Create (or clone) with the plan's vmid; if another run took that id meanwhile, re-read and take the
    next free one (never a blind repeat). The plan's vmid becomes the one PVE accepted."""
    spec = plan.spec
    for attempt in range(CREATE_ATTEMPTS):
        try:
            upid = send(plan.vmid)
        except PveError as exc:
            if spec.vmid is None and exc.status == 500 and 'already exists' in exc.message:
                cluster = ClusterView.read(run.client)
                twin = cluster.find_guests(name=plan.name, guest_type=plan.kind.type) if plan.name else []
                if twin:
                    raise PveError('name: another run created {0!r} (vmid {1}) at the same time; run again to '
                                   'converge it'.format(plan.name, twin[0]['vmid']))
                # at random (api.backoff), so that the runs that lost together do not read the same next id
                time.sleep(backoff(attempt))
                plan.vmid = int(run.client.get('cluster/nextid'))
                continue
            raise
        run.wait(upid)
        return
    raise PveError('vmid: no free vmid after {0} attempts (other runs are creating guests)'.format(CREATE_ATTEMPTS))


def _write_config(run, plan, sets, deletes):
    params = dict(sets)
    if deletes:
        params['delete'] = ','.join(deletes)
    path = _path(plan, '/config')
    if plan.kind.async_config:
        run.task(lambda: run.client.post(path, **params))
    else:
        run.client.put(path, **params)


def _purge_unused(run, plan, volumes):
    """Detached disks became unusedN; destroy exactly those volumes."""
    config, _pending = parse_pending(run.client.get(_path(plan, '/pending')))
    unused = sorted(k for k, v in config.items() if re.match(r'^unused\d+$', k) and str(v).split(',', 1)[0] in volumes)
    if unused:
        _write_config(run, plan, {}, unused)


# ----------------------------------------------------------------------------------------- result

def guest_result(plan, run, client=None, state=None, check_mode=False):
    """The result of vm and ct: the plan's vocabulary plus the guest as it is after the run.

    ``client`` given: a guest that changed is read again (its config as PVE normalized it).
    """
    result = plan.result(run)
    kind = plan.kind
    config = state.config if state is not None and plan.exists else {}
    pending = state.pending if state is not None and plan.exists else {}
    if client is not None and plan.changed and not check_mode and plan.status != 'absent':
        config, pending = parse_pending(client.get(_path(plan, '/pending')))
    if plan.status == 'absent':
        config, pending = {}, {}
    result.update(vmid=plan.vmid, node=plan.node if plan.status != 'absent' or plan.exists else None,
                  name=plan.name, status=plan.status, config=kind.public(config), pending=kind.public(pending),
                  reboot_required=bool(pending) and plan.status == 'running')
    return result


def converge(client, spec, check_mode, timeout):
    """One guest, end to end (vm and ct): read, plan, apply unless check mode, and the result."""
    cluster = ClusterView.read(client)
    state = read_states(client, cluster, [spec])[0]
    if isinstance(state, PveError):
        raise state
    plan = plan_with_facts(client, cluster, lambda: plan_guest(spec, state, cluster))
    run = execute(client, plan, apply_guest, check_mode, timeout)
    result = guest_result(plan, run, client, state, check_mode)
    result['warnings'] = plan.warnings
    return result
