"""Disks: QEMU resize and move, container volume move, and the OS template that must exist.

Resize and move follow qemu-server's API2/Qemu.pm (resize_vm, move_vm_disk); the
container side follows pve-container's API2/LXC.pm (move_volume, create_vm) and
LXC/Create.pm, which opens the template with PVE::Storage::abs_filesystem_path.
Container resize is fakepve's own (pve-container's wording, "unable to shrink disk size").
"""

import contextvars
import re

from fakepve import PveError, TaskError
from fakepve.lxc import parse_mount, parse_size, print_mount
from fakepve.qemu import is_cdrom, join_drive, split_drive, volume_ref
from fakepve.routing import die, param_error, split_list

UNUSED = re.compile(r'^unused\d+$')
# The node a container is being created on, for the template check inside its task.
CREATING_ON = contextvars.ContextVar('creating_on', default=None)


class Disks(object):
    """Mixin of FakePve: qemu resize and move_disk, lxc move_volume, template checks."""

    def _routes_fleet_disks(self):
        one = '/nodes/{node}/qemu/{vmid}'
        return [('PUT', one + '/resize', self._qm_resize), ('POST', one + '/move_disk', self._qm_move_disk),
                ('POST', '/nodes/{node}/lxc/{vmid}/move_volume', self._lxc_move_volume)]

    # ---------------------------------------------------------------- resize

    async def _qm_resize(self, v, user):
        if v.get('skiplock') and user != 'root@pam':
            raise param_error(skiplock='Only root may use this option.')
        vm = self.find(v['node'], v['vmid'])

        async def body(log):
            try:
                self._qm_grow(vm, user, v)
            except PveError as e:
                raise TaskError(e.message) from e
        return await self.run_task(vm.node, 'resize', vm.vmid, user, body, guest=vm)

    def _qm_grow(self, vm, user, v):
        """The update of resize_vm, run under the config lock inside the worker."""
        disk = v['disk']
        if v.get('digest') and v['digest'] != vm.digest():
            raise die('checksum mismatch (file change by other user?)')
        if not v.get('skiplock'):
            self._check_lock(vm)
        if not vm.config.get(disk):
            raise die("disk '{0}' does not exist".format(disk))
        volid, props = split_drive(vm.config[disk])
        if not volid or volid == 'none':
            raise die("disk '{0}' has no associated volume".format(disk))
        if is_cdrom(volid, props):
            raise die("you can't resize a cdrom")
        sid = volume_ref(volid)[0]
        self.require(user, '/storage/{0}'.format(sid), 'Datastore.AllocateSpace')
        size = self.volume_size(volid, self.drive_size(props))
        text = str(v['size'])
        new = parse_size(text.lstrip('+'))
        if new is None:
            raise die('internal error')
        new = int(new + size if text.startswith('+') else new)
        if new < size:
            raise die('shrinking disks is not supported')
        if new == size:
            return
        self.set_volume_size(volid, new)
        vm.config[disk] = join_drive(volid, self.with_size(props, new))

    # ------------------------------------------------------------------ move

    async def _qm_move_disk(self, v, user):
        storage = v.get('storage')
        if v.get('target-vmid') and storage:
            message = "either set 'storage' or 'target-vmid', but not both"
            raise param_error(**{'target-vmid': message, 'storage': message})
        if v.get('target-vmid'):
            raise die('fakecluster: reassigning a disk to another VM is not modelled')
        if not storage:
            message = "both 'storage' and 'target-vmid' missing, either needs to be set"
            raise param_error(**{'target-vmid': message, 'storage': message})
        self.require(user, '/storage/' + storage, 'Datastore.AllocateSpace')
        vm = self.find(v['node'], v['vmid'])
        self._qm_check_move(vm, v)

        async def body(log):
            try:
                self._qm_check_move(vm, v)
            except PveError as e:
                raise TaskError(e.message) from e
            self._qm_copy_disk(vm, v, log)
        return await self.run_task(vm.node, 'qmmove', vm.vmid, user, body, guest=vm)

    def _qm_check_move(self, vm, v):
        """$load_and_check_move: the checks made before the worker forks and again inside it."""
        disk, storage, fmt = v['disk'], v['storage'], v.get('format')
        self._check_lock(vm)
        if v.get('digest') and v['digest'] != vm.digest():
            raise die('detected modified configuration - file changed by other user? Try again.')
        if not vm.config.get(disk):
            raise die("disk '{0}' does not exist".format(disk))
        volid, props = split_drive(vm.config[disk])
        if not volid or volid == 'none':
            raise die("disk '{0}' has no associated volume".format(disk))
        if is_cdrom(volid, props):
            raise die("you can't move a cdrom")
        old_sid = volume_ref(volid)[0]
        old_fmt = self._volumes(old_sid).get(volume_ref(volid)[1], {}).get('format') if old_sid in self.storages \
            else None
        if old_sid == storage and (not fmt or not old_fmt or old_fmt == fmt):
            raise die("you can't move to the same storage with same format")
        store = self._store(storage)
        if store.get('disable'):
            raise die("storage '{0}' is disabled".format(storage))
        if 'images' not in split_list(store.get('content')):
            raise param_error(storage="storage '{0}' does not support vm images".format(storage))
        if v.get('delete') and any(snap.get(disk, '').split(',')[0] == volid for snap in vm.snapshots.values()):
            raise die("you can't move a disk with snapshots and delete the source")

    def _qm_copy_disk(self, vm, v, log):
        disk, storage = v['disk'], v['storage']
        volid, props = split_drive(vm.config[disk])
        old_sid = volume_ref(volid)[0]
        log("copying volume '{0}' from current storage '{1}' to target storage '{2}'".format(volid, old_sid, storage))
        size = self.volume_size(volid, self.drive_size(props))
        try:
            new, _fmt = self._qm_alloc(storage, vm.vmid, v.get('format'), size)
        except PveError as e:
            raise TaskError('storage migration failed: {0}'.format(e.message)) from e
        props.pop('format', None)
        vm.config[disk] = join_drive(new, self.with_size(props, size) if size else props)
        if v.get('delete'):
            log("removing source volume '{0}' after successful copy".format(volid))
            self._qm_free(volid)
        else:
            key = next('unused{0}'.format(n) for n in range(256) if 'unused{0}'.format(n) not in vm.config)
            vm.config[key] = volid
            log("adding source volume '{0}' as '{1}' to config".format(volid, key))

    # ----------------------------------------------------- container volumes

    async def _lxc_move_volume(self, v, user):
        """pve-container's move_volume to another storage: the CT is locked 'disk' while it copies."""
        key, storage = v['volume'], v.get('storage')
        if storage and v.get('target-vmid'):
            raise die('either set storage or target-vmid, but not both')
        if not storage:
            raise die('fakecluster: reassigning a volume to another container is not modelled')
        ct = self._find_ct(v['node'], v['vmid'])
        self._ct_check_lock(ct)
        if ct.status == 'running':
            raise die('cannot move volumes of a running container')
        if UNUSED.match(key):
            raise die("cannot move volume '{0}', only configured volumes can be moved to another storage"
                      .format(key))
        if not ct.config.get(key):
            raise die("unable to parse volume '{0}'".format(key))
        old = parse_mount(ct.config[key])['volume']
        if v.get('delete') and any(parse_mount(snap.get(key, '')).get('volume') == old
                                   for snap in ct.snapshots.values()):
            raise die("you can't move a volume with snapshots and delete the source")
        if v.get('digest') and v['digest'] != ct.digest():
            raise die('detected modified configuration - file changed by other user? Try again.')
        self._storage_for(storage, user, ct.vmid)
        ct.lock = 'disk'

        async def body(log):
            try:
                mount = parse_mount(ct.config[key])
                mount['volume'] = self._allocate(ct.vmid, storage, self._taken_volumes())
                ct.config[key] = print_mount(mount, key == 'rootfs')
                if v.get('delete'):
                    log("removing volume '{0}'".format(old))
                else:
                    ct.config[self._unused_key(ct.config)] = old
            finally:
                ct.lock = None
        return await self.run_task(ct.node, 'move_volume', ct.vmid, user, body, guest=ct)

    # ------------------------------------------------------- container create

    async def _lxc_create(self, user, v):
        """The template check needs the node the container is created on (see volume_exists)."""
        token = CREATING_ON.set(v['node'])
        try:
            return await super()._lxc_create(user, v)
        finally:
            CREATING_ON.reset(token)

    def volume_exists(self, volid):
        """Inside the create task: the OS template must be in the storage's content on this node.

        PVE opens it with abs_filesystem_path, which fails with "can't find file '<volid>'"; the
        task then ends 'unable to create CT <vmid> - can't find file ...'.
        """
        if ':' not in str(volid):
            return None  # an absolute path, root only: not modelled
        node = CREATING_ON.get()
        sid, volname = volume_ref(str(volid))
        found = self.volume_on_node(volid, node) if node else (
            sid in self.storages and volname in self._volumes(sid))
        if not found:
            raise TaskError("can't find file '{0}'".format(volid))
        return True
