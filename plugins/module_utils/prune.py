# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""Backup retention (PVE's ``prune-backups``): the module option, its checks, and PVE's spelling.

Used by storage (a storage's retention) and backup (a job's retention). The option is a dict
in YAML habit (``keep_last: 3``); PVE writes ``keep-last=3,keep-daily=7``, and reads a
retention without any positive count as keep-all.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.propstr import PropFormat, format_props, parse

PRUNE_KEYS = ('keep-last', 'keep-hourly', 'keep-daily', 'keep-weekly', 'keep-monthly', 'keep-yearly')
PRUNE_FORMAT = PropFormat('prune-backups', booleans=('keep-all',))
# The suboptions of a module's retention option.
PRUNE_OPTIONS = dict([('keep_all', dict(type='bool'))] +
                     [(key.replace('-', '_'), dict(type='int')) for key in PRUNE_KEYS])


def normalize_prune(value):
    """A retention (property string or dict with PVE's keys) as PVE reads it: ``{'keep-last': 3}`` or keep-all.

    PVE's validate_prune_backups: no positive keep count means keep everything.
    """
    props = parse(value, PRUNE_FORMAT) if isinstance(value, str) else dict(value)
    out = {}
    for key in PRUNE_KEYS:
        if props.get(key) not in (None, ''):
            count = int(props[key])
            if count > 0:
                out[key] = count
    return out or {'keep-all': 1}


def format_prune(normalized):
    """A normalized retention as PVE's property string."""
    return format_props(dict((k, normalized[k]) for k in ('keep-all',) + PRUNE_KEYS if k in normalized), PRUNE_FORMAT)


def prune_from_option(option, name):
    """The module's retention dict (option ``name``) -> PVE's retention dict, or None when it sets nothing."""
    given = dict((k.replace('_', '-'), v) for k, v in option.items() if v is not None)
    keep_all = given.pop('keep-all', None)
    if keep_all and any(v > 0 for v in given.values()):
        raise PveError('{0}: keep_all cannot be set together with other keep_* options (PVE refuses it)'.format(name))
    for key, value in given.items():
        if value < 0:
            raise PveError('{0}: {1} must be 0 or more, not {2}'.format(name, key.replace('-', '_'), value))
    if keep_all is None and not given:
        return None
    return normalize_prune(given)


def prune_to_option(normalized):
    """PVE's retention dict in the module's spelling (keep_last: 3), for diffs and results."""
    if normalized is None:
        return None
    return dict((k.replace('-', '_'), (v == 1 if k == 'keep-all' else v)) for k, v in normalized.items())
