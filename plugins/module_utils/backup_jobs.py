# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""Cluster backup jobs (Datacenter > Backup, API /cluster/backup): spec -> read -> plan -> apply.

Follows pve-manager's PVE/API2/Backup.pm and PVE/VZDump.pm: a job has a ``schedule`` (a calendar
event, checked here as PVE checks it), selects its guests with exactly one of ``all`` (with
``exclude``), ``vmid`` or ``pool`` (setting one drops the others), and holds vzdump's options
(storage, mode, compress, prune-backups, notes-template, mail and notification settings). The
notes template may use only {{cluster}}, {{guestname}}, {{node}} and {{vmid}}. Options are
removed with ``delete``. A job is found by its ``id`` or, without one, by its ``comment``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible_collections.pve.fleet.plugins.module_utils.access import as_bool, no_such, text_value
from ansible_collections.pve.fleet.plugins.module_utils.backup import COMPRESS
from ansible_collections.pve.fleet.plugins.module_utils.calendar import check_schedule
from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.plan import Plan, Step
from ansible_collections.pve.fleet.plugins.module_utils.prune import (
    format_prune, normalize_prune, prune_from_option, prune_to_option)

JOB_ID = re.compile(r'^[A-Za-z][A-Za-z0-9_\-]+$')
NOTES_VARIABLES = ('cluster', 'guestname', 'node', 'vmid')
MAILTO = re.compile(r'^([^\s@]+@[A-Za-z0-9.\-]+|[A-Za-z0-9._\-]+)$')
COMPRESS_OPTION = dict((pve, option) for option, pve in COMPRESS.items())
SELECTION = ('all', 'vmid', 'pool')
# The module's options -> PVE's keys, in the order diffs and sentences show them.
OPTION_KEYS = (('schedule', 'schedule'), ('enabled', 'enabled'), ('comment', 'comment'), ('all', 'all'),
               ('vmid', 'vmid'), ('pool', 'pool'), ('exclude', 'exclude'), ('node', 'node'), ('storage', 'storage'),
               ('mode', 'mode'), ('compress', 'compress'), ('prune', 'prune-backups'),
               ('notes_template', 'notes-template'), ('protected', 'protected'), ('mailto', 'mailto'),
               ('mailnotification', 'mailnotification'), ('notification_mode', 'notification-mode'),
               ('repeat_missed', 'repeat-missed'))
PVE_TO_OPTION = dict((pve, option) for option, pve in OPTION_KEYS)
ORDER = [pve for _option, pve in OPTION_KEYS]
BOOLEANS = ('enabled', 'all', 'protected', 'repeat-missed')
VMID_LISTS = ('vmid', 'exclude')
# What "not set" means for each option that can be removed: removed with delete.
REMOVABLE = ('comment', 'exclude', 'node', 'prune-backups', 'notes-template', 'mailto', 'protected', 'repeat-missed')


def notes_problems(template):
    """VZDump.pm's notes-template check: one line, escapes \\n and \\\\ only, the four variables only."""
    if '\n' in template:
        return 'PVE takes one line (write a line break as \\n)'
    problems = []
    for found in re.finditer(r'\\(.)', template):
        if found.group(1) not in ('n', '\\'):
            problems.append('the escape \\{0}'.format(found.group(1)))
    for found in re.finditer(r'\{\{([^\s{}]+)\}\}', template):
        if found.group(1) not in NOTES_VARIABLES:
            problems.append('the variable {{{{{0}}}}}'.format(found.group(1)))
    if problems:
        return 'PVE does not know {0} (it replaces {1}; escapes are \\n and \\\\)'.format(
            ', '.join(problems), ', '.join('{{{{{0}}}}}'.format(v) for v in NOTES_VARIABLES))
    return None


def vmid_set(value, option):
    if value in (None, ''):
        return frozenset()
    items = value if isinstance(value, (list, tuple, set, frozenset)) else re.split(r'[,;\s]+', str(value))
    out = set()
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        if not text.isdigit() or not 100 <= int(text) <= 999999999:
            raise PveError('{0}: {1!r} is not a vmid (100 to 999999999)'.format(option, item))
        out.add(int(text))
    return frozenset(out)


