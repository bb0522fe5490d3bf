#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: backup_job
short_description: Manage scheduled backup jobs of a Proxmox VE cluster
version_added: 0.1.0
description:
  - Ensures a scheduled backup job (Datacenter > Backup, API C(/cluster/backup)) exists with the settings given, or is
    removed.
  - A job is found by its O(id) or, when no O(id) is given, by its O(comment), which must then name one job. A job
    made from a comment alone gets the id V(backup-) followed by 12 hex digits derived from the comment.
  - O(schedule) is checked as PVE checks a calendar event before anything is written.
  - A job selects its guests in one way - every guest (O(all), optionally with O(exclude)), a list of O(vmid), or a
    O(pool). Setting one way drops the others, as PVE does.
  - Only the options that are set are compared, after PVE's normalization; a second run changes nothing.
  - Retention (O(prune)) takes the same suboptions as M(pve.fleet.backup)'s and is checked by the same code.
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: Reads the jobs and reports what would change; nothing is written.
  diff_mode:
    support: full
    description: Shows the options that change, before and after, in the module's own spelling.
options:
  id:
    description:
      - The job's id (a letter, then letters, digits, C(-) or C(_); up to 50).
      - Left out, the job is the one whose O(comment) is the one given.
    type: str
  comment:
    description:
      - The job's comment (one line, up to 512 characters).
      - Without O(id), it names the job; with O(id), it is set like any option (an empty string removes it).
    type: str
  state:
    description: V(present) creates the job or brings its options to the values given; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  schedule:
    description:
      - When the job runs, as a PVE calendar event, for example V(daily), V(sat 02:30), V(mon..fri 22:00),
        V(*:0/30), V(*-*-01 03:00) or V(sun 01:00 UTC).
      - The form is C([WEEKDAYS] [[YEARS-]MONTHS-DAYS] [[HOURS:]MINUTES[:SECONDS]] [UTC]) or a keyword (V(minutely),
        V(hourly), V(daily), V(weekly), V(monthly), V(yearly), V(quarterly), V(semiannually)). One number alone is
        minutes.
      - Required to create a job.
    type: str
  enabled:
    description: Whether the job runs on its schedule. PVE enables a new job unless this says otherwise.
    type: bool
  all:
    description: Back up every guest of the cluster (but those in O(exclude)).
    type: bool
  vmid:
    description: Back up these guests only. Guests that do not exist (yet) are warned about, not refused.
    type: list
    elements: int
  pool:
    description: Back up the guests of this pool (it must exist), as they are when the job runs.
    type: str
  exclude:
    description:
      - Guests left out of a job over every guest; implies O(all). An empty list removes the exclusions.
      - PVE excludes guests only from a job over every guest, not from a pool's.
    type: list
    elements: int
  node:
    description: Run the job for the guests on this node only.
    type: str
  storage:
    description: The storage the archives go to. It must exist and hold backups.
    type: str
  mode:
    description: V(snapshot) backs a running guest up while it runs, V(suspend) pauses it, V(stop) stops it.
    type: str
    choices: [snapshot, suspend, stop]
  compress:
    description: Compression of the archives.
    type: str
    choices: [none, lzo, gzip, zstd]
    aliases: [compression]
  prune:
    description:
      - The job's retention (PVE's C(prune-backups)), used instead of the storage's. Compared as a whole.
      - Without any positive C(keep_*) count, PVE keeps every backup. An empty dict removes the setting, so the
        storage's retention applies.
    type: dict
    suboptions:
      keep_all:
        description: Keep every backup. Cannot be combined with a positive C(keep_*) count.
        type: bool
      keep_last:
        description: Keep the last N backups.
        type: int
      keep_hourly:
        description: Keep the latest backup of each of the last N hours that have one.
        type: int
      keep_daily:
        description: Keep the latest backup of each of the last N days that have one.
        type: int
      keep_weekly:
        description: Keep the latest backup of each of the last N weeks that have one.
        type: int
      keep_monthly:
        description: Keep the latest backup of each of the last N months that have one.
        type: int
      keep_yearly:
        description: Keep the latest backup of each of the last N years that have one.
        type: int
  notes_template:
    description:
      - Notes for each archive. PVE replaces C({{cluster}}), C({{guestname}}), C({{node}}) and C({{vmid}}) and knows
        no other variable; mark the string C(!unsafe) so Ansible does not template it. Needs O(storage).
      - An empty string removes it.
    type: str
    aliases: [notes]
  protected:
    description: Protect the archives the job makes from pruning and removal.
    type: bool
  mailto:
    description: Addresses or user names that get the job's mail. An empty list removes them.
    type: list
    elements: str
  mailnotification:
    description: When mail is sent (for the legacy sendmail notification).
    type: str
    choices: [always, failure]
  notification_mode:
    description:
      - How the job notifies - V(notification-system) uses the datacenter's notification targets and matchers,
        V(legacy-sendmail) mails O(mailto), V(auto) picks by whether O(mailto) is set.
    type: str
    choices: [auto, legacy-sendmail, notification-system]
  repeat_missed:
    description: Run a job whose time passed while the scheduler was not running as soon as possible.
    type: bool
