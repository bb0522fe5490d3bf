"""Cluster backup jobs: /cluster/backup and /cluster/backup/{id}, kept as PVE keeps jobs.cfg.

fakepve answers these from the schema and keeps nothing. This follows pve-manager
``PVE/API2/Backup.pm`` (create_job, read_job, update_job, delete_job, index) and
``PVE/VZDump.pm`` ``verify_vzdump_parameters`` and its notes-template check:

- ``schedule`` is checked as a calendar event (pve-common ``PVE/CalendarEvent.pm``, see
  calendar_event.py): a 400 ``schedule: invalid calendar event '<text>' - <why>``; a new job
  needs a schedule (or the deprecated ``starttime``);
- ``all``, ``exclude`` and ``pool`` conflict with ``vmid``; a job must select guests (``all``,
  ``vmid`` or ``pool``); ``exclude`` without ``pool`` implies ``all``; an update that sets one
  selection drops the others as update_job does;
- a ``pool`` must exist (403 ``pool '<id>' does not exist``);
- ``prune-backups``, ``fleecing`` and ``performance`` are property strings going in and objects
  coming out;
- ``delete`` takes vzdump options, ``comment`` and ``repeat-missed``; ``enabled`` defaults to 1;
  a missing ``id`` becomes a UUID.

Not modelled: running the jobs (the scheduler), ``next-run`` (PVE computes it from the schedule),
jobs still in the old vzdump.cron.
"""

import copy
import uuid

from fakepve.model import PveError
from fakepve.routing import die, param_error, split_list

from .calendar_event import calendar_event_error

# PVE::VZDump::Common confdesc: the options a job holds (what option_exists knows).
VZDUMP_OPTIONS = ('all', 'bwlimit', 'compress', 'dumpdir', 'exclude', 'exclude-path', 'fleecing', 'ionice',
                  'lockwait', 'mailnotification', 'mailto', 'mode', 'node', 'notes-template', 'notification-mode',
                  'pbs-change-detection-mode', 'performance', 'pigz', 'pool', 'protected', 'prune-backups', 'quiet',
                  'remove', 'script', 'stdexcludes', 'stop', 'stopwait', 'storage', 'tmpdir', 'vmid', 'zstd')
JOB_OPTIONS = ('schedule', 'enabled', 'repeat-missed', 'comment')
PROPERTY_STRINGS = ('prune-backups', 'fleecing', 'performance')
BOOLEANS = ('all', 'enabled', 'protected', 'quiet', 'remove', 'repeat-missed', 'stdexcludes', 'stop')
NOTES_VARIABLES = ('cluster', 'guestname', 'node', 'vmid')


def _bool(value):
    return 1 if str(value).lower() in ('1', 'true', 'yes', 'on') else 0


def _property_string(text):
    out = {}
    for item in split_list(str(text).replace(';', ',')):
        key, sep, value = item.partition('=')
        out[key] = value if sep else 1
    return out


def _notes_problems(template):
    """VZDump.pm $verify_notes_template."""
    if '\n' in template:
        return 'contains a line feed'
    problems = []
    index = 0
    while index < len(template):
        if template[index] == '\\' and index + 1 < len(template):
            if template[index + 1] not in 'n\\':
                problems.append("escape sequence '\\{0}' at char {1}".format(template[index + 1], index))
            index += 2
            continue
        index += 1
    pos = 0
    while True:
        start = template.find('{{', pos)
        end = template.find('}}', start + 2) if start >= 0 else -1
        if start < 0 or end < 0:
            break
        var = template[start + 2:end]
        if var and not any(c.isspace() or c in '{}' for c in var) and var not in NOTES_VARIABLES:
            problems.append("variable '{0}' at char {1}".format(var, start + 2))
        pos = end + 2
    return 'found unknown: ' + ', '.join(problems) if problems else None


