"""vzdump and pruning: archives in the storage's content, kept as PVE keeps them.

Follows pve-manager's PVE/VZDump.pm (the job, exec_backup_task, notes templates, the
protected and backup limits, prune after backup) and API2/VZDump.pm; pruning follows
pve-storage's PVE/Storage.pm (prune_mark_backup_group) and API2/Storage/PruneBackups.pm.
An archive is a volume `backup/vzdump-<qemu|lxc>-<vmid>-YYYY_MM_DD-HH_MM_SS.<vma|tar>[.zst]`
that also holds the guest's config at backup time, for restore.py.
"""

import copy
import re
import time

from fakepve import PveError, TaskError
from fakepve.routing import die, param_error, split_list

from .volumes import ct_volumes, qemu_volumes

MIB = 1024 ** 2
KEEP_OPTIONS = ('keep-all', 'keep-last', 'keep-hourly', 'keep-daily', 'keep-weekly', 'keep-monthly', 'keep-yearly')
COMPRESSION = {None: '', '0': '', '1': '.lzo', 'lzo': '.lzo', 'gzip': '.gz', 'zstd': '.zst'}
NOTES_VARS = ('cluster', 'guestname', 'node', 'vmid')
# Config keys an archive does not keep (the lock, snapshot bookkeeping).
NOT_ARCHIVED = ('lock', 'digest', 'parent', 'snapstate', 'snaptime', 'vmstate')
ARCHIVE = re.compile(r'^backup/vzdump-(qemu|lxc|openvz)-(\d+)-(\d{4})_(\d\d)_(\d\d)-(\d\d)_(\d\d)_(\d\d)\.(vma|tar)')


# ------------------------------------------------------------------- pruning

def parse_keep(text):
    """The prune-backups property string as {option: int}; PVE's 400 for an unknown option."""
    keep = {}
    for item in split_list(text):
        key, _sep, value = item.partition('=')
        if key not in KEEP_OPTIONS or not value.isdigit():
            raise param_error(**{'prune-backups': "invalid format - unknown or malformed option '{0}'".format(item)})
        keep[key] = int(value)
    return keep


def _bucket(option, ctime):
    moment = time.localtime(ctime)
    return {'keep-last': lambda: ctime,
            'keep-hourly': lambda: time.strftime('%H/%d/%m/%Y', moment),
            'keep-daily': lambda: time.strftime('%d/%m/%Y', moment),
            'keep-weekly': lambda: time.strftime('%V/%G', moment),
            'keep-monthly': lambda: time.strftime('%m/%Y', moment),
            'keep-yearly': lambda: time.strftime('%Y', moment)}[option]()


def prune_marks(group, keep):
    """prune_mark_backup_group: entries (dicts with ctime, maybe mark 'protected') get mark keep or remove."""
    if keep.get('keep-all') or not any(keep.get(k) for k in KEEP_OPTIONS[1:]):
        for entry in group:
            entry.setdefault('mark', 'keep')
        return group
    newest_first = sorted(group, key=lambda e: -e['ctime'])
    for option in KEEP_OPTIONS[1:]:
        count = keep.get(option)
        if not count:
            continue
        kept = set(_bucket(option, e['ctime']) for e in newest_first if e.get('mark') == 'keep')
        new = set()
        for entry in newest_first:
            bucket = _bucket(option, entry['ctime'])
            if entry.get('mark') or bucket in kept:
                continue
            if bucket not in new:
                if len(new) >= count:
                    break
                new.add(bucket)
                entry['mark'] = 'keep'
            else:
                entry['mark'] = 'remove'
    for entry in group:
        entry.setdefault('mark', 'remove')
    return group


# --------------------------------------------------------------------- notes

def check_notes_template(template):
    """$verify_notes_template: no line feed, only \\n and \\\\ escapes, only the known variables."""
    if '\n' in template:
        raise param_error(**{'notes-template': 'contains a line feed'})
    problems = ["escape sequence '\\{0}' at char {1}".format(m.group(1), m.start())
                for m in re.finditer(r'\\(.)', template) if m.group(1) not in 'n\\']
    problems += ["variable '{0}' at char {1}".format(m.group(1), m.start(1))
                 for m in re.finditer(r'\{\{([^\s{}]+)\}\}', template) if m.group(1) not in NOTES_VARS]
    if problems:
        raise param_error(**{'notes-template': 'found unknown: ' + ', '.join(problems)})


def render_notes(template, values):
    text = re.sub(r'\\(.)', lambda m: '\n' if m.group(1) == 'n' else '\\', template)
    return re.sub(r'\{\{(' + '|'.join(NOTES_VARS) + r')\}\}', lambda m: str(values[m.group(1)]), text)


