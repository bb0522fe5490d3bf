"""Faults a test injects on demand, on top of fakepve's own (fail(), flaky_network(),
set_node_offline(), hold_config_lock(), lose_quorum(), ...).

Run them on the cluster's loop from a test: ``served.run(cluster.fail_next_task, 'qmigrate')``.
"""

from fakepve import TaskError

from .tasks import TaskLog


class Faults(object):
    """Mixin of FakePve: one-shot task faults and guest locks."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One-shot task faults, oldest first: dicts with type, node, vmid and an `async def (log)`.
        self.task_faults = []

    # ------------------------------------------------------------ injection

    def fail_next_task(self, ttype, message='injected failure', node=None, vmid=None):
        """The next task of this type (on node, for vmid, when given) ends with `TASK ERROR: message`.

        Its body does not run: nothing changes, as when a worker dies before it did anything.
        Types are PVE's: qmigrate, vzmigrate, vzdump, qmrestore, vzrestore, resize, qmmove, download, ...
        """
        async def fail(log):
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
                return fault['action']
        return None

    async def task(self, node, ttype, tid, user, body, vm=None, lock=True, log=()):
        """fakepve's own tasks (start, stop, clone, ...) feel the faults too."""
        fault = self._task_fault(ttype, node, tid)
        if fault is None:
            return await super().task(node, ttype, tid, user, body, vm=vm, lock=lock, log=log)
        lines = []

        async def faulty():
            await fault(TaskLog(lines))
            note = await body()
            return '\n'.join(lines + ([note] if note else [])) or None
        return await super().task(node, ttype, tid, user, faulty, vm=vm, lock=lock, log=log)
