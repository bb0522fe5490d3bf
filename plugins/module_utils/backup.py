# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""Backups: which guests a backup takes, vzdump per node, the archives on the cluster's storages, restores.

Shared by the backup, backup_info and restore modules. An archive is a ``backup``
volume named ``vzdump-<qemu|lxc>-<vmid>-YYYY_MM_DD-HH_MM_SS.<vma|tar>[.zst|.gz|.lzo]``;
a shared storage is listed once, a node-local one on each node that has it.

Backup and restore follow the plan layer: a spec checked without a request, a read, a pure
``plan_backup`` / ``plan_restore``, and ``apply_backup`` / ``apply_restore``, the only code that writes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView, split_tags
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.plan import Plan, Step
from ansible_collections.pve.fleet.plugins.module_utils.prune import format_prune, prune_from_option
from ansible_collections.pve.fleet.plugins.module_utils.selection import describe
from ansible_collections.pve.fleet.plugins.module_utils.tasks import PveTaskError

ARCHIVE_NAME = re.compile(r'(?:^|/)vzdump-(qemu|lxc|openvz)-(\d+)-(\d{4})_(\d\d)_(\d\d)-(\d\d)_(\d\d)_(\d\d)\.')
COMPRESS = {'none': '0', 'lzo': 'lzo', 'gzip': 'gzip', 'zstd': 'zstd'}


# ------------------------------------------------------------------ archives

def parse_archive(volid):
    """(guest type, vmid) from an archive's name, or (None, None) for a name vzdump did not give."""
    found = ARCHIVE_NAME.search(str(volid))
    if not found:
        return None, None
    kind = 'lxc' if found.group(1) == 'openvz' else found.group(1)
    return kind, int(found.group(2))


def iso_time(epoch):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch)) if epoch else None


def archive_record(item, storage, node, shared):
    """One archive as the modules return it."""
    kind, vmid = parse_archive(item['volid'])
    ctime = int(item.get('ctime') or 0)
    return dict(
        volid=item['volid'], storage=storage, node=None if shared else node, shared=shared,
        vmid=int(item['vmid']) if item.get('vmid') is not None else vmid,
        type=item.get('subtype') or kind, ctime=ctime, time=iso_time(ctime), size=int(item.get('size') or 0),
        format=item.get('format'), notes=item.get('notes'), protected=bool(item.get('protected')),
    )


def backup_storages(cluster, storage=None, node=None):
    """[(storage, node to list it on, shared)]: each shared backup storage once, node-local ones per node."""
    if storage is not None and storage not in cluster.storages:
        # The wording of ClusterView.check_storage, which needs a node; a listing may span them all.
        raise PveError('storage: storage {0!r} does not exist (storages: {1})'.format(
            storage, ', '.join(sorted(cluster.storages)) or 'none'))
    online = cluster.online_nodes()
    out = []
    for sid in sorted(cluster.storages):
        if storage is not None and sid != storage:
            continue
        nodes = [n for n in online if (cluster.storage_on(sid, n) or {}).get('status', 'available') == 'available'
                 and 'backup' in cluster.storage_content(sid, n)]
        if node is not None:
            nodes = [n for n in nodes if n == node]
        if not nodes:
            continue
        if cluster.is_shared(sid):
            out.append((sid, nodes[0], True))
        else:
            out.extend((sid, n, False) for n in nodes)
    return out


def list_archives(client, cluster, storage=None, node=None, vmid=None):
    """Every backup archive the cluster's storages hold (optionally of one storage, node or vmid), oldest first."""
    return read_archives(client, backup_storages(cluster, storage, node), vmid)