class BackupJobs(object):
    """Mixin of FakePve: cluster backup jobs (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.backup_jobs = {}  # id -> the job as jobs.cfg holds it (PVE's keys, property strings as dicts)

    def _routes_backup_jobs(self):
        one = '/cluster/backup/{id}'
        return [('GET', '/cluster/backup', self._bj_index), ('POST', '/cluster/backup', self._bj_create),
                ('GET', one, self._bj_read), ('PUT', one, self._bj_update), ('DELETE', one, self._bj_delete)]

    @staticmethod
    def _bj_view(jobid, job):
        out = dict((k, copy.deepcopy(v)) for k, v in job.items() if k != 'type')
        out['id'] = jobid
        return out

    async def _bj_index(self, v, user):
        return [self._bj_view(jobid, job) for jobid, job in self.backup_jobs.items()]

    def _bj_need(self, jobid):
        if jobid not in self.backup_jobs:
            raise param_error(id="No such job '{0}'".format(jobid))
        return self.backup_jobs[jobid]

    async def _bj_read(self, v, user):
        return self._bj_view(v['id'], self._bj_need(v['id']))

    def _bj_check_params(self, v, user, creating):
        """What create_job and update_job check before they touch jobs.cfg."""
        if v.get('schedule') is not None:
            why = calendar_event_error(v['schedule'])
            if why:
                raise param_error(schedule=why)
            if v.get('starttime') is not None:
                raise param_error(starttime="'starttime' and 'schedule' cannot both be set")
        elif v.get('starttime') is None:
            if creating:
                raise param_error(schedule="neither 'starttime' nor 'schedule' were set")
        else:
            days = ','.join(split_list(v.get('dow') or ''))
            v['schedule'] = v['starttime'] if days in ('', 'mon,tue,wed,thu,fri,sat,sun') else \
                '{0} {1}'.format(days, v['starttime'])
        v.pop('starttime', None)
        v.pop('dow', None)
        if user != 'root@pam':
            for key in ('tmpdir', 'dumpdir', 'script'):
                if key in v:
                    raise param_error(**{key: 'Only root may set this option.'})
        if v.get('pool'):
            if v['pool'] not in self.pools:
                raise PveError(403, "Permission check failed (pool '{0}' does not exist)".format(v['pool']))
            self.require(user, '/pool/' + v['pool'], 'VM.Backup')
        if v.get('storage') and user != 'root@pam':
            self.require(user, '/storage/' + v['storage'], 'Datastore.Allocate')

    @staticmethod
    def _bj_verify(job, check_missing):
        """VZDump.pm verify_vzdump_parameters."""
        if job.get('all') and _bool(job['all']) and job.get('vmid'):
            raise param_error(all="option conflicts with option 'vmid'")
        if job.get('exclude') and job.get('vmid'):
            raise param_error(exclude="option conflicts with option 'vmid'")
        if job.get('pool') and job.get('vmid'):
            raise param_error(pool="option conflicts with option 'vmid'")
        if job.get('notes-template'):
            why = _notes_problems(job['notes-template'])
            if why:
                raise param_error(**{'notes-template': why})
        if job.get('exclude') is not None and not job.get('pool'):
            job['all'] = 1
        if check_missing and not (_bool(job.get('all', 0)) or _bool(job.get('stop', 0)) or job.get('pool')) \
                and not job.get('vmid'):
            raise param_error(vmid='property is missing')

    @staticmethod
    def _bj_stored(v):
        """The parameters as jobs.cfg keeps them: booleans 0/1, property strings parsed."""
        job = {}
        for key, value in v.items():
            if key in ('id', 'delete', 'digest'):
                continue
            if key in PROPERTY_STRINGS:
                value = _property_string(value)
            elif key in BOOLEANS:
                value = _bool(value)
            job[key] = value
        return job

    async def _bj_create(self, v, user):
        v = dict(v)
        self._bj_check_params(v, user, creating=True)
        v.setdefault('enabled', 1)
        jobid = v.get('id') or str(uuid.uuid4())
        if jobid in self.backup_jobs:
            raise die("Job '{0}' already exists".format(jobid))
        job = self._bj_stored(v)
        self._bj_verify(job, check_missing=True)
        job['type'] = 'vzdump'
        self.backup_jobs[jobid] = job

    async def _bj_update(self, v, user):
        v = dict(v)
        jobid = v.pop('id')
        delete = split_list(v.pop('delete', None))
        self._bj_check_params(v, user, creating=False)
        if not v and not delete:
            raise die('no options specified')
        update = self._bj_stored(v)
        self._bj_verify(dict(update), check_missing=False)
        if jobid not in self.backup_jobs or self.backup_jobs[jobid].get('type') != 'vzdump':
            raise die('no such vzdump job')
        job = copy.deepcopy(self.backup_jobs[jobid])
        for key in delete:
            if key not in VZDUMP_OPTIONS and key not in ('comment', 'repeat-missed'):
                raise param_error(delete="unknown option '{0}'".format(key))
            job.pop(key, None)
        job.update(update)
        if job.get('exclude') is not None and not job.get('pool'):
            job['all'] = 1
        # update_job: the selection given wins, the others go.
        if 'vmid' in update:
            for key in ('all', 'exclude', 'pool'):
                job.pop(key, None)
        elif update.get('all'):
            for key in ('vmid', 'pool'):
                job.pop(key, None)
        elif job.get('pool'):
            for key in ('vmid', 'all', 'exclude'):
                job.pop(key, None)
        self._bj_verify(job, check_missing=True)
        self.backup_jobs[jobid] = job

    async def _bj_delete(self, v, user):
        self._bj_need(v['id'])
        del self.backup_jobs[v['id']]
