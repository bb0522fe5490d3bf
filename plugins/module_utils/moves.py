# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""Moving many guests: the cluster read into the placement planner's input, its placement turned into
a Plan, and the moves carried out wave by wave, a bounded number at a time (evacuate, rebalance).

- ``read_state``: what placement.py needs, from ``cluster/resources`` (already read), storage.cfg
  (``GET /storage``), HA (resources, rules, manager status) and each concerned guest's config, read
  eight at a time.
- ``MovesPlan``: a Plan whose steps are the moves (and, for an evacuation, recording where the
  guests went in the emptied node's notes, so that ``undo`` works from any controller).
- ``apply_moves``: the only code that writes; a wave's moves run ``parallel`` at a time (as PVE's own
  ``migrateall`` runs ``maxworkers``), HA-managed guests through the HA manager.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import time

from ansible_collections.pve.fleet.plugins.module_utils.cluster import guest_path
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.migration import migrate_body
from ansible_collections.pve.fleet.plugins.module_utils.plan import Plan, Step

DEFAULT_PARALLEL = 4
# The options evacuate and rebalance share (documented in each module), as placement.py names them.
PLACEMENT_SPEC = dict(
    metric=dict(type='str', default='memory', choices=['memory', 'cpu']),
    mode=dict(type='str', default='used', choices=['used', 'assigned']),
    memory_reserve=dict(type='int', default=10),
    with_local_disks=dict(type='bool', default=False),
    parallel=dict(type='int', default=DEFAULT_PARALLEL),
)
# Where an evacuation records its moves: a marked line in the emptied node's notes (Datacenter ->
# node -> Notes), read back by undo. The rest of the notes is the operator's and is left as it is.
RECORD = re.compile(r'^<!-- pve\.fleet evacuate (\{.*\}) -->$', re.MULTILINE)
HA_POLL_FIRST, HA_POLL_MAX = 0.1, 2.0

_QEMU_DRIVE = re.compile(r'^((ide|sata|scsi|virtio)\d+|efidisk0|tpmstate0|unused\d+)$')
_LXC_VOLUME = re.compile(r'^(rootfs|mp\d+|unused\d+)$')
_QEMU_LOCAL = re.compile(r'^(hostpci\d+|parallel\d+|virtiofs\d+|ivshmem)$')


def _volumes(guest_type, config):
    """(disks, local resources) of a guest's config, as placement.py reads them."""
    disks, local = [], []
    for key in sorted(config):
        value = str(config[key])
        if guest_type == 'qemu':
            if _QEMU_DRIVE.match(key):
                volume = value.split(',', 1)[0]
                cdrom = 'media=cdrom' in value
                if volume in ('none', 'cdrom') or ':' not in volume:
                    if volume == 'cdrom':
                        local.append(key)  # the host's own drive
                    continue
                disks.append(dict(storage=volume.split(':', 1)[0], key=key, cdrom=cdrom,
                                  content='iso' if cdrom else 'images'))
            elif _QEMU_LOCAL.match(key) or (key.startswith('usb') and 'spice' not in value) or \
                    (re.match(r'^serial\d+$', key) and value != 'socket'):
                local.append(key)
        elif _LXC_VOLUME.match(key):
            volume = value.split(',', 1)[0]
            if volume.startswith('/'):
                local.append(key)  # a bind or device mount: it cannot follow the container
            elif ':' in volume:
                disks.append(dict(storage=volume.split(':', 1)[0], key=key, content='rootdir'))
        elif re.match(r'^dev\d+$', key):
            local.append(key)
    return disks, local


def _maintenance(status):
    """Nodes the HA manager has in maintenance mode (manager_status node_status)."""
    nodes = (status or {}).get('node_status') or {}
    return set(n for n, s in nodes.items() if s == 'maintenance')


def _quiet(client, path):
    """A read that a cluster without that feature answers with an error (no HA configured): None."""
    try:
        return client.get(path)
    except PveError:
        return None