seealso:
  - module: pve.fleet.backup
  - module: pve.fleet.pool
  - name: PVE calendar events
    description: The schedule format.
    link: https://pve.proxmox.com/pve-docs/chapter-calendar-events.html
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: Nightly backups of every guest but two, 7 daily and 4 weekly kept
  pve.fleet.backup_job:
    id: nightly
    comment: every guest, nightly
    schedule: "mon..sun 01:30"
    all: true
    exclude: [9000, 9001]
    storage: backup-nfs
    mode: snapshot
    compress: zstd
    prune:
      keep_daily: 7
      keep_weekly: 4
    notes_template: !unsafe "{{guestname}} ({{vmid}}) on {{node}}"
    notification_mode: notification-system

- name: The web pool every 6 hours, found by its comment
  pve.fleet.backup_job:
    comment: web pool, 6-hourly
    schedule: "*-*-* 0/6:00"
    pool: web
    storage: backup-nfs

- name: Pause a job
  pve.fleet.backup_job:
    id: nightly
    enabled: false

- name: Remove a job
  pve.fleet.backup_job:
    comment: web pool, 6-hourly
    state: absent
'''

RETURN = r'''
id:
  description: The job's id (made up from O(comment) for a new job without O(id)); null when no job was found to remove.
  returned: always
  type: str
  sample: nightly
changes:
  description: What was done (in check mode, what would be done), one sentence per change.
  returned: always
  type: list
  elements: str
  sample: ['set schedule: 21:00 -> mon..sun 01:30', 'add prune: keep_daily=7, keep_weekly=4']
diff:
  description: Before and after of exactly the options that change, as YAML text.
  returned: always
  type: dict
tasks:
  description: The UPIDs of the PVE tasks the run waited for (job changes run none).
  returned: always
  type: list
  elements: str
  sample: []
job:
  description:
    - The job as PVE returns it after the run (in check mode, as it is now); null when it does not exist.
  returned: always
  type: dict
  sample: {id: nightly, schedule: 'mon..sun 01:30', all: 1, exclude: '9000,9001', storage: backup-nfs, enabled: 1}
'''

from ansible_collections.pve.fleet.plugins.module_utils.backup_jobs import (
    JobSpec, apply_job, find_job, plan_job, public_job, read_current)
from ansible_collections.pve.fleet.plugins.module_utils.module import pve_module, run_module
from ansible_collections.pve.fleet.plugins.module_utils.plan import execute
from ansible_collections.pve.fleet.plugins.module_utils.prune import PRUNE_OPTIONS


def ensure_job(module, client):
    spec = JobSpec.from_params(module.params)
    state = read_current(client, spec)
    plan = plan_job(spec, state)
    for warning in plan.warnings:
        module.warn(warning)
    run = execute(client, plan, apply_job, module.check_mode, module.params['timeout'])
    job = find_job(spec, state.jobs)
    if plan.changed and not module.check_mode:
        jobs = client.get('cluster/backup') or []
        job = next((j for j in jobs if j.get('id') == plan.jobid), None)
    result = plan.result(run)
    result.update(id=plan.jobid, job=public_job(job))
    return result


def main():
    module = pve_module(dict(
        id=dict(type='str'),
        comment=dict(type='str'),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        schedule=dict(type='str'),
        enabled=dict(type='bool'),
        all=dict(type='bool'),
        vmid=dict(type='list', elements='int'),
        pool=dict(type='str'),
        exclude=dict(type='list', elements='int'),
        node=dict(type='str'),
        storage=dict(type='str'),
        mode=dict(type='str', choices=['snapshot', 'suspend', 'stop']),
        compress=dict(type='str', choices=['none', 'lzo', 'gzip', 'zstd'], aliases=['compression']),
        prune=dict(type='dict', options=PRUNE_OPTIONS),
        notes_template=dict(type='str', aliases=['notes']),
        protected=dict(type='bool'),
        mailto=dict(type='list', elements='str'),
        mailnotification=dict(type='str', choices=['always', 'failure']),
        notification_mode=dict(type='str', choices=['auto', 'legacy-sendmail', 'notification-system']),
        repeat_missed=dict(type='bool'),
    ))
    run_module(module, ensure_job)


if __name__ == '__main__':
    main()
