# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""A plan is a value: what one run does to one object, computed from what was read, without I/O.

Every module reads what it needs, builds a ``Plan`` (one per object; ``pve.fleet.fleet`` builds
one per guest) and hands it to ``execute``. Check mode stops there, in this one place; otherwise
the plan's apply function is the only code that writes. The result vocabulary of every module
derives from the plan and the run:

- ``changed``: the plan has steps;
- ``changes``: one sentence a person reads per step (in check mode: what would be done);
- ``diff``: before/after of exactly what changes, as YAML text;
- ``tasks``: the UPIDs of the PVE tasks the run waited for (empty in check mode).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.pve.fleet.plugins.module_utils.api import BUSY_GUEST, backoff
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.tasks import PveTaskError, wait_for_task

DEFAULT_CONCURRENCY = 8


class Step:
    """One thing a plan does. ``action`` names it (set, delete, create, ...); ``key``, ``before`` and
    ``after`` say what it touches; ``text`` is the sentence when the default one does not fit;
    ``data`` holds what apply needs (a value to send, a path) and is never shown."""

    def __init__(self, action, key=None, before=None, after=None, text=None, data=None):
        self.action = action
        self.key = key
        self.before = before
        self.after = after
        self.text = text
        self.data = data if data is not None else {}

    def describe(self):
        if self.text is not None:
            return self.text
        if self.action == 'set':
            if self.before is None:
                return 'add {0}: {1}'.format(self.key, flat(self.after))
            return 'set {0}: {1} -> {2}'.format(self.key, flat(self.before), flat(self.after))
        if self.action == 'delete':
            return 'remove {0} ({1})'.format(self.key, flat(self.before))
        return '{0} {1}'.format(self.action, self.key) if self.key else self.action

    def __repr__(self):
        return 'Step({0!r})'.format(self.describe())


class Plan:
    """What one run does to one object (``subject``, e.g. ``storage nfs1`` or ``VM 100 (web1)``).

    ``before`` and ``after`` hold what the diff shows: the values of exactly what changes (an
    object made has an empty ``before``; one removed an empty ``after``).
    """

    def __init__(self, subject, steps=None, before=None, after=None):
        self.subject = subject
        self.steps = list(steps or [])
        self.before = dict(before or {})
        self.after = dict(after or {})

    @property
    def changed(self):
        return bool(self.steps)

    @property
    def changes(self):
        return [step.describe() for step in self.steps]

    def add(self, step, before=None, after=None):
        """Append a step; ``before``/``after`` (dicts) go into the diff."""
        self.steps.append(step)
        self.before.update(before or {})
        self.after.update(after or {})
        return step

    def diff(self):
        return dict(before=yaml_text(self.before), after=yaml_text(self.after),
                    before_header='{0} (before)'.format(self.subject),
                    after_header='{0} (after)'.format(self.subject))

    def result(self, run=None):
        """The result keys every module returns: changed, changes, diff, tasks."""
        return dict(changed=self.changed, changes=self.changes, diff=self.diff(),
                    tasks=list(run.tasks) if run is not None else [])


class Run:
    """Where a plan is applied: the client, how long a PVE task may take, and the tasks waited for."""

    def __init__(self, client, timeout):
        self.client = client
        self.timeout = timeout
        self.tasks = []

    def wait(self, upid):
        """Wait for a task an apply started (None: the call ran no task); its failure raises PveTaskError."""
        if not upid:
            return None
        self.tasks.append(upid)
        return wait_for_task(self.client, upid, self.timeout)

    def task(self, send):
        """Start a task with ``send()`` and wait for it. A task that ended at once because another task holds
        the guest (its lock file, or a lock such as backup) did nothing: it is started again until the other
        lets go, for at most ``timeout`` seconds, then the failure says so."""
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                return self.wait(send())
            except PveTaskError as exc:
                if not BUSY_GUEST.search(str(exc.exitstatus)):
                    raise
                if time.monotonic() - started >= self.timeout:
                    raise PveTaskError('{0}: another task holds the guest and did not let go within {1}s (timeout); '
                                       'wait for it to finish (or unlock the guest), or raise timeout'.format(
                                           exc.message, self.timeout), exc.upid, exitstatus=exc.exitstatus,
                                       log_tail=exc.log_tail)
            time.sleep(backoff(attempt))
            attempt += 1


def read_until_unlocked(read, locks_of, timeout):
    """``read()`` again while ``locks_of(its answer)`` names locks another task holds on the guests (a backup, a
    migration), for at most ``timeout`` seconds, as Run.task waits for a write PVE refused; then the last answer,
    for the planner to refuse naming the lock. Reads only: check mode waits the same."""
    started = time.monotonic()
    attempt = 0
    while True:
        state = read()
        if not locks_of(state) or time.monotonic() - started >= timeout:
            return state
        time.sleep(backoff(attempt))
        attempt += 1


