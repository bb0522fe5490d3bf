"""Restore: a guest recreated from the config and disks of a vzdump archive (backup.py).

QEMU follows qemu-server's API2/Qemu.pm (create_vm with `archive`) and QemuServer.pm
(restore_update_config_line: new vmgenid always, new MACs and SMBIOS UUID with `unique`,
no lock, unused or parent). Containers follow pve-container's API2/LXC.pm (create_vm with
`restore=1`): every volume goes to `storage` (default `local`) unless rootfs/mpN are
given. An existing id is refused unless `force=1` on the same node.
"""

import re
import time
import uuid

from fakepve import FakeCt, FakeVm, PveError, TaskError
from fakepve.lxc import CREATE_ONLY as CT_CREATE_ONLY
from fakepve.lxc import MOUNT_KEY, format_size, mount_type, normalise, parse_mount, parse_size, print_mount
from fakepve.lxc import random_mac, split_props
from fakepve.qemu import DRIVE_KEY, drives_of, is_cdrom, join_drive, with_mac
from fakepve.routing import die, param_error

from .volumes import UNUSED_KEY

CT_NEW_VOLUME = re.compile(r'^([^:\s]+):(\d+(?:\.\d+)?)$')


def fresh_uuid(value):
    """smbios1 with a new uuid=, the rest kept."""
    props = [p for p in str(value or '').split(',') if p and not p.startswith('uuid=')]
    return ','.join(sorted(props + ['uuid=' + str(uuid.uuid4())]))