def read_archives(client, where, vmid=None):
    """The archives on the storages ``where`` ([(storage, node, shared)] as backup_storages gives), oldest first."""
    paths = []
    for sid, on, _shared in where:
        path = 'nodes/{0}/storage/{1}/content?content=backup'.format(on, sid)
        if vmid is not None:
            path += '&vmid={0}'.format(int(vmid))
        paths.append(path)
    archives = []
    for (sid, on, shared), items in zip(where, client.get_many(paths)):
        for item in items or []:
            if item.get('content', 'backup') == 'backup':
                archives.append(archive_record(item, sid, on, shared))
    archives.sort(key=lambda a: (a['ctime'], a['volid'], a['node'] or ''))
    return archives


def latest_per_guest(archives):
    """The newest archive of each vmid, sorted by vmid."""
    newest = {}
    for archive in archives:
        have = newest.get(archive['vmid'])
        if have is None or (archive['ctime'], archive['volid']) >= (have['ctime'], have['volid']):
            newest[archive['vmid']] = archive
    return [newest[k] for k in sorted(newest, key=lambda v: (v is None, v))]


# ------------------------------------------------------------------- vzdump

class BackupSpec:
    """What a backup task asks for, checked without a request: the pick, the narrowing, where and how."""

    def __init__(self, vmids=(), names=(), node=None, pool=None, tags=(), take_all=False, storage=None,
                 mode='snapshot', compress=None, notes=None, protected=False, prune=None):
        self.vmids = list(vmids or [])
        self.names = list(names or [])
        self.node = node
        self.pool = pool
        self.tags = split_tags(tags)
        self.all = bool(take_all)
        self.storage = storage
        self.mode = mode
        self.compress = compress
        self.notes = notes
        self.protected = bool(protected)
        self.prune = prune  # PVE's prune-backups string, or None: the storage's own retention applies

    @classmethod
    def from_params(cls, params):
        if not params.get('all') and not any(params.get(k) for k in ('vmid', 'name', 'node', 'pool', 'tags')):
            raise PveError('one of vmid, name, node, pool, tags or all=true is required to choose the guests')
        prune = prune_string(params['prune']) if params.get('prune') is not None else None
        return cls(params.get('vmid'), params.get('name'), params.get('node'), params.get('pool'), params.get('tags'),
                   params.get('all'), params['storage'], params.get('mode') or 'snapshot', params.get('compress'),
                   params.get('notes'), params.get('protected'), prune)


def prune_string(prune):
    """The prune option as PVE's prune-backups property string (keep-last=3,keep-daily=7)."""
    retention = prune_from_option(prune or {}, 'prune')
    if retention is None:
        raise PveError('prune: give at least one keep_* option (keep_last, keep_daily, ...)')
    return format_prune(retention)


def select_for_backup(cluster, spec):
    """The guests a backup takes, sorted by vmid: vmid/name pick them, node/pool/tags narrow the pick (or, with
    nothing picked, choose every guest that matches them, through the cluster's one guest filter).

    A guest picked by vmid or name that the narrowing leaves out is an error, not a silent skip.
    """
    picked = {}
    for vmid in spec.vmids:
        guest = cluster.find_guest(vmid=vmid)
        if guest is None:
            raise PveError('vmid {0}: no such guest in the cluster'.format(vmid))
        picked[guest['vmid']] = guest
    for name in spec.names:
        guest = cluster.find_guest(name=name)
        if guest is None:
            raise PveError('name {0!r}: no guest of that name in the cluster'.format(name))
        picked[guest['vmid']] = guest
    if spec.node is not None:
        cluster.require_node(spec.node)
    matching = cluster.select(node=spec.node, pool=spec.pool, tags=spec.tags)
    if not picked:
        return matching
    kept = set(g['vmid'] for g in matching)
    for vmid in sorted(picked):
        if vmid not in kept:
            raise PveError('{0} was named by vmid/name but is not in the node/pool/tags it is narrowed to'.format(
                describe(picked[vmid])))
    return [picked[vmid] for vmid in sorted(picked)]


def guest_label(guest):
    """``VM 100 (web1)``: a guest named without its node."""
    return describe(guest).rsplit(' on ', 1)[0]