class JobSpec:
    """A backup job as the task wants it: found by ``jobid`` or ``comment``; ``options`` in PVE's keys,
    normalized (None: remove)."""

    def __init__(self, jobid, comment, state, options):
        self.jobid = jobid
        self.comment = comment
        self.state = state
        self.options = options

    @property
    def key(self):
        return 'backup job {0}'.format(self.jobid) if self.jobid else 'backup job {0!r}'.format(self.comment)

    @classmethod
    def from_params(cls, params):
        jobid = params.get('id')
        if jobid is not None and (not JOB_ID.match(jobid) or len(jobid) > 50):
            raise PveError('id: {0!r} is not a job id PVE takes (a letter, then letters, digits, - or _; up to 50)'
                           .format(jobid))
        comment = text_value(params.get('comment'))
        if jobid is None and comment is None:
            raise PveError('id: give the job id, or a comment that names the job')
        if comment is not None and (len(comment) > 512 or '\n' in comment):
            raise PveError('comment: PVE takes one line of up to 512 characters')
        options = {}
        if params.get('comment') is not None and jobid is not None:
            options['comment'] = comment
        if params.get('schedule') is not None:
            options['schedule'] = check_schedule(params['schedule'])
        for key in ('enabled', 'all', 'protected', 'repeat_missed'):
            if params.get(key) is not None:
                options[key.replace('_', '-')] = bool(params[key])
        for key in VMID_LISTS:
            if params.get(key) is not None:
                options[key] = vmid_set(params[key], key)
        for key in ('pool', 'node', 'storage', 'mode', 'mailnotification'):
            if params.get(key) is not None:
                options[key] = text_value(params[key])
        if params.get('notification_mode') is not None:
            options['notification-mode'] = params['notification_mode']
        if params.get('compress') is not None:
            options['compress'] = COMPRESS[params['compress']]
        if params.get('prune') is not None:
            options['prune-backups'] = prune_from_option(params['prune'], 'prune')
        if params.get('notes_template') is not None:
            why = notes_problems(params['notes_template'])
            if why:
                raise PveError('notes_template: {0}'.format(why))
            options['notes-template'] = text_value(params['notes_template'])
        if params.get('mailto') is not None:
            for address in params['mailto']:
                if not MAILTO.match(address):
                    raise PveError('mailto: {0!r} is neither an email address nor a user name'.format(address))
            options['mailto'] = frozenset(params['mailto'])
        check_selection(options)
        return cls(jobid, comment, params.get('state', 'present'), options)


def check_selection(options):
    """Backup.pm/VZDump.pm: vmid excludes all, exclude and pool; exclusions apply to all guests only."""
    if options.get('vmid'):
        for other in ('all', 'pool', 'exclude'):
            if options.get(other):
                raise PveError('{0}: cannot go with vmid (PVE: option conflicts with option \'vmid\'); a job '
                               'selects its guests by vmid, by pool, or all of them'.format(other))
    if options.get('all') and options.get('pool'):
        raise PveError('pool: cannot go with all: true; a job backs up a pool or all guests')
    if options.get('pool') and options.get('exclude'):
        raise PveError('exclude: PVE excludes guests only from a job over all guests (all: true), not from a pool')
    if options.get('all') is False and not (options.get('vmid') or options.get('pool')):
        raise PveError('all: false leaves the job without guests; give vmid or pool instead')
    if 'vmid' in options and not options['vmid']:
        raise PveError('vmid: an empty list selects no guest; use all: true, or pool')


def job_options(job):
    """A job as read (GET /cluster/backup) in JobSpec's spelling."""
    out = {}
    for key in ORDER:
        value = job.get(key)
        if value is None or value == '':
            continue
        if key in BOOLEANS:
            out[key] = as_bool(value)
        elif key in VMID_LISTS:
            out[key] = vmid_set(value, key)
        elif key == 'prune-backups':
            out[key] = normalize_prune(value)
        elif key == 'mailto':
            out[key] = frozenset(a for a in re.split(r'[,;\s]+', value if isinstance(value, str) else ','.join(value))
                                 if a)
        else:
            out[key] = str(value)
    out.setdefault('enabled', True)
    return out