class Restore(object):
    """Mixin of FakePve: POST /nodes/{node}/qemu with archive=, POST /nodes/{node}/lxc with restore=1."""

    # ------------------------------------------------------------------ QEMU

    async def _qm_create(self, v, user):
        if not v.get('archive'):
            return await super()._qm_create(v, user)
        return await self._qm_restore(v, user)

    async def _qm_restore(self, v, user):
        node, vmid, pool, storage = v['node'], int(v['vmid']), v.get('pool'), v.get('storage')
        self.need_quorum()
        self._qm_check_pool(pool)
        if storage:
            self.require(user, '/storage/' + storage, 'Datastore.AllocateSpace')
        if v.get('start'):
            self._qm_perm(user, vmid, pool, 'VM.PowerMgmt')
        existing = self.vm(vmid)
        same = existing is not None and existing.node == node
        if not (self.allowed(user, '/vms/{0}'.format(vmid), 'VM.Allocate')
                or (pool and self.allowed(user, '/pool/' + pool, 'VM.Allocate'))
                or (v.get('force') and same and self.allowed(user, '/vms/{0}'.format(vmid), 'VM.Backup'))):
            raise PveError(403, 'Permission check failed')
        for key in sorted(v):
            if DRIVE_KEY.match(key):
                raise param_error(**{key: "option conflicts with option 'archive'"})
        archive = self.backup_volume(v['archive'], node)
        if archive.get('subtype') != 'qemu':
            raise die("fakecluster: '{0}' is not a VM backup".format(v['archive']))
        if storage:
            self._qm_image_store(storage, user)
        emsg = 'unable to restore VM {0} -'.format(vmid)
        other = self.guest(vmid)
        if other is not None and not (v.get('force') and same):
            kind = 'VM' if other in self.vms else 'CT'
            raise PveError(500, "{0} {1} {2} already exists on node '{3}'".format(emsg, kind, vmid, other.node))
        vm = existing if same else FakeVm(vmid, archive.get('name') or 'VM {0}'.format(vmid), node=node)
        self._qm_lock(vm, 'create')
        if not same:
            self.vms.append(vm)

        async def body(log):
            try:
                self._qm_restore_into(vm, v, archive, emsg, log)
            except (PveError, TaskError) as e:
                self._qm_lock(vm, None)
                if not same:
                    self.vms.remove(vm)
                raise TaskError(getattr(e, 'message', None) or str(e)) from e
            self._qm_lock(vm, None)
            if v.get('start'):
                vm.status = vm.qmpstatus = 'running'
                vm.started_at = time.time()
        return await self.run_task(node, 'qmrestore', vmid, user, body, guest=vm)

    def _qm_restore_into(self, vm, v, archive, emsg, log):
        """restore_vma_archive, in short: new disks for the archive's drives, its config with them."""
        if vm.config.get('protection') in (1, '1', True):
            raise die('{0} - protection mode enabled'.format(emsg))
        if vm.status == 'running':
            raise die('{0} vm is running'.format(emsg))
        path = self._volume_path(v['archive'].split(':')[0], v['archive'].split(':', 1)[1], 'backup')
        log('restore vma archive: zstd -q -d -c {0} | vma extract -v -r /var/tmp/vzdumptmp{1}.fifo - '
            '/var/tmp/vzdumptmp{1}'.format(path, vm.vmid))
        log('CFG: size: {0} name: qemu-server.conf'.format(len(str(archive['config']))))
        self._qm_free_owned(vm)
        config = dict((k, x) for k, x in archive['config'].items() if not UNUSED_KEY.match(k))
        for n, (key, volume, props) in enumerate(drives_of(config), 1):
            if is_cdrom(volume, props):
                continue
            if props.get('backup') == '0':
                del config[key]
                continue
            sid = v.get('storage') or volume.split(':')[0]
            size = self.drive_size(props)
            log('DEV: dev_id={0} size: {1} devname: drive-{2}'.format(n, size, key))
            if sid not in self.storages or 'images' not in str(self.storages[sid].get('content', '')):
                raise die("content type 'images' is not available on storage '{0}'".format(sid))
            new, _fmt = self._qm_alloc(sid, vm.vmid, None, size)
            log("new volume ID is '{0}'".format(new))
            props.pop('format', None)
            config[key] = join_drive(new, props)
        self._qm_fresh_ids(config, v.get('unique'))
        log('rescan volumes...')
        vm.config, vm.pending, vm.snapshots = config, {}, {}
        vm.name = config.get('name') or 'VM {0}'.format(vm.vmid)
        vm.template = bool(config.get('template'))
        if v.get('pool'):
            self._pool_join(v['pool'], vm.vmid)

    def _qm_free_owned(self, vm):
        """The disks of the config being overwritten (force): freed, as restore destroys them."""
        for _key, volume, props in drives_of(vm.config):
            if not is_cdrom(volume, props) and re.search(r'-{0}-disk-'.format(vm.vmid), volume):
                self._qm_free(volume)
        for key in [k for k in vm.config if UNUSED_KEY.match(k)]:
            self._qm_free(vm.config[key])

    @staticmethod
    def _qm_fresh_ids(config, unique):
        if config.get('vmgenid') and str(config['vmgenid']) != '0':
            config['vmgenid'] = str(uuid.uuid4())
        if unique:
            for key in [k for k in config if re.fullmatch(r'net\d+', k)]:
                config[key] = with_mac(config[key], fresh=True)
            if config.get('smbios1'):
                config['smbios1'] = fresh_uuid(config['smbios1'])

    # ------------------------------------------------------------------- LXC

    async def _lxc_create(self, user, v):
        if not v.get('restore'):
            return await super()._lxc_create(user, v)
        return await self._ct_restore(user, v)

    async def _ct_restore(self, user, v):
        node, vmid, pool = v['node'], int(v['vmid']), v.get('pool')
        self.need_quorum()
        existing = self.ct(vmid)
        same = existing is not None and existing.node == node
        if v.get('ha-managed'):
            self.require(user, '/', 'Sys.Console')
        if same and v.get('force'):
            if existing.status == 'running':
                raise PveError(500, "can't overwrite running container")
            self._check_protection(existing, 'unable to restore CT {0}'.format(vmid))
        else:
            self._check_vmid_unused(vmid)
        if pool and pool not in self.pools:
            raise PveError(403, "Permission check failed (pool '{0}' does not exist)".format(pool))
        if v.get('start'):
            self._vm_perm(user, vmid, pool, 'VM.PowerMgmt')
        if not (self.allowed(user, '/vms/{0}'.format(vmid), 'VM.Allocate')
                or (pool and self.allowed(user, '/pool/' + pool, 'VM.Allocate'))
                or (v.get('force') and same and self.allowed(user, '/vms/{0}'.format(vmid), 'VM.Backup'))):
            raise PveError(403, 'Permission check failed')
        self._check_template(user, v['ostemplate'], True)
        mounts = dict((k, str(x)) for k, x in v.items() if k == 'rootfs' or re.fullmatch(r'mp\d+', k))
        storage = v.get('storage') or 'local'
        for value in mounts.values() or [storage + ':0']:
            self._storage_for(parse_mount(value)['volume'].split(':')[0], user, vmid)
        ct = existing if same else FakeCt(vmid, node=node, defaults=False, config={})
        ct.lock = 'create'
        if not same:
            self.cts.append(ct)
        emsg = 'unable to restore CT {0} -'.format(vmid)

        async def body(log):
            try:
                self._ct_restore_into(ct, v, node, storage, mounts, log)
            except (PveError, TaskError) as e:
                ct.lock = None
                if not same:
                    self._drop(ct)
                raise TaskError('{0} {1}'.format(emsg, getattr(e, 'message', None) or str(e))) from e
            if pool:
                self._pool_join(pool, vmid)
            if v.get('start'):
                await self._start_steps(ct, user)
        return await self.run_task(node, 'vzrestore', vmid, user, body, guest=ct)

    def _ct_restore_into(self, ct, v, node, storage, mounts, log):
        """recover_config, then the volumes: all on `storage`, or where rootfs/mpN say."""
        volid = v['ostemplate']
        try:
            archive = self.backup_volume(volid, node)
        except PveError as e:
            raise TaskError(e.message) from e
        log("recovering backed-up configuration from '{0}'".format(volid))
        config = dict((k, x) for k, x in archive['config'].items()
                      if not UNUSED_KEY.match(k) and k != 'template')
        taken = self._taken_volumes()
        wanted = mounts or dict((k, '{0}:{1}'.format(storage, self._gib(parse_mount(x).get('size'))))
                                for k, x in config.items() if MOUNT_KEY.match(k)
                                and mount_type(parse_mount(x)['volume']) == 'volume')
        for key in sorted(wanted, key=lambda k: (k != 'rootfs', k)):
            requested = parse_mount(wanted[key])
            mount = parse_mount(config[key]) if key in config else {}
            mount.update(requested)
            found = CT_NEW_VOLUME.match(requested['volume'])
            if found:
                mount['volume'] = self._allocate(ct.vmid, found.group(1), taken)
                mount['size'] = format_size(int(float(found.group(2)) * 1024 ** 3))
            config[key] = print_mount(mount, key == 'rootfs')
        log("restoring '{0}' now..".format(volid))
        for opt, value in v.items():
            if opt not in CT_CREATE_ONLY and not MOUNT_KEY.match(opt) and opt not in ('node', 'vmid'):
                config[opt] = normalise(opt, value)
        if v.get('unique'):
            for key in [k for k in config if re.fullmatch(r'net\d+', k)]:
                props = split_props(config[key])[1]
                props['hwaddr'] = random_mac()
                config[key] = normalise(key, ','.join('{0}={1}'.format(k, x) for k, x in props.items()))
        ct.config, ct.pending, ct.snapshots = config, {}, {}

    @staticmethod
    def _gib(size):
        """A size= in GiB for a new volume: 'storage:<GiB>' (at least 1)."""
        total = parse_size(size) if size else None
        return max(total / 1024 ** 3, 1) if total else 8