def vzdump_body(spec, vmids):
    body = {'vmid': ','.join(str(v) for v in vmids), 'storage': spec.storage, 'mode': spec.mode,
            'notes-template': spec.notes}
    if spec.compress is not None:
        body['compress'] = COMPRESS[spec.compress]
    if spec.protected:
        body['protected'] = 1
    if spec.prune is not None:
        body['prune-backups'] = spec.prune
        body['remove'] = 1
    return body


class BackupPlan(Plan):
    """One vzdump step per node (its guests in ``data``); ``guests`` is the pick, ``listing`` the storages
    (as backup_storages gives them) read before and after the run to find the archives it made."""

    def __init__(self, storage, guests, listing=()):
        super(BackupPlan, self).__init__('backups on {0}'.format(storage))
        self.storage = storage
        self.guests = guests
        self.listing = list(listing)


def plan_backup(spec, cluster):
    """The backup plan (pure: no request). Every node involved must be online and have the storage, holding
    backups; an empty pick is an empty plan (nothing to back up, not a change)."""
    guests = select_for_backup(cluster, spec)
    by_node = {}
    for guest in guests:
        by_node.setdefault(guest['node'], []).append(guest)
    for node in sorted(by_node):
        if cluster.nodes.get(node, {}).get('status') != 'online':
            raise PveError('node {0} is offline: its guests ({1}) cannot be backed up now'.format(
                node, ', '.join(str(g['vmid']) for g in by_node[node])))
        cluster.check_storage(spec.storage, node, 'backup', 'storage')
    nodes = sorted(by_node)
    # The archives made are what the storage holds after the run and did not before: one listing of a
    # shared storage or of several nodes' storages, else the one node's.
    one_node = nodes[0] if len(nodes) == 1 and not cluster.is_shared(spec.storage) else None
    plan = BackupPlan(spec.storage, guests, backup_storages(cluster, spec.storage, one_node) if guests else ())
    how = '{0} mode'.format(spec.mode)
    if spec.prune is not None:
        how += ', then prune to {0}'.format(spec.prune)
    for node in nodes:
        labels = [guest_label(g) for g in by_node[node]]
        plan.add(Step('vzdump', node, text='back up {0} on {1} to {2} ({3})'.format(
            ', '.join(labels), node, spec.storage, how),
            data=dict(body=vzdump_body(spec, [g['vmid'] for g in by_node[node]]))))
    if guests:
        plan.after = {'backups': [guest_label(g) for g in guests], 'storage': spec.storage}
    return plan


def apply_backup(run, plan):
    """One vzdump task per node, started together, each waited for: a node never runs two (as a PVE backup job,
    each node's guests one after the other in its one task). Then each task's log is read for how each guest went.

    ``run.archives`` are the archives made; ``run.report`` has one entry per guest (``backup_report``). A failed
    guest or node does not stop the wait for the others; ``backup_failure(run)`` says what failed.
    """
    client = run.client
    before = set(a['volid'] for a in read_archives(client, plan.listing))
    started = [(step.key, client.post('nodes/{0}/vzdump'.format(step.key), **step.data['body'])) for step in plan.steps]
    node_errors = {}
    for node, upid in started:
        try:
            run.wait(upid)
        except PveTaskError as exc:
            node_errors[node] = str(exc)  # with the task log's tail: why vzdump failed is usually there
    logs = client.get_many(['nodes/{0}/tasks/{1}/log?start=0&limit={2}'.format(node, upid, LOG_LINES)
                            for node, upid in started], quiet=True)
    outcomes = {}
    for entries in logs:
        outcomes.update(vzdump_outcomes(entry.get('t', '') for entry in entries or []))
    wanted = set(g['vmid'] for g in plan.guests)
    made = [a for a in read_archives(client, plan.listing) if a['volid'] not in before and a['vmid'] in wanted]
    made.sort(key=lambda a: (a['vmid'], a['ctime']))
    run.archives = made
    run.report = backup_report(plan.guests, made, outcomes, node_errors)


