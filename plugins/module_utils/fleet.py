# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""Many guests in one task: the items of ``guests`` validated as vm/ct tasks, then one login, one
``cluster/resources``, the configs that are needed read ``concurrency`` at a time, every guest planned
(new ones spread over the nodes, with distinct vmids), and the plans applied ``concurrency`` at a time.

It is the guest engine (guest.py) run over a list: the same spec, plan and apply as pve.fleet.vm and
pve.fleet.ct, so a guest converges the same way whichever module names it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView, plan_with_facts, split_tags
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.guest import (
    GuestSpec, GuestState, apply_guest, locate, plan_guest, read_states)
from ansible_collections.pve.fleet.plugins.module_utils.guest_types import KINDS
from ansible_collections.pve.fleet.plugins.module_utils.lxc import spec_from_params as lxc_spec
from ansible_collections.pve.fleet.plugins.module_utils.plan import DEFAULT_CONCURRENCY, execute_all
from ansible_collections.pve.fleet.plugins.module_utils.qemu import spec_from_params as qemu_spec

BUILDERS = {'qemu': qemu_spec, 'lxc': lxc_spec}
REQUIRED_ONE_OF = {'qemu': [('vmid', 'name')], 'lxc': [('vmid', 'hostname')]}
TYPE_ALIASES = {'qemu': 'qemu', 'vm': 'qemu', 'lxc': 'lxc', 'ct': 'lxc'}


# The options of either guest type whose values are secrets (cipassword, password).
SECRET_OPTIONS = frozenset(name for kind in KINDS.values() for name, spec in kind.argument_spec.items()
                           if spec.get('no_log'))


def secret_values(items):
    """The secrets the items carry, for the module to scrub from every output before anything can fail."""
    found = set()
    for item in items or []:
        for name in SECRET_OPTIONS & set(item or {}):
            if item[name] is not None and str(item[name]):
                found.add(str(item[name]))
    return found


_VALIDATORS = {}


def _validator(guest_type):
    """One validator per guest type, made on first use: a task over thousands of items checks each with it."""
    if guest_type not in _VALIDATORS:
        _VALIDATORS[guest_type] = ArgumentSpecValidator(KINDS[guest_type].argument_spec,
                                                        required_one_of=REQUIRED_ONE_OF[guest_type])
    return _VALIDATORS[guest_type]


def _label(index, item):
    name = item.get('name') or item.get('hostname') or item.get('vmid')
    return 'guests[{0}]{1}'.format(index, ' ({0})'.format(name) if name is not None else '')


def specs_from_items(items):
    """A GuestSpec per item, each validated as its own module would; the first bad item fails them all,
    before anything is read, with a message that names the item and the option."""
    specs = []
    for index, item in enumerate(items or []):
        given = dict((k, v) for k, v in (item or {}).items() if v is not None)
        guest_type = TYPE_ALIASES.get(str(given.pop('type', 'qemu')))
        if guest_type is None:
            raise PveError('{0}: type: {1!r} is not one of {2}'.format(
                _label(index, item), item.get('type'), ', '.join(sorted(TYPE_ALIASES))))
        kind, validator = KINDS[guest_type], _validator(guest_type)
        if guest_type == 'lxc' and 'name' in given and 'hostname' in given:
            raise PveError('{0}: give a container hostname or name, not both'.format(_label(index, item)))
        unknown = sorted(set(given) - set(validator.argument_spec) - (set(['name']) if guest_type == 'lxc' else set()))
        if unknown:
            raise PveError('{0}: {1} {2} not an option of a {3} (type: {4})'.format(
                _label(index, item), ', '.join(unknown), 'is' if len(unknown) == 1 else 'are', kind.noun,
                guest_type))
        checked = validator.validate(given)
        if checked.error_messages:
            raise PveError('{0}: {1}'.format(_label(index, item), '; '.join(checked.error_messages)))
        try:
            specs.append(BUILDERS[guest_type](checked.validated_parameters))
        except PveError as exc:
            raise PveError('{0}: {1}'.format(_label(index, item), exc))
    return specs


def check_distinct(specs, cluster):
    """Two items naming the same guest would fight over it: refuse before any write."""
    seen = {}
    for index, spec in enumerate(specs):
        try:
            guest, _source = locate(spec, cluster)
        except PveError:
            continue  # reported as that guest's own failure
        keys = []
        if guest is not None:
            keys.append(('vmid', guest['vmid']))
        else:
            if spec.vmid is not None:
                keys.append(('vmid', spec.vmid))
            if spec.name is not None:
                keys.append((spec.kind.type, spec.name))
        for key in keys:
            if key in seen:
                raise PveError('guests[{0}] ({1}) names the same guest as guests[{2}]: give each guest once'.format(
                    index, spec.label, seen[key]))
            seen[key] = index


class Entry:
    """One guest of the task: its spec, and its plan or the error that stopped planning it."""

    def __init__(self, spec, plan=None, error=None, unlisted=False):
        self.spec = spec
        self.plan = plan
        self.error = error
        self.unlisted = unlisted


