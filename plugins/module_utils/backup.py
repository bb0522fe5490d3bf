# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""Backups: which guests a backup takes, vzdump per node, and the archives on the cluster's storages.

Shared by the backup, backup_info and restore modules. An archive is a ``backup``
volume named ``vzdump-<qemu|lxc>-<vmid>-YYYY_MM_DD-HH_MM_SS.<vma|tar>[.zst|.gz|.lzo]``;
a shared storage is listed once, a node-local one on each node that has it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.cluster import split_tags
from ansible_collections.pve.fleet.plugins.module_utils.prune import format_prune, prune_from_option
from ansible_collections.pve.fleet.plugins.module_utils.selection import describe
from ansible_collections.pve.fleet.plugins.module_utils.tasks import PveTaskError, wait_for_task

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
        raise PveError('storage: {0!r} is not a storage of the cluster (storages: {1})'.format(
            storage, ', '.join(sorted(cluster.storages)) or 'none'))
    online = cluster.online_nodes()
    out = []
    for sid in sorted(cluster.storages):
        if storage is not None and sid != storage:
            continue
        per_node = cluster.storages[sid]
        nodes = [n for n in sorted(per_node) if n in online and per_node[n].get('status', 'available') == 'available'
                 and 'backup' in str(per_node[n].get('content', '')).split(',')]
        if node is not None:
            nodes = [n for n in nodes if n == node]
        if not nodes:
            continue
        if any(per_node[n].get('shared') for n in nodes):
            out.append((sid, nodes[0], True))
        else:
            out.extend((sid, n, False) for n in nodes)
    return out


def list_archives(client, cluster, storage=None, node=None, vmid=None):
    """Every backup archive the cluster's storages hold (optionally of one storage, node or vmid), oldest first."""
    where = backup_storages(cluster, storage, node)
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

def select_for_backup(cluster, params):
    """The guests a backup takes: vmid/name pick them (all when ``all``), node/pool/tags narrow; sorted by vmid."""
    picked = {}
    for vmid in params.get('vmid') or []:
        guest = cluster.find_guest(vmid=vmid)
        if guest is None:
            raise PveError('vmid {0}: no such guest in the cluster'.format(vmid))
        picked[guest['vmid']] = guest
    for name in params.get('name') or []:
        guest = cluster.find_guest(name=name)
        if guest is None:
            raise PveError('name {0!r}: no guest of that name in the cluster'.format(name))
        picked[guest['vmid']] = guest
    explicit = bool(picked)
    if not explicit:
        picked = dict((g['vmid'], g) for g in cluster.guests)
    if params.get('node') is not None:
        cluster.require_node(params['node'])
    tags = set(split_tags(params.get('tags')))
    chosen = []
    for vmid in sorted(picked):
        guest = picked[vmid]
        narrowed = ((params.get('node') is None or guest['node'] == params['node'])
                    and (params.get('pool') is None or guest['pool'] == params['pool'])
                    and tags <= set(guest['tags']))
        if narrowed:
            chosen.append(guest)
        elif explicit:
            raise PveError('{0} was named by vmid/name but is not in the node/pool/tags it is narrowed to'.format(
                describe(guest)))
    return chosen


def check_storage(cluster, storage, guests):
    """The backup storage exists, holds backups, and is on every node a guest is on."""
    per_node = cluster.storages.get(storage)
    if per_node is None:
        raise PveError('storage: {0!r} is not a storage of the cluster (storages: {1})'.format(
            storage, ', '.join(sorted(cluster.storages)) or 'none'))
    for node in sorted(set(g['node'] for g in guests)):
        if cluster.nodes.get(node, {}).get('status') != 'online':
            raise PveError('node {0} is offline: its guests ({1}) cannot be backed up now'.format(
                node, ', '.join(str(g['vmid']) for g in guests if g['node'] == node)))
        if node not in per_node:
            raise PveError('storage: {0!r} is not available on node {1} (guests {2})'.format(
                storage, node, ', '.join(str(g['vmid']) for g in guests if g['node'] == node)))
        content = str(per_node[node].get('content', '')).split(',')
        if 'backup' not in content:
            raise PveError('storage: {0!r} does not hold backups (its content: {1})'.format(
                storage, ','.join(content)))


def prune_string(prune):
    """The prune option as PVE's prune-backups property string (keep-last=3,keep-daily=7)."""
    retention = prune_from_option(prune or {}, 'prune')
    if retention is None:
        raise PveError('prune: give at least one keep_* option (keep_last, keep_daily, ...)')
    return format_prune(retention)


def vzdump_body(params, vmids):
    body = {'vmid': ','.join(str(v) for v in vmids), 'storage': params['storage'], 'mode': params['mode'],
            'notes-template': params.get('notes')}
    if params.get('compress') is not None:
        body['compress'] = COMPRESS[params['compress']]
    if params.get('protected'):
        body['protected'] = 1
    if params.get('prune') is not None:
        body['prune-backups'] = prune_string(params['prune'])
        body['remove'] = 1
    return body


