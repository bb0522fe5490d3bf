"""Workers that log line by line, as PVE's fork_worker tasks do.

fakepve's Model.task appends one note when the body ends; the behaviours here (migration,
vzdump, restore) print many lines, and a client that shows the log tail on failure
should see PVE's. `run_task` is Model.task with a live log; both go through
`_task_fault` (faults.py) so an injected fault hits fakepve's tasks and ours alike.
"""

import asyncio
import time

from fakepve import TaskError


def stamp(message):
    """A migration log line: PVE's AbstractMigrate prefixes each with the local time."""
    return '{0} {1}'.format(time.strftime('%Y-%m-%d %H:%M:%S'), message)


class TaskLog(object):
    """The lines of a running task; `info`/`warn`/`err` add PVE's prefixes."""

    def __init__(self, lines):
        self.lines = lines

    def __call__(self, line):
        self.lines.extend(str(line).split('\n'))

    def info(self, line):
        self('INFO: ' + line)

    def warn(self, line):
        self('WARN: ' + line)

    def err(self, line):
        self('ERROR: ' + line)


class TaskRunner(object):
    """Mixin of FakePve: run_task(), a worker whose body gets the task log."""

    async def run_task(self, node, ttype, tid, user, body, guest=None, lock=True):
        """Start a task; `await body(log)` runs it and raises TaskError to fail it. Returns the UPID.

        With a guest and lock, the guest's internal config lock is held while body runs, as
        PVE's lock_config does (a held lock fails the task with PVE's 'got timeout').
        """
        upid, pid, start = self._upid(node, ttype, tid, user)
        record = {'upid': upid, 'node': node, 'pid': pid, 'pstart': pid * 7, 'starttime': start,
                  'type': ttype, 'id': str(tid), 'user': user, 'status': 'running', 'log': []}
        self.tasks[upid] = record
        self.tasklog.append(record)
        log = TaskLog(record['log'])
        fault = self._task_fault(ttype, node, tid)

        async def run():
            status = 'OK'
            try:
                if fault:
                    await fault(log)
                if guest is not None and lock:
                    await self.acquire(guest, upid)
                try:
                    await body(log)
                finally:
                    if guest is not None and lock:
                        self.release(guest, upid)
            except TaskError as e:
                status = str(e)
            record.update(status='stopped', exitstatus=status, endtime=int(time.time()))
            log('TASK OK' if status == 'OK' else 'TASK ERROR: ' + status)

        if self.time_scale:
            asyncio.ensure_future(run())
        else:
            await run()
        return upid

    def _task_fault(self, ttype, node, tid):
        """An injected fault for this task, as `async def (log)`, or None (faults.py overrides)."""
        return None