def unlisted_guests(cluster, entries, tags):
    """Guests carrying any of ``tags`` that no item of the task names."""
    named = set()
    for entry in entries:
        if entry.plan is not None and entry.plan.exists:
            named.add(entry.plan.vmid)
    wanted = set(split_tags(tags))
    return [g for g in cluster.select() if wanted & set(g['tags']) and g['vmid'] not in named]


def plan_fleet(client, cluster, specs, concurrency=DEFAULT_CONCURRENCY, exclusive=None, force=False):
    """Read and plan every guest; returns (entries, unlisted guests). Planning one guest may fail without
    stopping the others; its entry then holds the error."""
    check_distinct(specs, cluster)
    states = read_states(client, cluster, specs, workers=concurrency)
    entries = []
    for spec, state in zip(specs, states):
        if isinstance(state, PveError):
            entries.append(Entry(spec, error=state))
            continue
        try:
            plan = plan_with_facts(client, cluster, lambda: plan_guest(spec, state, cluster))
        except PveError as exc:
            entries.append(Entry(spec, error=exc))
            continue
        entries.append(Entry(spec, plan))
    unlisted = unlisted_guests(cluster, entries, (exclusive or {}).get('tags')) if exclusive else []
    if force:
        for guest in unlisted:
            kind = KINDS[guest['type']]
            spec = GuestSpec(kind, vmid=guest['vmid'], name=guest['name'], state='absent', force=True)
            try:
                entries.append(Entry(spec, plan_guest(spec, GuestState(guest), cluster), unlisted=True))
            except PveError as exc:
                entries.append(Entry(spec, error=exc, unlisted=True))
    return entries, unlisted


def guest_outcome(entry, outcome=None):
    """One guest's part of the result."""
    spec, plan = entry.spec, entry.plan
    error = entry.error if entry.error is not None else (outcome.error if outcome is not None else None)
    out = dict(type=spec.kind.type, name=spec.name, vmid=spec.vmid, node=None, status=None, changed=False,
               changes=[], diff=dict(before='', after=''), tasks=[], failed=error is not None,
               msg=str(error) if error is not None else '', unlisted=entry.unlisted)
    if plan is not None:
        run = outcome.run if outcome is not None else None
        applied = outcome is not None and not outcome.skipped and error is None
        out.update(plan.result(run))
        out.update(vmid=plan.vmid, name=plan.name, node=plan.node, status=plan.status if applied or not plan.changed
                   else None)
        if outcome is not None and outcome.skipped:
            out.update(msg='not started: an earlier guest failed and fail_fast is set', failed=True, changed=False)
        elif error is not None:
            out['changed'] = bool(run and run.tasks)  # what the run did before it failed
        out['warnings'] = plan.warnings
    return out


def converge_fleet(client, specs, check_mode, timeout, concurrency=DEFAULT_CONCURRENCY, fail_fast=False,
                   exclusive=None, force=False):
    """The whole task: the result dict (guests, changed, changes, diff, tasks, unlisted, failed, msg)."""
    cluster = ClusterView.read(client)
    entries, unlisted = plan_fleet(client, cluster, specs, concurrency, exclusive, force)
    planned = [e for e in entries if e.plan is not None]
    if fail_fast and any(e.error is not None for e in entries):
        outcomes = {}  # a guest already failed while planning: apply nothing
        skipped = True
    else:
        results = execute_all(client, [e.plan for e in planned], apply_guest, check_mode, timeout,
                              concurrency=concurrency, fail_fast=fail_fast)
        outcomes = dict((id(e), o) for e, o in zip(planned, results))
        skipped = False
    guests = []
    for entry in entries:
        outcome = outcomes.get(id(entry))
        out = guest_outcome(entry, outcome)
        if skipped and entry.plan is not None:
            out.update(failed=True, changed=False, status=None,
                       msg='not started: another guest failed while planning and fail_fast is set')
        guests.append(out)
    failed = [g for g in guests if g['failed']]
    result = dict(
        changed=any(g['changed'] for g in guests),
        guests=guests,
        changes=['{0}: {1}'.format(g['name'] or g['vmid'], c) for g in guests for c in g['changes']],
        diff=[g['diff'] for g in guests if g['changes']],
        tasks=[t for g in guests for t in g['tasks']],
        unlisted=[dict(vmid=g['vmid'], name=g['name'], node=g['node'], type=g['type'], tags=g['tags'])
                  for g in unlisted],
        warnings=['{0}: {1}'.format(g['name'] or g['vmid'], w) for g in guests for w in g.pop('warnings', [])],
        summary=dict(total=len(guests), changed=sum(1 for g in guests if g['changed']), failed=len(failed),
                     unchanged=sum(1 for g in guests if not g['changed'] and not g['failed'])),
    )
    if unlisted and not force:
        result['warnings'].append('{0} guest(s) carry the exclusive tags but are not in guests (left alone; '
                                  'force: true removes them): {1}'.format(
                                      len(unlisted), ', '.join('{0} ({1})'.format(g['name'], g['vmid'])
                                                               for g in unlisted)))
    if failed:
        result['failed'] = True
        result['msg'] = '{0} of {1} guests failed: {2}'.format(len(failed), len(guests), '; '.join(
            '{0}: {1}'.format(g['name'] or g['vmid'], g['msg']) for g in failed))
    return result
