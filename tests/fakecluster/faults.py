"""Faults a test injects on demand, on top of fakepve's own (fail(), flaky_network(),
set_node_offline(), hold_config_lock(), lose_quorum(), ...).

Run them on the cluster's loop from a test: ``served.run(cluster.fail_next_task, 'qmigrate')``.
"""

import re

from fakepve import TaskError

from .tasks import TaskLog

# Tasks that make a guest (or restore one): when one fails, its worker removes what it began, as PVE's do
# (qemu-server create_vm and restore_vma_archive, pve-container create_vm) and fakepve's own bodies do.
CREATE_TASKS = ('qmcreate', 'vzcreate', 'qmrestore', 'vzrestore')
DISK_KEY = re.compile(r'^((ide|sata|scsi|virtio|mp|unused)\d+|efidisk0|tpmstate0|rootfs)$')


class Faults(object):
    """Mixin of FakePve: one-shot task faults and guest locks."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One-shot task faults, oldest first: dicts with type, node, vmid and an `async def (log)`.
        self.task_faults = []

    # ------------------------------------------------------------ injection

    def fail_next_task(self, ttype, message='injected failure', node=None, vmid=None, lines=()):
        """The next task of this type (on node, for vmid, when given) ends with `TASK ERROR: message`,
        after logging `lines` (what a worker says before it fails).

        Its body does not run: nothing changes, as when a worker dies before it did anything.
        Types are PVE's: qmigrate, vzmigrate, vzdump, qmrestore, vzrestore, resize, qmmove, download, ...
        """
        async def fail(log):
            for line in lines:
                log(line)
            raise TaskError(message)
        self._add_fault(ttype, node, vmid, fail)

    def node_offline_during_next_task(self, ttype, node, vmid=None):
        """When the next task of this type starts, `node` drops out of the cluster.

        Requests for that node get 595 from then on (fakepve); a migration to it aborts as
        PVE's does when the target stops answering. Bring it back with set_node_offline(node, False).
        """
        async def drop(log):
            self.set_node_offline(node)
        self._add_fault(ttype, None, vmid, drop)

    def hold_guest_lock(self, vmid, lock='backup'):
        """Leave the guest's config locked (`lock: backup`, `migrate`, ...), as a running or crashed
        job does: PVE refuses changes with 'VM is locked (backup)' / 'CT is locked (backup)'."""
        guest = self.guest(vmid)
        guest.lock = lock
        guest.config['lock'] = lock

    def release_guest_lock(self, vmid):
        """Undo hold_guest_lock() (what `qm unlock` / `pct unlock` does)."""
        guest = self.guest(vmid)
        guest.lock = None
        guest.config.pop('lock', None)

    def _add_fault(self, ttype, node, vmid, action):
        self.task_faults.append({'type': ttype, 'node': node, 'vmid': None if vmid is None else str(vmid),
                                 'action': action})

    # ----------------------------------------------------------------- hooks

    def _task_fault(self, ttype, node, tid):
        for fault in self.task_faults:
            if fault['type'] == ttype and fault['node'] in (None, node) and fault['vmid'] in (None, str(tid)):
                self.task_faults.remove(fault)
                return self._undoing_create(fault['action'], tid) if ttype in CREATE_TASKS else fault['action']
        return None

    def _undoing_create(self, action, vmid):
        """The fault, and when it fails the task, the cleanup of the create's worker: the guest it began (still
        locked 'create', no disks yet) is removed; one it was restoring over keeps its disks, unlocked."""
        async def undoing(log):
            try:
                await action(log)
            except TaskError:
                guest = self.guest(int(vmid))
                if guest is not None and 'create' in (guest.lock, guest.config.get('lock')):
                    guest.lock = None
                    guest.config.pop('lock', None)
                    if not any(DISK_KEY.match(key) for key in guest.config):
                        for guests in (self.vms, getattr(self, 'cts', [])):
                            if guest in guests:
                                guests.remove(guest)
                raise
        return undoing

    async def task(self, node, ttype, tid, user, body, vm=None, lock=True, log=()):
        """fakepve's own tasks (start, stop, clone, ...) feel the faults too."""
        fault = self._task_fault(ttype, node, tid)
        if fault is None:
            return await super().task(node, ttype, tid, user, body, vm=vm, lock=lock, log=log)
        lines = []
        started = {}

        async def faulty():
            try:
                await fault(TaskLog(lines))
            except TaskError:
                if 'record' in started:  # a task that runs later: its record is known by now
                    started['record']['log'].extend(lines)
                    del lines[:]
                raise
            note = await body()
            return '\n'.join(lines + ([note] if note else [])) or None
        upid = await super().task(node, ttype, tid, user, faulty, vm=vm, lock=lock, log=log)
        record = self.tasks[upid]
        if lines and record.get('exitstatus') not in (None, 'OK'):
            # It failed before its record was known (time_scale 0): what it logged goes before its exit status.
            record['log'][-2:-2] = lines
        else:
            started['record'] = record
        return upid