def read_state(client, cluster, vmids=None):
    """The planner's input for the cluster; ``vmids`` limits the config reads (None: every guest)."""
    definitions = dict((s.get('storage'), s) for s in (client.get('storage') or []))
    ha_resources = _quiet(client, 'cluster/ha/resources') or []
    ha_sids = set(str(r.get('sid')) for r in ha_resources if r.get('state') != 'ignored')
    rules = _quiet(client, 'cluster/ha/rules') or []
    maintenance = _maintenance(_quiet(client, 'cluster/ha/status/manager_status') if ha_sids else None)
    nodes = [dict(item, maintenance=item['node'] in maintenance) for item in cluster.nodes.values()]
    storages = []
    for sid, per_node in cluster.storages.items():
        definition = definitions.get(sid) or {}
        for node, entry in per_node.items():
            storages.append(dict(entry, enabled=not definition.get('disable')))
    records = dict((r['vmid'], r) for r in cluster.resources if r.get('type') in ('qemu', 'lxc'))
    wanted = sorted(records) if vmids is None else sorted(v for v in vmids if v in records)
    configs = client.get_many([guest_path(dict(records[v], vmid=v), 'config') for v in wanted], quiet=True)
    guests = []
    by_vmid = dict(zip(wanted, configs))
    for vmid in sorted(records):
        item = dict(records[vmid])
        prefix = 'vm' if item['type'] == 'qemu' else 'ct'
        item['ha'] = '{0}:{1}'.format(prefix, vmid) in ha_sids
        if vmid in by_vmid:
            item['disks'], item['local_resources'] = _volumes(item['type'], by_vmid[vmid] or {})
        guests.append(item)
    return dict(nodes=nodes, storages=storages, guests=guests, ha_rules=rules)


def read_record(client, node):
    """(the node's notes, the recorded moves {vmid: node they went to}) of an earlier evacuation."""
    notes = (client.get('nodes/{0}/config'.format(node)) or {}).get('description') or ''
    match = RECORD.search(notes)
    moved = dict((int(k), v) for k, v in json.loads(match.group(1)).items()) if match else {}
    return notes, moved


def notes_with(notes, moved):
    """The notes with the record replaced (an empty record removes the line)."""
    text = RECORD.sub('', notes).rstrip('\n')
    if moved:
        record = json.dumps(dict((str(k), v) for k, v in moved.items()), sort_keys=True)
        line = '<!-- pve.fleet evacuate {0} -->'.format(record)
        text = (text + '\n' if text else '') + line
    return text + '\n' if text else ''


# ----------------------------------------------------------------------------------- the plan

def _describe(move):
    kind = 'VM' if move['type'] == 'qemu' else 'CT'
    how = move['mode'] + (', copying local disks' if move['with_local_disks'] else '') + (
        ', through HA' if move['ha'] else '')
    return 'migrate {0} {1} ({2}) {3} -> {4} ({5}): {6}'.format(
        kind, move['name'] or move['vmid'], move['vmid'], move['source'], move['target'], how, move['reason'])


class MovesPlan(Plan):
    """A placement as a plan: one step per move, in waves; the diff shows each guest's node."""

    def __init__(self, subject, placement, record=None):
        super(MovesPlan, self).__init__(subject)
        self.placement = placement
        for move in placement.moves:
            label = '{0} ({1})'.format(move['name'], move['vmid']) if move['name'] else str(move['vmid'])
            self.add(Step('move', text=_describe(move), data=move), before={label: move['source']},
                     after={label: move['target']})
        if record is not None:
            node, notes, moved = record
            self.add(Step('record', text=('record in the notes of {0} where its guests went (for undo)'.format(node)
                                          if moved else 'clear the evacuation record in the notes of {0}'.format(node)),
                          data=dict(node=node, notes=notes)))

    def result(self, run=None):
        result = super(MovesPlan, self).result(run)
        placed = self.placement.to_result()
        # 'skipped' is a word Ansible keeps for itself (a bool): the guests with nothing to do are 'in_place'.
        placed['in_place'] = placed.pop('skipped')
        result.update(placed)
        return result


# ---------------------------------------------------------------------------------- applying

def _migrate(client, move, timeout, wait):
    """Start one move and wait for it; returns its UPIDs."""
    guest = dict(vmid=move['vmid'], node=move['source'], type=move['type'])
    if move['ha']:
        sid = '{0}:{1}'.format('vm' if move['type'] == 'qemu' else 'ct', move['vmid'])
        answer = client.post('cluster/ha/resources/{0}/migrate'.format(sid), node=move['target']) or {}
        blocking = answer.get('blocking-resources') if isinstance(answer, dict) else None
        if blocking:
            raise PveError('HA refused to move {0} to {1}: {2}'.format(sid, move['target'], ', '.join(
                '{0} ({1})'.format(b.get('sid'), b.get('cause')) for b in blocking)))
        _wait_on_node(client, move, timeout)
        return []
    body = migrate_body(move['type'], move['mode'], move['target'], move['with_local_disks'])
    upid = client.post(guest_path(guest, 'migrate'), **body)
    wait(upid)
    return [upid]