def execute(client, plan, apply, check_mode, timeout):
    """Apply ``plan`` with ``apply(run, plan)`` unless it is empty or this is check mode; returns the Run.

    This is the one place check mode stops: nothing that writes runs before it.
    """
    run = Run(client, timeout)
    if plan.changed and not check_mode:
        apply(run, plan)
    return run


class Outcome:
    """How applying one plan of many went: its run (tasks) and the error that stopped it, if any."""

    def __init__(self, plan, run, error=None, skipped=False):
        self.plan = plan
        self.run = run
        self.error = error
        self.skipped = skipped

    @property
    def failed(self):
        return self.error is not None


def execute_all(client, plans, apply, check_mode, timeout, concurrency=DEFAULT_CONCURRENCY, fail_fast=False):
    """Apply many plans, ``concurrency`` at a time; one Outcome per plan, in the order given.

    A PveError stops only its own plan, unless ``fail_fast``: then plans not yet started are
    skipped (those running finish). Errors other than PveError are bugs and propagate.
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor  # here only: a single-object module never pays for it

    stop = threading.Event()

    def one(plan):
        run = Run(client, timeout)
        if stop.is_set():
            return Outcome(plan, run, skipped=True)
        try:
            if plan.changed and not check_mode:
                apply(run, plan)
        except PveError as exc:
            if fail_fast:
                stop.set()
            return Outcome(plan, run, error=exc)
        return Outcome(plan, run)

    if len(plans) <= 1 or concurrency <= 1:
        return [one(plan) for plan in plans]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(one, plans))


# ------------------------------------------------------------------------ showing values

_PLAIN = re.compile(r'^[A-Za-z0-9/_.~+-][A-Za-z0-9/_.@+~:=, -]*$')
_YAML_WORDS = ('yes', 'no', 'true', 'false', 'null', 'on', 'off', 'y', 'n', '~')
# Made only of what YAML 1.1 numbers, dates and times are made of (1e3, 0x1F, 12:30, 2026-12-01, .5):
# quoted, except a plain non-negative integer. 8G or 10.0.0.5/24 are text to YAML and stay bare.
_NUMBER_LIKE = re.compile(r'^[-+]?[0-9.][0-9a-fA-FxXoObB_:.eE+-]*$|^[-+]?\.(inf|Inf|INF|nan|NaN|NAN)$')
_INTEGER = re.compile(r'^(0|[1-9][0-9]*)$')


def flat(value):
    """A value on one line, for the sentences of ``changes``: lists comma-separated, dicts as k=v."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return ', '.join(flat(v) for v in (sorted(value) if isinstance(value, (set, frozenset)) else value)) or '[]'
    if isinstance(value, dict):
        return ', '.join('{0}={1}'.format(k, flat(v)) for k, v in sorted(value.items())) or '{}'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value).rstrip('\n').replace('\n', '\\n')


def yaml_scalar(value, flow=False):
    """A scalar as YAML reads it back: quoted only where YAML would misread it (``flow``: inside [] or {})."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if value is None:
        return 'null'
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    plain = (_PLAIN.match(text) and text.lower() not in _YAML_WORDS and not text.endswith((' ', ':'))
             and ': ' not in text and ' #' not in text and not re.match(r'^[-?:]( |$)', text)
             and (_INTEGER.match(text) or not _NUMBER_LIKE.match(text))
             and not (flow and re.search(r'[,:]', text)))
    return text if plain else "'{0}'".format(text.replace("'", "''"))


def yaml_text(data):
    """A dict as block YAML a person reads in --diff output: keys sorted, lists and dicts in flow style,
    multi-line text as a literal block."""
    lines = []
    for key in sorted(data):
        value = data[key]
        if isinstance(value, (set, frozenset)):
            value = sorted(value)
        if isinstance(value, (list, tuple)):
            text = '[{0}]'.format(', '.join(yaml_scalar(v, flow=True) for v in value))
        elif isinstance(value, dict):
            items = ('{0}: {1}'.format(yaml_scalar(k, flow=True), yaml_scalar(v, flow=True))
                     for k, v in sorted(value.items()))
            text = '{{{0}}}'.format(', '.join(items))
        elif isinstance(value, str) and '\n' in value.strip():
            lines.append('{0}: |\n{1}'.format(yaml_scalar(key), '\n'.join('  ' + line
                                                                          for line in value.strip().split('\n'))))
            continue
        else:
            text = yaml_scalar(value)
        lines.append('{0}: {1}'.format(yaml_scalar(key), text))
    return '\n'.join(lines) + ('\n' if lines else '')
