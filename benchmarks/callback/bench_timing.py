# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark-only callback: when each task starts and each task or loop item ends, as JSON lines."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: bench_timing
type: aggregate
short_description: Timestamps of task starts and task/item results for benchmarks/
description:
  - Appends one JSON object per event to the file named by E(PVE_FLEET_BENCH_RECORD).
  - Results are reduced to C(changed), C(failed), C(msg) and a few counts, so large results stay cheap.
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase

KEEP = ('changed', 'failed', 'msg', 'vmid', 'skipped', 'summary', 'guests_read', 'requests_sent')


def _small(result):
    data = dict((k, result.get(k)) for k in KEEP if k in result)
    if isinstance(data.get('msg'), str):
        data['msg'] = data['msg'][:2000]  # a fleet's failure lists every failed guest
    for key in ('guests', 'proxmox_vms'):
        if isinstance(result.get(key), list):
            data[key + '_count'] = len(result[key])
            data[key + '_with_config'] = sum(1 for g in result[key] if isinstance(g, dict) and g.get('config'))
    if 'item' in result:
        data['item'] = str(result['item'])[:80]
    return json.loads(json.dumps(data, default=str))


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_timing'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._path = os.environ.get('PVE_FLEET_BENCH_RECORD')

    def _write(self, event, task=None, status=None, result=None):
        if not self._path:
            return
        entry = dict(t=time.time(), event=event, task=task, status=status, result=result)
        with open(self._path, 'a') as out:
            out.write(json.dumps(entry) + '\n')

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._write('task_start', task.get_name())

    def _on(self, event, status, result):
        self._write(event, result._task.get_name(), status, _small(result._result))

    def v2_runner_on_ok(self, result):
        self._on('task_end', 'changed' if result._result.get('changed') else 'ok', result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._on('task_end', 'failed', result)

    def v2_runner_on_skipped(self, result):
        self._on('task_end', 'skipped', result)

    def v2_runner_on_unreachable(self, result):
        self._on('task_end', 'unreachable', result)

    def v2_runner_item_on_ok(self, result):
        self._on('item', 'changed' if result._result.get('changed') else 'ok', result)

    def v2_runner_item_on_failed(self, result):
        self._on('item', 'failed', result)

    def v2_runner_item_on_skipped(self, result):
        self._on('item', 'skipped', result)