# vzdump's own lines about each guest in its task log (pve-manager PVE/VZDump.pm exec_backup_task, written
# through PVE::VZDump::Plugin::debugmsg with its 'INFO:'/'ERROR:' prefix).
LOG_LINES = 100000
_STARTED = re.compile(r'\bStarting Backup of VM (\d+) \(')
_FINISHED = re.compile(r'\bFinished Backup of VM (\d+) \((\d+):(\d\d):(\d\d)\)')
_FAILED = re.compile(r'\bBackup of VM (\d+) failed - (.*)$')


def vzdump_outcomes(lines):
    """{vmid: {'status': 'ok' | 'failed' | 'started', 'duration': seconds or None, 'msg': str}} from the lines of
    a vzdump task log (pure). ``started``: the guest's backup began and the log says no more (cut short)."""
    out = {}
    for line in lines:
        found = _FINISHED.search(line)
        if found:
            hours, minutes, seconds = (int(x) for x in found.group(2, 3, 4))
            out[int(found.group(1))] = dict(status='ok', duration=hours * 3600 + minutes * 60 + seconds, msg='')
            continue
        found = _FAILED.search(line)
        if found:
            out[int(found.group(1))] = dict(status='failed', duration=None, msg=found.group(2).strip())
            continue
        found = _STARTED.search(line)
        if found:
            out.setdefault(int(found.group(1)), dict(status='started', duration=None, msg=''))
    return out


def backup_report(guests, archives, outcomes, node_errors=None):
    """One entry per guest backed up (pure): who, where, and how it went - status ``ok`` with the archive it made,
    its size and how long it took, or ``failed`` with why (vzdump's own words, else its node's task's)."""
    node_errors = node_errors or {}
    newest = dict((a['vmid'], a) for a in archives)  # sorted oldest first: the last one wins
    report = []
    for guest in guests:
        vmid = guest['vmid']
        outcome = outcomes.get(vmid) or {}
        archive = newest.get(vmid)
        entry = dict(vmid=vmid, name=guest['name'], node=guest['node'], type=guest['type'],
                     archive=archive['volid'] if archive else None, size=archive['size'] if archive else None,
                     duration=outcome.get('duration'), status='ok', msg='')
        if outcome.get('status') == 'failed':
            entry.update(status='failed', msg=outcome['msg'])
        elif outcome.get('status') != 'ok' and archive is None:
            why = node_errors.get(guest['node'])
            entry.update(status='failed', msg='no archive was made{0}'.format(
                ' (the vzdump task on {0}: {1})'.format(guest['node'], why) if why else
                (': its backup did not finish' if outcome else ': the task log does not mention it')))
        report.append(entry)
    return report


def planned_report(guests):
    """The report of check mode: every guest ``planned``, nothing made."""
    return [dict(vmid=g['vmid'], name=g['name'], node=g['node'], type=g['type'], archive=None, size=None,
                 duration=None, status='planned', msg='') for g in guests]


def backup_failure(report):
    """The one-line failure of a backup with failed guests, or None when every guest has its archive."""
    failed = [r for r in report if r['status'] == 'failed']
    if not failed:
        return None
    return 'backup failed for {0} of {1} guest(s): {2}'.format(len(failed), len(report), '; '.join(
        '{0} on {1}: {2}'.format(guest_label(r), r['node'], r['msg']) for r in failed))


# ------------------------------------------------------------------- restore