def archive_config(guest):
    """The config an archive keeps: the current one, without locks and snapshot bookkeeping."""
    return dict((k, copy.deepcopy(x)) for k, x in guest.config.items() if k not in NOT_ARCHIVED)


class Backup(object):
    """Mixin of FakePve: POST /nodes/{node}/vzdump, extractconfig, and the prunebackups endpoints."""

    def _routes_fleet_backup(self):
        prune = '/nodes/{node}/storage/{storage}/prunebackups'
        return [('POST', '/nodes/{node}/vzdump', self._vzdump),
                ('GET', '/nodes/{node}/vzdump/extractconfig', self._vzdump_extractconfig),
                ('GET', prune, self._prune_list), ('DELETE', prune, self._prune_delete)]

    # ------------------------------------------------------------------ vzdump

    async def _vzdump(self, v, user):
        node = v['node']
        for opt in ('all', 'pool', 'exclude'):
            if v.get(opt) and v.get('vmid'):
                raise param_error(**{opt: "option conflicts with option 'vmid'"})
        if not (v.get('vmid') or v.get('all') or v.get('pool')):
            raise param_error(vmid='property is missing')
        if v.get('notes-template'):
            check_notes_template(v['notes-template'])
        keep = parse_keep(v['prune-backups']) if v.get('prune-backups') else None
        sid = v.get('storage') or 'local'
        store = self._check_enabled(sid, node)
        if 'backup' not in split_list(store.get('content')):
            raise die("can't use storage '{0}' for backups - wrong content type".format(sid))
        vmids = self._vzdump_selection(v, node)
        here = [vmid for vmid in vmids if self.guest(vmid) is not None and self.guest(vmid).node == node]
        external = [vmid for vmid in vmids if vmid not in here]
        opts = dict(v, storage=sid, mode=v.get('mode') or 'snapshot', keep=keep)

        async def body(log):
            log.info('starting new backup job: vzdump {0}'.format(self._vzdump_cmdline(v, vmids, sid)))
            if external:
                log.info('skip external VMs: ' + ', '.join(str(x) for x in sorted(external)))
            errors = 0
            for vmid in here:
                errors += not await self._backup_guest(self.guest(vmid), node, opts, user, log)
            if errors:
                log.info('Backup job finished with errors')
                raise TaskError('job errors')
            log.info('Backup job finished successfully')
        tid = str(vmids[0]) if len(vmids) == 1 else ''
        return await self.run_task(node, 'vzdump', tid, user, body)

    def _vzdump_selection(self, v, node):
        if v.get('vmid'):
            return [int(x) for x in split_list(v['vmid'])]
        if v.get('pool'):
            return sorted(self.pools.get(v['pool'], ()))
        excluded = set(int(x) for x in split_list(v.get('exclude')))
        return sorted(g.vmid for g in self._guests() if g.node == node and g.vmid not in excluded)

    @staticmethod
    def _vzdump_cmdline(v, vmids, sid):
        opts = ' '.join('--{0} {1}'.format(k, v[k]) for k in sorted(v)
                        if k not in ('node', 'vmid', 'storage', 'all') and v[k] is not None)
        what = '--all 1' if v.get('all') else ' '.join(str(x) for x in vmids)
        return ' '.join(x for x in (what, '--storage ' + sid, opts) if x)

    async def _backup_guest(self, guest, node, opts, user, log):
        """exec_backup_task: one guest's archive; False (logged) if it failed."""
        kind = 'qemu' if guest in self.vms else 'lxc'
        started = time.time()
        log.info('Starting Backup of VM {0} ({1})'.format(guest.vmid, kind))
        log.info('Backup started at ' + time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(self.now())))
        try:
            running = guest.status == 'running'
            log.info('status = ' + ('running' if running else 'stopped'))
            if guest.lock:
                raise PveError(500, '{0} is locked ({1})'.format('VM' if kind == 'qemu' else 'CT', guest.lock))
            self._check_backup_limits(guest, kind, opts)
            mode = opts['mode'] if running else 'stop'
            log.info('backup mode: ' + mode)
            self._set_backup_lock(guest, 'backup')
            try:
                volname = await self._write_archive(guest, kind, node, opts, mode, log)
            finally:
                self._set_backup_lock(guest, None)
            self._after_archive(guest, node, opts, volname, log)
        except (PveError, TaskError) as e:
            log.err('Backup of VM {0} failed - {1}'.format(guest.vmid, getattr(e, 'message', None) or str(e)))
            return False
        secs = int(time.time() - started)
        log.info('Finished Backup of VM {0} ({1:02d}:{2:02d}:{3:02d})'.format(
            guest.vmid, secs // 3600, secs // 60 % 60, secs % 60))
        return True

    @staticmethod
    def _set_backup_lock(guest, lock):
        guest.lock = lock
        if lock:
            guest.config['lock'] = lock
        else:
            guest.config.pop('lock', None)

    def _check_backup_limits(self, guest, kind, opts):
        """The protected limit (max-protected-backups, 5 unless the storage says) and, without remove,
        the backup limit the retention options imply."""
        sid = opts['storage']
        store = self.storages[sid]
        mine = [vol for vol in self._backups(sid, opts['node']) if vol['vmid'] == guest.vmid
                and vol['subtype'] == kind]
        protected = sum(1 for vol in mine if vol.get('protected'))
        if opts.get('protected'):
            limit = int(store.get('max-protected-backups', 5))
            if limit > -1 and protected >= limit:
                raise die('The number of protected backups per guest is limited to {0} on storage '
                          "'{1}'".format(limit, sid))
            return
        keep = self._keep_for(sid, opts)
        limit = 0 if keep.get('keep-all') else sum(n for k, n in keep.items() if k != 'keep-all')
        if limit and str(opts.get('remove', 1)) in ('0', 'False') and len(mine) - protected >= limit:
            raise die('There is a max backup limit of {0} enforced by the target storage or the vzdump '
                      'parameters. Either increase the limit or delete old backups.'.format(limit))

    def _keep_for(self, sid, opts):
        """The retention that applies: the job's prune-backups, else the storage's, else keep-all."""
        if opts.get('keep') is not None:
            return opts['keep']
        option = self.storages[sid].get('prune-backups')
        return parse_keep(option) if option else {'keep-all': 1}

    async def _write_archive(self, guest, kind, node, opts, mode, log):
        """Stop or suspend the guest as the mode says, write the archive, bring the guest back."""
        sid = opts['storage']
        running = guest.status == 'running'
        if running and mode == 'stop':
            log.info('stopping virtual guest')
            self._power(guest, 'stopped')
        elif running and mode == 'suspend':
            log.info('suspending guest')
        ext = ('.vma' if kind == 'qemu' else '.tar') + COMPRESSION[opts.get('compress')]
        stamp = self.now()
        while True:
            name = 'vzdump-{0}-{1}-{2}{3}'.format(kind, guest.vmid, time.strftime(
                '%Y_%m_%d-%H_%M_%S', time.localtime(stamp)), ext)
            if 'backup/' + name not in self._volumes(sid):
                break
            stamp += 1  # a second backup within the same second: PVE would clash, we move on
        log.info("creating vzdump archive '{0}'".format(self._volume_path(sid, 'backup/' + name, 'backup')))
        size = self._archive_size(guest, kind)
        self.store_file(sid, name, size, 'backup')
        vol = self.storages[sid]['volumes']['backup/' + name]
        vol.update(ctime=stamp, vmid=guest.vmid, subtype=kind, format=ext.lstrip('.'),
                   config=archive_config(guest), name=guest.name)
        if not self.is_shared(sid):
            vol['node'] = node
        log.info('archive file size: {0:.2f}MB'.format(size / MIB))
        if running and mode == 'stop':
            log.info('restarting vm')
            self._power(guest, 'running')
        elif running and mode == 'suspend':
            log.info('resuming guest')
        return 'backup/' + name

    def _power(self, guest, status):
        """Stop or start the guest for a stop-mode backup (no tasks of their own, as in vzdump)."""
        running = status == 'running'
        guest.status = status
        if guest in self.vms:
            guest.qmpstatus = status
        else:
            guest.pid = next(self._ct_pids) if running else None
        guest.started_at = time.time() if running else None

    def _archive_size(self, guest, kind):
        """A quarter of the disks' sizes plus the config: what zstd makes of a mostly empty guest."""
        if kind == 'qemu':
            disks = [self.drive_size(v['props']) for v in qemu_volumes(guest.config) if not v['cdrom']]
        else:
            disks = [self.drive_size(m) for _k, m in ct_volumes(guest.config)]
        return sum(disks) // 4 + MIB

    def _after_archive(self, guest, node, opts, volname, log):
        """Notes, the protected flag, then pruning, in PVE's order."""
        sid = opts['storage']
        vol = self.storages[sid]['volumes'][volname]
        if opts.get('notes-template'):
            log.info('adding notes to backup')
            vol['notes'] = render_notes(opts['notes-template'], {
                'cluster': self.cluster_name, 'guestname': guest.name, 'node': node, 'vmid': guest.vmid})
        if opts.get('protected'):
            log.info('marking backup as protected')
            vol['protected'] = True
        keep = self._keep_for(sid, opts)
        if str(opts.get('remove', 1)) in ('0', 'False') or keep.get('keep-all'):
            return
        log.info('prune older backups with retention: ' + ', '.join(
            '{0}={1}'.format(k, keep[k]) for k in sorted(keep)))
        removed = self._prune(sid, node, keep, guest.vmid, vol['subtype'], dryrun=False, log=log)
        log.info('pruned {0} backup(s){1}'.format(
            len(removed), ' not covered by keep-retention policy' if removed else ''))

    # ------------------------------------------------------------ the content

    def _backups(self, sid, node):
        """The backups on a storage as this node sees them: dicts with volid, volname, vmid, subtype, ..."""
        out = []
        for volname, vol in self._volumes(sid).items():
            if vol.get('content') != 'backup' or self.volume_node(sid, volname, vol) not in (None, node):
                continue
            found = ARCHIVE.match(volname)
            entry = dict(vol, volname=volname, volid='{0}:{1}'.format(sid, volname))
            if found:
                entry.setdefault('vmid', int(found.group(2)))
                entry.setdefault('subtype', 'lxc' if found.group(1) == 'openvz' else found.group(1))
            out.append(entry)
        return out

    def _prune(self, sid, node, keep, vmid, kind, dryrun, log=None):
        """PVE::Storage::prune_backups: the marked list; without dryrun, removes what is marked remove."""
        entries = []
        for vol in self._backups(sid, node):
            if (vmid is not None and vol.get('vmid') != vmid) or (kind and vol.get('subtype') != kind):
                continue
            entry = {'volid': vol['volid'], 'ctime': int(vol.get('ctime') or 0), 'vmid': vol.get('vmid'),
                     'type': vol.get('subtype') or 'unknown'}
            if not ARCHIVE.match(vol['volname']):
                entry['mark'] = 'renamed'
            elif vol.get('protected'):
                entry['mark'] = 'protected'
            entries.append(entry)
        groups = {}
        for entry in entries:
            if entry.get('mark') != 'renamed':
                groups.setdefault((entry['type'], entry['vmid']), []).append(entry)
        for group in groups.values():
            prune_marks(group, keep)
        removed = [e for e in entries if e['mark'] == 'remove']
        if not dryrun:
            for entry in removed:
                if log:
                    log.info("delete old backup '{0}'".format(self._volume_path(
                        sid, entry['volid'].split(':', 1)[1], 'backup')))
                self._drop_volume(sid, entry['volid'].split(':', 1)[1])
        return removed if not dryrun else entries

    def _drop_volume(self, sid, volname):
        store = self.storages[sid]
        vol = store.get('volumes', {}).pop(volname, None)
        if vol and 'avail' in store:
            store['avail'] += int(vol.get('size') or 0)

    async def _prune_list(self, v, user):
        keep = self._prune_options(v)
        entries = self._prune(v['storage'], v['node'], keep, v.get('vmid'), v.get('type'), dryrun=True)
        return sorted(entries, key=lambda e: (e['type'], e['vmid'] or 0, -e['ctime']))

    async def _prune_delete(self, v, user):
        sid, node, vmid = v['storage'], v['node'], v.get('vmid')
        if vmid is not None:
            self.require(user, '/storage/' + sid, 'Datastore.AllocateSpace')
            self.require(user, '/vms/{0}'.format(vmid), 'VM.Backup')
        else:
            self.require(user, '/storage/' + sid, 'Datastore.Allocate')
        keep = self._prune_options(v)

        async def body(log):
            for entry in self._prune(sid, node, keep, vmid, v.get('type'), dryrun=False):
                log("removing backup '{0}'".format(entry['volid']))
        tid = '{0}@{1}'.format(vmid, sid) if vmid is not None else sid
        return await self.run_task(node, 'prunebackups', tid, user, body)

    def _prune_options(self, v):
        sid = v['storage']
        store = self._check_enabled(sid, v['node'])
        if 'backup' not in split_list(store.get('content')):
            raise die("storage '{0}' does not support backups".format(sid))
        if v.get('prune-backups'):
            return parse_keep(v['prune-backups'])
        if not store.get('prune-backups'):
            raise die("no prune-backups options configured for storage '{0}'".format(sid))
        return parse_keep(store['prune-backups'])

    # ------------------------------------------------------------ extractconfig

    async def _vzdump_extractconfig(self, v, user):
        """The guest config inside an archive, as the text of its config file."""
        vol = self.backup_volume(v['volume'], v['node'])
        config = vol['config']
        lines = ['#' + line for line in str(config.get('description', '')).splitlines()]
        lines += ['{0}: {1}'.format(k, config[k]) for k in sorted(config) if k != 'description']
        return '\n'.join(lines) + '\n'

    def backup_volume(self, volid, node):
        """The archive volume, visible from node, or PVE's "can't find file" (abs_filesystem_path)."""
        sid = str(volid).partition(':')[0]
        if ':' in str(volid) and sid not in self.storages:
            raise die("storage '{0}' does not exist".format(sid))
        vol = self.volume_on_node(volid, node)
        if vol is None or vol.get('content') != 'backup' or 'config' not in vol:
            raise die("can't find file '{0}'".format(volid))
        return vol
