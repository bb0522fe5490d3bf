# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""Waiting for PVE tasks (UPIDs): backoff, timeout, exit status, and the log's tail on failure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError

POLL_FIRST = 0.05
POLL_FACTOR = 1.6
POLL_MAX = 2.0
LOG_TAIL_LINES = 10


class PveTaskError(PveError):
    """A task that ended with an exit status other than OK, or did not end in time."""

    def __init__(self, message, upid, exitstatus=None, log_tail=None):
        super(PveTaskError, self).__init__(message)
        self.upid = upid
        self.exitstatus = exitstatus
        self.log_tail = log_tail or []

    def __str__(self):
        # The log usually ends with the exit status again ('TASK ERROR: <status>'): say it once.
        said = (str(self.exitstatus), 'TASK ERROR: {0}'.format(self.exitstatus))
        tail = [line for line in self.log_tail if line.strip() and line.strip() not in said]
        text = self.message
        if tail:
            text += ' | task log: ' + ' / '.join(tail)
        return text

    def to_result(self):
        return dict(upid=self.upid, exitstatus=self.exitstatus, log=self.log_tail, message=self.message)


def upid_node(upid):
    """The node a task runs on: UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:"""
    parts = str(upid).split(':')
    if len(parts) < 8 or parts[0] != 'UPID':
        raise PveError('not a PVE task id (UPID): {0!r}'.format(upid))
    return parts[1]


def task_log_tail(client, upid, lines=LOG_TAIL_LINES):
    """The last lines of a task's log; empty when the log cannot be read."""
    node = upid_node(upid)
    try:
        entries = client.get('nodes/{0}/tasks/{1}/log'.format(node, upid), start=0, limit=5000) or []
    except PveError:
        return []
    return [entry.get('t', '') for entry in entries][-lines:]


def wait_for_task(client, upid, timeout):
    """Wait until the task stops; returns its status dict, raises PveTaskError unless it ended OK.

    PVE reports warnings as exit status ``WARNINGS: n``: the task did its work, so that counts as done.
    """
    node = upid_node(upid)
    deadline = time.monotonic() + timeout
    delay = POLL_FIRST
    path = 'nodes/{0}/tasks/{1}/status'.format(node, upid)
    while True:
        status = client.get(path)
        if status.get('status') == 'stopped':
            exitstatus = status.get('exitstatus')
            if exitstatus == 'OK' or str(exitstatus).startswith('WARNINGS'):
                return status
            raise PveTaskError('task {0} failed: {1}'.format(status.get('type', upid), exitstatus), upid,
                               exitstatus=exitstatus, log_tail=task_log_tail(client, upid))
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise PveTaskError('task {0} still running after {1}s (timeout); it goes on in PVE'.format(upid, timeout),
                               upid, log_tail=task_log_tail(client, upid))
        time.sleep(min(delay, remaining))
        delay = min(delay * POLL_FACTOR, POLL_MAX)
