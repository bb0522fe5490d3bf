# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""Both guest types by PVE's name (``qemu``, ``lxc``), for code that handles either: read results
(guest_info, the inventory plugin) and the fleet module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pve.fleet.plugins.module_utils.lxc import LXC
from ansible_collections.pve.fleet.plugins.module_utils.qemu import QEMU

KINDS = {'qemu': QEMU, 'lxc': LXC}


def public_config(guest_type, config):
    """A guest's config fit to show in a read result: secret keys (cloud-init's password) hidden."""
    kind = KINDS.get(guest_type)
    if kind is None:
        return dict((k, v) for k, v in (config or {}).items() if k != 'digest')
    return kind.public(config)
