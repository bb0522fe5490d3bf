# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""What every pve.fleet module does around its own work: the argument spec with the
connection options, the client, warnings, and turning a PveError into a one-line failure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pve.fleet.plugins.module_utils.api import CONNECTION_SPEC, client_from_module
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError


def pve_module(argument_spec, supports_check_mode=True, **kwargs):
    """An AnsibleModule whose spec is the module's own options plus the connection options."""
    spec = dict(CONNECTION_SPEC)
    spec.update(argument_spec)
    return AnsibleModule(argument_spec=spec, supports_check_mode=supports_check_mode, **kwargs)


def parse_or_fail(module, build):
    """``build(module.params)`` (the module's validation, no request); a PveError fails the module, naming the
    option, before anything is read or written."""
    try:
        return build(module.params)
    except PveError as exc:
        module.fail_json(msg=str(exc))


def run_module(module, action):
    """Connect, run ``action(module, client) -> result dict``, exit; a PveError fails with its one line.

    A result's ``warnings`` (a list of sentences) go through ``module.warn``.
    """
    client = client_from_module(module)
    try:
        result = action(module, client)
    except PveError as exc:
        module.fail_json(msg=str(exc), error=exc.to_result())
    for warning in result.pop('warnings', None) or []:
        module.warn(warning)
    module.exit_json(**result)
