"""Migration of VMs and containers between the cluster's nodes.

QEMU follows qemu-server's API2/Qemu.pm (migrate_vm_precondition, migrate_vm) and
QemuMigrate.pm (prepare, scan_local_volumes, the phases); containers follow
pve-container's API2/LXC.pm (migrate_vm) and LXC/Migrate.pm (prepare); both finish as
pve-guest-common's AbstractMigrate.pm does. Refusals before the task are HTTP errors,
later ones end the task with `migration aborted` after PVE's log lines.
"""

import re
import time

from fakepve import PveError, TaskError
from fakepve.lxc import mount_type, parse_mount, print_mount
from fakepve.qemu import join_drive, split_drive, volume_ref
from fakepve.routing import param_error, split_list

from .tasks import stamp
from .volumes import ct_volumes, map_storage, qemu_volumes, storage_map

LOCAL_DEVICE = re.compile(r'^(usb|hostpci|serial|parallel|virtiofs)\d+$')


class Aborted(Exception):
    """A migration step failed: the message goes into 'migration aborted (...): <message>'."""


def duration(started):
    secs = int(time.time() - started)
    return '{0:02d}:{1:02d}:{2:02d}'.format(secs // 3600, secs // 60 % 60, secs % 60)


class Migration(object):
    """Mixin of FakePve: GET/POST /nodes/{node}/qemu/{vmid}/migrate; the LXC ones replace fakepve's."""

    # PVE seconds a VM migration takes (scaled by time_scale), so a test can see the 'migrate' lock.
    migrate_secs = 0

    def _routes_fleet_migration(self):
        one = '/nodes/{node}/qemu/{vmid}'
        return [('GET', one + '/migrate', self._qm_migrate_check), ('POST', one + '/migrate', self._qm_migrate)]

    # ---------------------------------------------------------------- shared

    def node_ip(self, node):
        """The address /cluster/status gives the node."""
        return '192.0.2.{0}'.format(10 + sorted(self.nodes).index(node) + 1)

    def _unavailable_storages(self, sids, node):
        """check_local_storage_availability: the guest's storages that are disabled or not on node."""
        return sorted(sid for sid in set(sids) if sid in self.storages and not self._storage_enabled(sid, node))

    def _node_verdicts(self, source, sids):
        """(allowed nodes, {node: {'unavailable_storages': [...]}}) for a guest using storages sids."""
        allowed, refused = [], {}
        for node in sorted(self.nodes):
            if node == source:
                continue
            missing = self._unavailable_storages(sids, node)
            if missing:
                refused[node] = {'unavailable_storages': missing}
            else:
                allowed.append(node)
        return allowed, refused

    def _check_target_node(self, node, target):
        if target == node:
            raise param_error(target='target is local node.')
        self.need_quorum()
        if target not in self.nodes:
            raise PveError(500, "no such cluster node '{0}'".format(target))

    def _check_target_storages(self, user, mapping, target):
        """check_storage_access_migrate for every storage the map sends volumes to."""
        for sid in sorted(set(mapping['entries'].values()) | {mapping['default']} - {None}):
            self._check_enabled(sid, target)
            self.require(user, '/storage/' + sid, 'Datastore.AllocateSpace')
            if 'images' not in split_list(self.storages[sid].get('content')):
                raise PveError(500, "storage '{0}' does not support vm images".format(sid))

    async def _run_migration(self, guest, kind, user, ttype, steps):
        """The frame of AbstractMigrate::migrate: lock the guest 'migrate', steps(log) does the work,
        a failure aborts and leaves the guest where it was."""
        async def body(log):
            started = time.time()
            try:
                if guest.lock:
                    raise Aborted('{0} is locked ({1})'.format(kind, guest.lock))
                self._set_lock(guest, 'migrate')
                try:
                    await steps(log)
                finally:
                    self._set_lock(guest, None)
            except (Aborted, PveError) as e:
                message = str(e) if isinstance(e, Aborted) else e.message
                log(stamp('ERROR: migration aborted (duration {0}): {1}'.format(duration(started), message)))
                raise TaskError('migration aborted') from e
            log(stamp('migration finished successfully (duration {0})'.format(duration(started))))
        return await self.run_task(guest.node, ttype, guest.vmid, user, body, guest=guest)

    def _connect(self, target):
        """The ssh test of prepare(): an offline target does not answer."""
        if not self.nodes[target].get('online', True):
            raise Aborted("Can't connect to destination address using public key")

    @staticmethod
    def _set_lock(guest, lock):
        guest.lock = lock
        if lock:
            guest.config['lock'] = lock
        else:
            guest.config.pop('lock', None)

    # ------------------------------------------------------------------ QEMU

    @staticmethod
    def _qm_local_resources(config):
        """PVE::QemuMigrate::Helpers::check_local_resources, without mappings."""
        found = ['ivshmem'] if config.get('ivshmem') else []
        for key in sorted(config):
            if not LOCAL_DEVICE.match(key):
                continue
            value = str(config[key])
            if key.startswith('serial') and value == 'socket':
                continue
            if key.startswith('usb') and re.search(r'(^|,)host=spice(,|$)', value, re.I):
                continue
            found.append(key)
        return found

    def _qm_storages(self, config):
        return [volume_ref(v['volid'])[0] for v in qemu_volumes(config) if volume_ref(v['volid'])[0]]

    def _qm_local_disks(self, vm):
        """$check_vm_disks_local: the volumes not on shared storage, CD-ROM images included."""
        out = []
        for vol in qemu_volumes(vm.config):
            sid = volume_ref(vol['volid'])[0]
            if vol['volid'] in ('none', 'cdrom') and vol['cdrom']:
                if vol['volid'] == 'cdrom':
                    out.append({'volid': 'cdrom', 'cdrom': 1, 'is_attached': 1, 'drivename': vol['key']})
                continue
            if sid and self.is_shared(sid) or vol['props'].get('shared') in ('1', 1):
                continue
            item = {'volid': vol['volid'], 'size': self.drive_size(vol['props']) or self.volume_size(vol['volid']),
                    'drivename': vol['key']}
            item.update({'is_unused': 1} if vol['unused'] else {'is_attached': 1})
            if vol['cdrom']:
                item['cdrom'] = 1
            out.append(item)
        return out

    async def _qm_migrate_check(self, v, user):
        vm = self.find(v['node'], v['vmid'])
        self.need_quorum()
        self._check_lock(vm)
        running = vm.status == 'running'
        allowed, refused = self._node_verdicts(vm.node, self._qm_storages(vm.config))
        return {'running': 1 if running else 0, 'allowed_nodes': allowed, 'not_allowed_nodes': refused,
                'local_disks': self._qm_local_disks(vm), 'local_resources': self._qm_local_resources(vm.config),
                'mapped-resources': [], 'mapped-resource-info': {}, 'has-dbus-vmstate': 1}

    async def _qm_migrate(self, v, user):
        node, target = v['node'], v['target']
        self._check_target_node(node, target)
        for opt in ('force', 'migration_type', 'migration_network'):
            if v.get(opt) and user != 'root@pam':
                raise param_error(**{opt: 'Only root may use this option.'})
        vm = self.find(node, v['vmid'])
        self._check_lock(vm)
        online = bool(v.get('online'))
        if vm.status == 'running' and not online:
            raise PveError(500, "can't migrate running VM without --online")
        notes = []
        if vm.status != 'running':
            if online:
                notes.append("VM isn't running. Doing offline migration instead.")
            online = False
        mapping = storage_map(v['targetstorage']) if v.get('targetstorage') else None
        if mapping:
            if not mapping['identity']:
                self.require(user, '/vms/{0}'.format(vm.vmid), 'VM.Config.Disk')
            self._check_target_storages(user, mapping, target)
        if not mapping or mapping['identity']:
            self._qm_check_storage_availability(vm.config, target)

        async def steps(log):
            for line in notes:
                log(line)
            await self._qm_migrate_steps(vm, target, online, mapping, v, log)
        return await self._run_migration(vm, 'VM', user, 'qmigrate', steps)

    def _qm_check_storage_availability(self, config, target):
        """PVE::QemuServer::check_storage_availability: each volume's storage is enabled on the target."""
        for sid in self._qm_storages(config):
            if sid in self.storages:
                self._check_enabled(sid, target)

    async def _qm_migrate_steps(self, vm, target, online, mapping, v, log):
        blocking = self._qm_local_resources(vm.config)
        if blocking and (vm.status == 'running' or not v.get('force')):
            raise Aborted("can't migrate VM which uses local devices: " + ', '.join(blocking))
        self._connect(target)
        log(stamp("starting migration of VM {0} to node '{1}' ({2})".format(vm.vmid, target, self.node_ip(target))))
        moves = self._qm_scan_volumes(vm, target, online, mapping, v, log)
        await self.pause(self.migrate_secs)
        self._connect(target)
        if moves:
            log(stamp('starting storage migration' if online else 'copying local disk images'))
        for key, volid, targetsid in moves:
            new = self._move_volume(vm, key, volid, targetsid)
            log(stamp("volume '{0}' is '{1}' on the target".format(volid, new)))
        if online:
            log(stamp("starting VM {0} on remote node '{1}'".format(vm.vmid, target)))
            log(stamp('start migrate command to unix:/run/qemu-server/{0}.migrate'.format(vm.vmid)))
            log(stamp('migration status: completed'))
        vm.node = target

    def _qm_scan_volumes(self, vm, target, online, mapping, v, log):
        """scan_local_volumes: what must be copied, or 'can't migrate VM - check log'."""
        errors, moves = [], []
        for vol in qemu_volumes(vm.config):
            volid, sid = vol['volid'], volume_ref(vol['volid'])[0]
            if vol['cdrom'] and volid == 'cdrom':
                errors.append((None, "can't migrate local cdrom drive"))
                continue
            if not sid or volid == 'none':
                continue
            try:
                if sid not in self.storages:
                    raise Aborted("storage '{0}' does not exist".format(sid))
                shared = self.is_shared(sid)
                targetsid = sid if shared else map_storage(mapping, sid)
                self._qm_target_storage(targetsid, target, volid)
                if shared:
                    continue
                if vol['cdrom']:
                    raise Aborted('local cdrom image')
            except (Aborted, PveError) as e:
                errors.append((volid, getattr(e, 'message', None) or str(e)))
                continue
            ref = 'unused' if vol['unused'] else 'attached'
            log(stamp("found local disk '{0}' ({1})".format(volid, ref)))
            if online and ref == 'attached' and not v.get('with-local-disks'):
                errors.append((volid, "can't live migrate attached local disks without with-local-disks option"))
                continue
            moves.append((vol['key'], volid, targetsid))
        for volid, message in errors:
            log(stamp("WARN: can't migrate local disk '{0}': {1}".format(volid, message)) if volid
                else stamp('WARN: ' + message))
        if errors:
            log(stamp('aborting phase 1 - cleanup resources'))
            raise Aborted("Problem found while scanning volumes - can't migrate VM - check log")
        return moves

    def _qm_target_storage(self, targetsid, target, volid):
        """target_storage_check_available."""
        store = self._check_enabled(targetsid, target)
        vtype = 'iso' if '/iso/' in volid or ':iso/' in volid else 'images'
        if vtype not in split_list(store.get('content')):
            raise Aborted("{0}: content type '{1}' is not available on storage '{2}'".format(volid, vtype, targetsid))

    def _move_volume(self, vm, key, volid, targetsid):
        """storage_migrate of one VM volume: same name on the target's storage, or a new one on another."""
        if targetsid == volume_ref(volid)[0]:
            return volid
        props = split_drive(vm.config[key])[1]
        size = self.drive_size(props) or self.volume_size(volid)
        new, _fmt = self._qm_alloc(targetsid, vm.vmid, None, size)
        self._qm_free(volid)
        vm.config[key] = join_drive(new, props)
        return new

    # ------------------------------------------------------------------- LXC

    def _ct_storages(self, ct):
        return [volume_ref(m.get('volume', ''))[0] for _k, m in ct_volumes(ct.config)
                if mount_type(m.get('volume', '')) == 'volume' and volume_ref(m.get('volume', ''))[0]]

    async def _lxc_migrate_check(self, user, v):
        ct = self._find_ct(v['node'], v['vmid'])
        self.need_quorum()
        self._ct_check_lock(ct)
        allowed, refused = self._node_verdicts(ct.node, self._ct_storages(ct))
        return {'running': 1 if ct.status == 'running' else 0, 'allowed-nodes': allowed,
                'not-allowed-nodes': refused}

    async def _lxc_migrate(self, user, v):
        node, target = v['node'], v['target']
        self._check_target_node(node, target)
        ct = self._find_ct(node, v['vmid'])
        running = ct.status == 'running'
        if running and not v.get('online') and not v.get('restart'):
            raise PveError(500, "can't migrate running container without --online or --restart")
        try:
            mapping = storage_map(v['target-storage']) if v.get('target-storage') else None
        except ValueError as e:
            raise param_error(**{'target-storage': 'failed to parse storage map: {0}'.format(e)}) from e
        if mapping:
            if not mapping['identity']:
                self._vm_perm(user, ct.vmid, None, 'VM.Config.Disk')
            for sid in sorted(set(mapping['entries'].values()) | {mapping['default']} - {None}):
                self._check_enabled(sid, target)
                self.require(user, '/storage/' + sid, 'Datastore.AllocateSpace')

        async def steps(log):
            await self._ct_migrate_steps(ct, target, mapping, v, log)
        return await self._run_migration(ct, 'CT', user, 'vzmigrate', steps)

    async def _ct_migrate_steps(self, ct, target, mapping, v, log):
        running = ct.status == 'running'
        if running and v.get('online'):
            raise Aborted('lxc live migration is currently not implemented')
        if running and not v.get('restart'):
            raise Aborted('running container can only be migrated in restart mode')
        moves = self._ct_scan_volumes(ct, target, mapping)
        self._connect(target)
        if running:
            log(stamp('shutdown CT {0}'.format(ct.vmid)))
            await self._ct_powerdown(ct, v.get('timeout') or 180, True)
        log(stamp("starting migration of CT {0} to node '{1}' ({2})".format(ct.vmid, target, self.node_ip(target))))
        for key, volid, targetsid in moves:
            log(stamp("found local volume '{0}' (in current VM config)".format(volid)))
        for key, volid, targetsid in moves:
            new = self._ct_move_volume(ct, key, volid, targetsid)
            log(stamp("volume '{0}' is '{1}' on the target".format(volid, new)))
        await self.pause(self.ct_secs['migrate'])
        ct.node = target
        if running:
            log(stamp("start container on target node"))
            ct.status = 'running'
            ct.started_at = time.time()
            ct.pid = next(self._ct_pids)

    def _ct_scan_volumes(self, ct, target, mapping):
        """LXC::Migrate::prepare: bind and device mounts block; every storage must exist on the target."""
        moves = []
        for key, mount in ct_volumes(ct.config):
            volume = mount.get('volume', '')
            kind = mount_type(volume)
            if kind != 'volume':
                if str(mount.get('shared', '0')) in ('1', 'true'):
                    continue
                raise Aborted("cannot migrate local {0} mount point '{1}'".format(kind, key))
            sid = volume_ref(volume)[0]
            if not sid:
                raise Aborted("can't determine assigned storage for mount point '{0}'".format(key))
            store = self._check_enabled(sid, ct.node)
            if 'rootdir' not in split_list(store.get('content')) and not key.startswith('unused'):
                raise Aborted("content type 'rootdir' is not available on storage '{0}'".format(sid))
            targetsid = sid if self.is_shared(sid) else map_storage(mapping, sid)
            target_store = self._check_enabled(targetsid, target)
            if 'rootdir' not in split_list(target_store.get('content')):
                raise Aborted("{0}: content type 'rootdir' is not available on storage '{1}'".format(volume, targetsid))
            if not self.is_shared(sid):
                moves.append((key, volume, targetsid))
        return moves

    def _ct_move_volume(self, ct, key, volid, targetsid):
        sid = volume_ref(volid)[0]
        if targetsid == sid:
            return volid
        mount = parse_mount(ct.config[key])
        mount['volume'] = self._allocate(ct.vmid, targetsid, self._taken_volumes())
        ct.config[key] = print_mount(mount, key == 'rootfs')
        return mount['volume']