def run_backup(client, cluster, guests, params, timeout):
    """One vzdump task per node (started together), each waited for; returns (UPIDs, new archives)."""
    by_node = {}
    for guest in guests:
        by_node.setdefault(guest['node'], []).append(guest['vmid'])
    shared = any(cluster.storages[params['storage']][n].get('shared') for n in by_node)
    nodes = sorted(by_node)
    before = set(a['volid'] for a in list_archives(client, cluster, params['storage'],
                                                   None if shared or len(nodes) > 1 else nodes[0]))
    upids = [client.post('nodes/{0}/vzdump'.format(node), **vzdump_body(params, by_node[node])) for node in nodes]
    failures = []
    for upid in upids:
        try:
            wait_for_task(client, upid, timeout)
        except PveTaskError as exc:
            failures.append(exc)
    after = list_archives(client, cluster, params['storage'], None if shared or len(nodes) > 1 else nodes[0])
    wanted = set(g['vmid'] for g in guests)
    made = [a for a in after if a['volid'] not in before and a['vmid'] in wanted]
    if failures:
        first = failures[0]
        raise PveTaskError('backup failed on {0} of {1} node(s): {2}'.format(
            len(failures), len(upids), '; '.join(f.message for f in failures)), first.upid,
            exitstatus=first.exitstatus, log_tail=first.log_tail)
    made.sort(key=lambda a: (a['vmid'], a['ctime']))
    return upids, made


# ------------------------------------------------------------------- restore

def find_archive(client, cluster, params):
    """The archive to restore: O(archive), or the newest backup of the guest named by vmid/name."""
    if params.get('archive'):
        volid = params['archive']
        if ':' not in volid:
            raise PveError('archive: {0!r} is not a volume id (storage:backup/vzdump-...)'.format(volid))
        kind, vmid = parse_archive(volid)
        found = [a for a in list_archives(client, cluster, volid.split(':', 1)[0], vmid=vmid) if a['volid'] == volid]
        if not found:
            raise PveError('archive: {0!r} is not on any online node'.format(volid))
        return found
    vmid = params.get('vmid')
    if params.get('name') is not None:
        guest = cluster.find_guest(vmid=vmid, name=params['name'])
        if guest is None:
            raise PveError('name {0!r}: no guest of that name in the cluster; select the backup by vmid or '
                           'archive'.format(params['name']))
        vmid = guest['vmid']
    archives = [a for a in list_archives(client, cluster, vmid=vmid) if a['vmid'] == vmid]
    if not archives:
        raise PveError('vmid {0}: no backup of this guest on any storage'.format(vmid))
    newest = latest_per_guest(archives)[0]
    return [a for a in archives if a['volid'] == newest['volid']]


def plan_restore(client, cluster, params):
    """What the restore does: archive, type, target vmid and node, and the guest it overwrites (if any)."""
    copies = find_archive(client, cluster, params)
    archive = copies[0]
    kind = archive['type']
    if kind not in ('qemu', 'lxc'):
        raise PveError('archive: cannot tell whether {0!r} holds a VM or a container'.format(archive['volid']))
    source = archive['vmid']
    target_vmid = params.get('target_vmid') or params.get('vmid') or source
    existing = cluster.find_guest(vmid=target_vmid)
    node = params.get('node')
    if node is not None:
        cluster.require_node(node)
    if existing is not None:
        label = describe(existing)
        if not params.get('force'):
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
        source_guest = cluster.find_guest(vmid=source)
        if archive['shared']:
            node = source_guest['node'] if source_guest is not None else cluster.online_nodes()[0]
        else:
            node = archive['node']
    if not archive['shared'] and node not in [a['node'] for a in copies]:
        raise PveError('node: {0!r} is on the local storage of {1}, not of {2}: restore it there or copy it to '
                       'shared storage'.format(archive['volid'], ', '.join(a['node'] for a in copies), node))
    return dict(archive=archive['volid'], type=kind, source_vmid=source, vmid=int(target_vmid), node=node,
                overwrite=existing, name=params.get('target_name'))


def container_storage(client, plan):
    """The storage a container archive's root disk was on: PVE would put every volume on 'local' otherwise."""
    text = client.get('nodes/{0}/vzdump/extractconfig'.format(plan['node']), volume=plan['archive']) or ''
    for line in str(text).splitlines():
        key, _sep, value = line.partition(':')
        if key.strip() == 'rootfs':
            volume = value.strip().split(',')[0]
            if ':' in volume:
                return volume.split(':', 1)[0]
    return None


def run_restore(client, plan, params, timeout):
    """Create the guest from the archive, rename and start it as asked, waiting for each task; returns the UPIDs.

    With a new name, the guest is started only after the rename, so it never runs under the old one.
    """
    storage = params.get('storage')
    start_now = params.get('start') and not plan['name']
    body = dict(vmid=plan['vmid'], unique=1 if params.get('unique') else None,
                force=1 if plan['overwrite'] else None, start=1 if start_now else None)
    if plan['type'] == 'qemu':
        body.update(archive=plan['archive'], storage=storage)
    else:
        if storage is None:
            storage = container_storage(client, plan)
        body.update(ostemplate=plan['archive'], restore=1, storage=storage)
    path = 'nodes/{0}/{1}'.format(plan['node'], plan['type'])
    upids = [client.post(path, **body)]
    wait_for_task(client, upids[0], timeout)
    guest = '{0}/{1}'.format(path, plan['vmid'])
    if plan['name']:
        client.put(guest + '/config', **{'name' if plan['type'] == 'qemu' else 'hostname': plan['name']})
        if params.get('start'):
            upids.append(client.post(guest + '/status/start'))
            wait_for_task(client, upids[-1], timeout)
    return upids