class RestoreSpec:
    """What a restore task asks for, checked without a request."""

    def __init__(self, archive=None, vmid=None, name=None, target_vmid=None, target_name=None, node=None,
                 storage=None, unique=False, start=False, force=False):
        self.archive = archive
        self.vmid = vmid
        self.name = name
        self.target_vmid = target_vmid
        self.target_name = target_name
        self.node = node
        self.storage = storage
        self.unique = bool(unique)
        self.start = bool(start)
        self.force = bool(force)

    @classmethod
    def from_params(cls, params):
        archive = params.get('archive')
        if archive and ':' not in archive:
            raise PveError('archive: {0!r} is not a volume id (storage:backup/vzdump-...)'.format(archive))
        return cls(archive or None, params.get('vmid'), params.get('name'), params.get('target_vmid'),
                   params.get('target_name'), params.get('node'), params.get('storage'), params.get('unique'),
                   params.get('start'), params.get('force'))


def find_archive(client, cluster, spec):
    """The archive to restore: its copies (one per node for a node-local storage), oldest first.

    ``spec.archive``, or the newest backup of the guest named by vmid/name.
    """
    if spec.archive:
        volid = spec.archive
        _kind, vmid = parse_archive(volid)
        found = [a for a in list_archives(client, cluster, volid.split(':', 1)[0], vmid=vmid) if a['volid'] == volid]
        if not found:
            raise PveError('archive: {0!r} is not on any online node'.format(volid))
        return found
    vmid = spec.vmid
    if spec.name is not None:
        guest = cluster.find_guest(vmid=vmid, name=spec.name)
        if guest is None:
            raise PveError('name {0!r}: no guest of that name in the cluster; select the backup by vmid or '
                           'archive'.format(spec.name))
        vmid = guest['vmid']
    archives = [a for a in list_archives(client, cluster, vmid=vmid) if a['vmid'] == vmid]
    if not archives:
        raise PveError('vmid {0}: no backup of this guest on any storage'.format(vmid))
    newest = latest_per_guest(archives)[0]
    return [a for a in archives if a['volid'] == newest['volid']]


def restore_target(spec, cluster, copies):
    """(kind, vmid, node, the guest overwritten or None) of a restore, with every refusal (pure)."""
    archive = copies[0]
    kind = archive['type']
    if kind not in ('qemu', 'lxc'):
        raise PveError('archive: cannot tell whether {0!r} holds a VM or a container'.format(archive['volid']))
    target_vmid = int(spec.target_vmid or spec.vmid or archive['vmid'])
    existing = cluster.find_guest(vmid=target_vmid)
    node = spec.node
    if node is not None:
        cluster.require_node(node)
    if existing is not None:
        label = describe(existing)
        if not spec.force:
            raise PveError('target_vmid {0} exists ({1}): set force=true to overwrite it with the backup, or give '
                           'another target_vmid'.format(target_vmid, label))
        if existing['type'] != kind:
            raise PveError('target_vmid {0} is {1}, and the archive holds a {2}: PVE cannot overwrite one kind with '
                           'the other'.format(target_vmid, label, 'VM' if kind == 'qemu' else 'container'))
        if node is not None and node != existing['node']:
            raise PveError('node: {0} is on {1}; PVE overwrites a guest only on its own node'.format(
                label, existing['node']))
        if existing['status'] == 'running':
            raise PveError('cannot overwrite {0}: it is running; stop it first'.format(label))
        if existing.get('lock'):
            raise PveError('cannot overwrite {0}: it is locked ({1})'.format(label, existing['lock']))
        node = existing['node']
    if node is None:
        source_guest = cluster.find_guest(vmid=archive['vmid'])
        if archive['shared']:
            node = source_guest['node'] if source_guest is not None else cluster.online_nodes()[0]
        else:
            node = archive['node']
    if not archive['shared'] and node not in [a['node'] for a in copies]:
        raise PveError('node: {0!r} is on the local storage of {1}, not of {2}: restore it there or copy it to '
                       'shared storage'.format(archive['volid'], ', '.join(a['node'] for a in copies), node))
    return kind, target_vmid, node, existing


