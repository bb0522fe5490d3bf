"""VM snapshot rollback as qemu-server does it: a snapshot with RAM resumes the VM.

Follows qemu-server src/PVE/API2/Qemu.pm (`rollback`: `start` starts the VM afterwards only if
it is not running already, and needs VM.PowerMgmt), pve-guest-common src/PVE/AbstractConfig.pm
(`snapshot_rollback`: stop the VM, copy the snapshot's config over the current one keeping
`description` and `unusedN`, set `parent`; `__snapshot_copy_config` leaves out `vmstate`,
`snapstate`, `snaptime`, `lock`, `digest`; and when the snapshot holds a `vmstate`, start the VM
from it) and src/PVE/QemuConfig.pm (`__snapshot_rollback_hook`: `runningmachine`/`runningcpu`
dropped, a new `vmgenid`; `__snapshot_rollback_vm_start` starts with the state file, which
QemuServer.pm's vm_start resumes with `cont`).

fakepve 0.5.0 left the VM stopped after a RAM snapshot's rollback and copied `vmstate` into the
current config.
"""

import time
import uuid

from fakepve import TaskError

# Keys of a snapshot that are not config (AbstractConfig.pm __snapshot_copy_config), plus those the
# rollback hook drops (QemuConfig.pm __snapshot_rollback_hook).
NOT_COPIED = ('snapshots', 'snapstate', 'snaptime', 'vmstate', 'lock', 'digest', 'description',
              'runningmachine', 'runningcpu', 'running-nets-host-mtu')


def _kept(key):
    """What the current config keeps through a rollback (AbstractConfig.pm __snapshot_apply_config)."""
    return key == 'description' or (key.startswith('unused') and key[len('unused'):].isdigit())


class SnapshotRollback(object):
    """Mixin of FakePve: POST /nodes/{node}/qemu/{vmid}/snapshot/{snapname}/rollback."""

    async def _qm_rollback(self, v, user):
        vm = self.find(v['node'], v['vmid'])
        name = v['snapname']
        if v.get('start'):
            self.require(user, '/vms/{0}'.format(vm.vmid), 'VM.PowerMgmt')
        self.need_quorum()

        async def body(log):
            if vm.template:
                raise TaskError("you can't rollback if vm is a template")
            snap = vm.snapshots.get(name)
            if snap is None:
                raise TaskError("snapshot '{0}' does not exist".format(name))
            if snap.get('snapstate'):
                raise TaskError('unable to rollback to incomplete snapshot (snapstate = {0})'.format(
                    snap['snapstate']))
            if vm.lock:
                raise TaskError('VM is locked ({0})'.format(vm.lock))
            vm.status = vm.qmpstatus = 'stopped'
            self._qm_lock(vm, 'rollback')
            try:
                config = dict((k, x) for k, x in vm.config.items() if _kept(k))
                config.update((k, x) for k, x in snap.items() if k not in NOT_COPIED and not _kept(k))
                config['parent'] = name
                if config.get('vmgenid'):
                    config['vmgenid'] = str(uuid.uuid4())  # a new generation: the guest may react
                vm.config = config
                vm.pending = {}
            finally:
                self._qm_lock(vm, None)
            if snap.get('vmstate') or v.get('start'):
                vm.status = vm.qmpstatus = 'running'
                vm.started_at = time.time()
        return await self.run_task(vm.node, 'qmrollback', vm.vmid, user, body, guest=vm)
