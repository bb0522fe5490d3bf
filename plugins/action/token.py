# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve.fleet.token runs its module here, on the controller side, for one reason: a result that holds a token's
secret (made or regenerated this run) is marked no_log, so no callback shows it (not with -vvv either), while the
registered result keeps it. A module cannot mark its own result so; an action plugin can."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        result.update(self._execute_module(module_name='pve.fleet.token', module_args=self._task.args,
                                           task_vars=task_vars))
        if result.get('secret'):
            result['_ansible_no_log'] = True
        return result
