# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: writes every task result as JSON lines to $PVE_FLEET_RECORD."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: record
type: aggregate
short_description: Record task results as JSON lines for the pve.fleet tests
description:
  - Appends one JSON object per task result to the file named by E(PVE_FLEET_RECORD).
'''

import json
import os

from ansible.plugins.callback import CallbackBase


def _plain(value):
    """Results may hold Ansible's tagged strings and other wrappers: make them JSON."""
    return json.loads(json.dumps(value, default=str))


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'record'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._path = os.environ.get('PVE_FLEET_RECORD')

    def _write(self, result, status):
        if not self._path:
            return
        data = dict(result._result)
        entry = dict(task=result._task.get_name(), host=result._host.get_name(), status=status,
                     action=result._task.action, result=data)
        with open(self._path, 'a') as out:
            out.write(json.dumps(_plain(entry)) + '\n')

    def v2_runner_on_ok(self, result):
        self._write(result, 'changed' if result._result.get('changed') else 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, 'failed')

    def v2_runner_on_skipped(self, result):
        self._write(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._write(result, 'unreachable')