def shown(key, value):
    """A value in the module's spelling, for diffs and sentences."""
    if isinstance(value, frozenset):
        return sorted(value)
    if key == 'prune-backups':
        return prune_to_option(value)
    if key == 'compress':
        return COMPRESS_OPTION.get(value, value)
    return value


def to_api(key, value):
    if isinstance(value, frozenset):
        return ','.join(str(v) for v in sorted(value))
    if isinstance(value, bool):
        return 1 if value else 0
    if key == 'prune-backups':
        return format_prune(value)
    return value


def new_job_id(comment):
    """An id for a job the task names by comment only: the same comment always gives the same id."""
    return 'backup-' + hashlib.sha1(comment.encode('utf-8')).hexdigest()[:12]


class JobState:
    def __init__(self, jobs, cluster=None, poolids=None):
        self.jobs = jobs
        self.cluster = cluster
        self.poolids = poolids


def read_current(client, spec):
    """The jobs (one request) and, when the task names storage, guests, a node or a pool, what checks them."""
    paths = ['cluster/backup']
    if any(spec.options.get(k) for k in ('storage', 'vmid', 'exclude', 'node')):
        paths.append('cluster/resources')
    if spec.options.get('pool'):
        paths.append('pools')
    answers = dict(zip(paths, client.get_many(paths)))
    cluster = ClusterView(answers['cluster/resources'] or []) if 'cluster/resources' in answers else None
    poolids = frozenset(p['poolid'] for p in answers.get('pools') or []) if 'pools' in answers else None
    return JobState(answers['cluster/backup'] or [], cluster, poolids)


def find_job(spec, jobs):
    """The job the task names: by id, or by its comment (which must then name one job)."""
    if spec.jobid is not None:
        return next((j for j in jobs if j.get('id') == spec.jobid), None)
    found = [j for j in jobs if text_value(j.get('comment')) == spec.comment]
    if len(found) > 1:
        raise PveError('comment: the jobs {0} share the comment {1!r}; name the job by id'.format(
            ', '.join(sorted(j['id'] for j in found)), spec.comment))
    return found[0] if found else None


def check_references(spec, state, warnings):
    """The storage, node and pool must exist; vmids that do not exist (yet) are only warned about."""
    options = spec.options
    cluster = state.cluster or ClusterView([])  # read only when the task names what it checks
    if options.get('storage'):
        sid = options['storage']
        if sid not in cluster.storages:
            raise no_such('storage', 'storage', sid, cluster.storages)
        if not any('backup' in str(s.get('content', '')).split(',') for s in cluster.storages[sid].values()):
            raise PveError('storage: {0!r} does not hold backups (its content: {1})'.format(
                sid, next(iter(cluster.storages[sid].values())).get('content', '')))
    if options.get('node'):
        cluster.require_node(options['node'])
    if options.get('pool') and options['pool'] not in state.poolids:
        raise no_such('pool', 'pool', options['pool'], state.poolids)
    for key in VMID_LISTS:
        missing = sorted(v for v in options.get(key) or () if cluster.find_guest(vmid=v) is None)
        if missing:
            warnings.append('{0}: no guest {1} in the cluster (yet); the job will skip {2}'.format(
                key, ', '.join(str(v) for v in missing), 'it' if len(missing) == 1 else 'them'))


class JobPlan(Plan):
    """``action``: create, update, remove or None; ``options`` key -> (before, after); ``delete`` the keys
    to remove; ``jobid`` the job's id (made up for a new job named by comment only)."""

    def __init__(self, subject, jobid, action, options, delete=()):
        super(JobPlan, self).__init__(subject)
        self.jobid = jobid
        self.action = action
        self.options = options
        self.delete = sorted(delete)
        self.warnings = []


def plan_job(spec, state):
    """The plan for one backup job (pure) from the jobs and cluster as read."""
    job = find_job(spec, state.jobs)
    if spec.state == 'absent':
        if job is None:
            return JobPlan(spec.key, spec.jobid, None, {})
        current = job_options(job)
        plan = JobPlan('backup job {0}'.format(job['id']), job['id'], 'remove', {})
        plan.add(Step('remove', text='remove backup job {0}'.format(job['id'])),
                 before=dict((PVE_TO_OPTION[k], shown(k, v)) for k, v in current.items()))
        return plan
    warnings = []
    check_references(spec, state, warnings)
    if job is None:
        return _plan_create(spec, warnings)
    return _plan_update(spec, job, warnings)