def _wait_on_node(client, move, timeout):
    """The HA manager moves the guest on its own: wait until the cluster shows it on the target."""
    deadline = time.monotonic() + timeout
    delay = HA_POLL_FIRST
    while True:
        for item in client.get('cluster/resources', type='vm') or []:
            if int(item.get('vmid', -1)) == move['vmid'] and item.get('node') == move['target']:
                return
        if time.monotonic() >= deadline:
            raise PveError('HA did not move {0} to {1} within {2}s (timeout); it may still be moving'.format(
                move['vmid'], move['target'], timeout))
        time.sleep(delay)
        delay = min(delay * 1.6, HA_POLL_MAX)


class MoveOutcome:
    def __init__(self, move):
        self.move = move
        self.tasks = []
        self.error = None

    def as_result(self):
        return dict(vmid=self.move['vmid'], name=self.move['name'], source=self.move['source'],
                    target=self.move['target'], mode=self.move['mode'], tasks=self.tasks,
                    failed=self.error is not None, msg=str(self.error) if self.error else '')


def apply_moves(run, plan, parallel=DEFAULT_PARALLEL):
    """Carry out the plan: the record first (so undo knows even of a run cut short), then each wave's moves,
    ``parallel`` at a time. A failed move does not stop the others of its wave; a later wave, whose moves may
    count on room a failed one was to free, is not started. ``plan.outcomes`` holds each move's result."""
    from concurrent.futures import ThreadPoolExecutor  # only here: a plan with nothing to move never pays for it

    client = run.client
    for step in plan.steps:
        if step.action == 'record':
            path = 'nodes/{0}/config'.format(step.data['node'])
            if step.data['notes']:
                client.put(path, description=step.data['notes'])
            else:
                client.put(path, delete='description')
    moves = [s.data for s in plan.steps if s.action == 'move']
    plan.outcomes = [MoveOutcome(m) for m in moves]
    earlier_failed = False
    for wave in sorted(set(m['wave'] for m in moves)):
        batch = [o for o in plan.outcomes if o.move['wave'] == wave]
        if earlier_failed:
            for outcome in batch:
                outcome.error = PveError('not started: a move of an earlier wave failed')
            continue

        def one(outcome):
            try:
                outcome.tasks = _migrate(client, outcome.move, run.timeout, run.wait)
            except PveError as exc:
                outcome.error = exc
            return outcome

        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            list(pool.map(one, batch))
        earlier_failed = any(o.error for o in batch)


def moves_result(plan, run, check_mode):
    """The module's result: the plan's vocabulary and placement, each move's outcome, and a failure message
    (None when every move went through)."""
    result = plan.result(run)
    outcomes = getattr(plan, 'outcomes', None)
    if outcomes is None or check_mode:
        return result, None
    result['results'] = [o.as_result() for o in outcomes]
    failed = [o for o in outcomes if o.error]
    result['changed'] = any(not o.error for o in outcomes) or any(s.action == 'record' for s in plan.steps)
    if not failed:
        return result, None
    return result, '{0} of {1} moves failed: {2}'.format(len(failed), len(outcomes), '; '.join(
        '{0} ({1} -> {2}): {3}'.format(o.move['name'] or o.move['vmid'], o.move['source'], o.move['target'], o.error)
        for o in failed))


def placement_options(params, **extra):
    """The planner's options from a module's parameters (placement.check_options checks them)."""
    options = dict((k, params[k]) for k in ('metric', 'mode', 'memory_reserve', 'with_local_disks'))
    options.update(extra)
    if params['parallel'] < 1:
        raise PveError('parallel: {0} is not a number of moves at a time (at least 1)'.format(params['parallel']))
    return options


def select_vmids(cluster, guests):
    """The vmids of ``guests`` (names or vmids), each found cluster-wide; None when not given."""
    if guests is None:
        return None
    vmids = []
    for item in guests:
        text = str(item).strip()
        guest = cluster.find_guest(vmid=int(text)) if text.isdigit() else cluster.find_guest(name=text)
        if guest is None:
            raise PveError('guests: no guest {0!r} in the cluster'.format(text))
        vmids.append(guest['vmid'])
    return vmids


def blocked_message(placement, doing):
    """Why the guests that cannot move cannot, in one line."""
    return 'cannot {0} {1} guest(s): {2} (allow_partial: true moves the others)'.format(
        doing, len(placement.blocked), '; '.join('{0} ({1}) on {2}: {3}'.format(
            b.get('name') or b['vmid'], b['vmid'], b.get('node'), b['reason']) for b in placement.blocked))