def read_root_storage(client, node, volid):
    """The storage a container archive's root disk was on (None when it says none): read from the archive,
    since PVE would otherwise put every volume on 'local', which often cannot hold container volumes."""
    text = client.get('nodes/{0}/vzdump/extractconfig'.format(node), volume=volid) or ''
    for line in str(text).splitlines():
        key, _sep, value = line.partition(':')
        if key.strip() == 'rootfs':
            volume = value.strip().split(',')[0]
            if ':' in volume:
                return volume.split(':', 1)[0]
    return None


def read_restore(client, spec):
    """(cluster, the archive's copies, the root storage of a container archive when spec.storage is not set)."""
    cluster = ClusterView.read(client)
    copies = find_archive(client, cluster, spec)
    root_storage = None
    if copies[0]['type'] == 'lxc' and spec.storage is None:
        _kind, _vmid, node, _existing = restore_target(spec, cluster, copies)
        root_storage = read_root_storage(client, node, copies[0]['volid'])
    return cluster, copies, root_storage


class RestorePlan(Plan):
    """A restore: the archive, the guest it makes (type, vmid, node, name) and the one it overwrites."""

    def __init__(self, archive, kind, vmid, node, name, overwrite):
        noun = 'VM' if kind == 'qemu' else 'CT'
        super(RestorePlan, self).__init__('{0} {1}'.format(noun, vmid))
        self.noun = noun
        self.archive = archive['volid']
        self.source_vmid = archive['vmid']
        self.type = kind
        self.vmid = vmid
        self.node = node
        self.name = name
        self.overwrite = overwrite


def plan_restore(spec, cluster, copies, root_storage=None):
    """The restore plan (pure: no request): restore, then rename and start when asked.

    With a new name the guest is started only after the rename, so it never runs under the old one.
    """
    kind, vmid, node, existing = restore_target(spec, cluster, copies)
    plan = RestorePlan(copies[0], kind, vmid, node, spec.target_name, existing)
    start_now = spec.start and not spec.target_name
    storage = spec.storage if spec.storage is not None or kind == 'qemu' else root_storage
    body = dict(vmid=vmid, unique=1 if spec.unique else None, force=1 if existing else None,
                start=1 if start_now else None, storage=storage)
    if kind == 'qemu':
        body['archive'] = plan.archive
    else:
        body.update(ostemplate=plan.archive, restore=1)
    text = 'restore {0} {1} on {2} from {3}'.format(plan.noun, vmid, node, plan.archive)
    if storage:
        text += ' onto storage {0}'.format(storage)
    if existing:
        text += ', overwriting {0}'.format(describe(existing))
    if spec.unique:
        text += ', with new MAC addresses'
    if start_now:
        text += ', and start it'
    before = dict((k, existing[k]) for k in ('vmid', 'name', 'node', 'type')) if existing else {}
    plan.add(Step('restore', vmid, text=text, data=dict(path='nodes/{0}/{1}'.format(node, kind), body=body)),
             before=before, after=dict(vmid=vmid, node=node, type=kind, archive=plan.archive, name=spec.target_name))
    if spec.target_name:
        key = 'name' if kind == 'qemu' else 'hostname'
        plan.add(Step('rename', vmid, text='set {0}: {1}'.format(key, spec.target_name), data={key: spec.target_name}))
        if spec.start:
            plan.add(Step('start', vmid, text='start {0} {1}'.format(plan.noun, vmid)))
    return plan


def apply_restore(run, plan):
    """Create the guest from the archive, rename and start it as planned, waiting for each task."""
    client = run.client
    guest = 'nodes/{0}/{1}/{2}'.format(plan.node, plan.type, plan.vmid)
    for step in plan.steps:
        if step.action == 'restore':
            run.wait(client.post(step.data['path'], **step.data['body']))
        elif step.action == 'rename':
            client.put(guest + '/config', **step.data)
        elif step.action == 'start':
            run.wait(client.post(guest + '/status/start'))