def _plan_create(spec, warnings):
    options = dict((k, v) for k, v in spec.options.items() if v is not None and v != frozenset())
    if 'schedule' not in options:
        raise PveError('schedule: a new backup job needs one (a calendar event, e.g. \'sat 02:30\' or \'daily\')')
    if not any(options.get(k) for k in SELECTION) and not options.get('exclude'):
        raise PveError('all: a new backup job needs its guests: all: true (optionally with exclude), vmid or pool')
    if options.get('notes-template') and not options.get('storage'):
        raise PveError('notes_template: PVE takes it only together with storage')
    if spec.comment is not None:
        options['comment'] = spec.comment
    jobid = spec.jobid or new_job_id(spec.comment)
    plan = JobPlan('backup job {0}'.format(jobid), jobid, 'create', dict((k, (None, v)) for k, v in options.items()))
    plan.warnings = warnings
    plan.add(Step('create', text='create backup job {0} ({1})'.format(jobid, options['schedule'])),
             after=dict((PVE_TO_OPTION[k], shown(k, v)) for k, v in options.items()))
    return plan


def _plan_update(spec, job, warnings):
    current = job_options(job)
    wanted = dict(spec.options)
    if wanted.get('exclude') and not wanted.get('pool') and not current.get('pool'):
        wanted.setdefault('all', True)  # PVE: exclusions mean all guests but those
    # Setting one selection drops the others, as Backup.pm's update_job does.
    if wanted.get('vmid'):
        for other in ('all', 'pool', 'exclude'):
            wanted.setdefault(other, None)
    elif wanted.get('all'):
        for other in ('vmid', 'pool'):
            wanted.setdefault(other, None)
    elif wanted.get('pool'):
        for other in ('vmid', 'all', 'exclude'):
            wanted.setdefault(other, None)
    if wanted.get('all') is False:
        wanted['all'] = None
    if 'exclude' in wanted and not wanted['exclude']:
        wanted['exclude'] = None
    if wanted.get('pool') and current.get('exclude') and 'exclude' not in spec.options:
        wanted['exclude'] = None
    changes = {}
    for key in ORDER:
        if key not in wanted:
            continue
        have, want = current.get(key), wanted[key]
        if want == frozenset():
            want = None
        if want is None and key not in REMOVABLE and key not in SELECTION:
            continue
        if want != have:
            changes[key] = (have, want)
    if 'notes-template' in changes and changes['notes-template'][1] and not (wanted.get('storage') or
                                                                             current.get('storage')):
        raise PveError('notes_template: PVE takes it only together with storage')
    plan = JobPlan('backup job {0}'.format(job['id']), job['id'], 'update' if changes else None, changes,
                   delete=[k for k, (_b, after) in changes.items() if after is None])
    plan.warnings = warnings
    for key in ORDER:
        if key not in changes:
            continue
        before, after = (shown(key, v) for v in changes[key])
        option = PVE_TO_OPTION[key]
        if after is None:
            plan.add(Step('delete', option, before), before={option: before})
        else:
            plan.add(Step('set', option, before, after), before={option: before} if before is not None else {},
                     after={option: after})
    return plan


def apply_job(run, plan):
    """The plan's one write: POST /cluster/backup, PUT or DELETE /cluster/backup/{id}."""
    client = run.client
    path = 'cluster/backup/{0}'.format(plan.jobid)
    if plan.action == 'create':
        params = dict((k, to_api(k, after)) for k, (_b, after) in plan.options.items())
        client.post('cluster/backup', id=plan.jobid, **params)
    elif plan.action == 'update':
        params = dict((k, to_api(k, after)) for k, (_b, after) in plan.options.items() if after is not None)
        if plan.delete:
            params['delete'] = ','.join(plan.delete)
        client.put(path, **params)
    elif plan.action == 'remove':
        client.delete(path)


def public_job(job):
    """A job as results show it: PVE's keys and values as read."""
    return dict(job) if job is not None else None
