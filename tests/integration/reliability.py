"""What the reliability tests check after every fault: the cluster holds what was asked and nothing else.

- no two guests of one type share a name (a create was never repeated blind);
- no orphaned disk: every image or container volume a storage holds is referenced by some guest's config
  (as a disk, an unusedN entry, or in a snapshot's config);
- no guest is left locked (neither PVE's `lock:` nor the config lock of a task).
"""

import json
import os
import subprocess
import time

import yaml
from fakepve.qemu import volume_ref

GUEST_VOLUME_CONTENT = ('images', 'rootdir')


def all_guests(cluster):
    return list(cluster.vms) + list(cluster.cts)


def guest_name(guest):
    return guest.config.get('hostname') or guest.config.get('name') or guest.name


def duplicate_names(cluster):
    seen, twins = {}, []
    for guest in all_guests(cluster):
        key = (type(guest).__name__, guest_name(guest))
        if key in seen:
            twins.append((key[1], seen[key], guest.vmid))
        seen[key] = guest.vmid
    return twins


def referenced_volumes(cluster):
    """Every volume id a guest config (or one of its snapshots' configs) names."""
    found = set()
    for guest in all_guests(cluster):
        for config in [guest.config] + list(getattr(guest, 'snapshots', {}).values()):
            for value in config.values():
                head = str(value).split(',', 1)[0]
                if ':' in head and not head.startswith('/'):
                    found.add(head)
    return found


def orphaned_volumes(cluster):
    """Guest volumes a storage holds that no guest references."""
    used = referenced_volumes(cluster)
    orphans = []
    for sid, store in sorted(cluster.storages.items()):
        for volname, vol in sorted(store.get('volumes', {}).items()):
            if vol.get('content') in GUEST_VOLUME_CONTENT:
                volid = '{0}:{1}'.format(sid, volname)
                if volid not in used and volume_ref(volid) not in [volume_ref(u) for u in used]:
                    orphans.append(volid)
    return orphans


def locked_guests(cluster):
    return [(g.vmid, g.lock or g.config.get('lock') or 'config lock held')
            for g in all_guests(cluster) if g.lock or g.config.get('lock') or g.lock_holder is not None]


def assert_consistent(cluster):
    """No duplicate guest, no orphaned disk, no guest left locked."""
    assert duplicate_names(cluster) == [], 'duplicate guests: {0}'.format(duplicate_names(cluster))
    assert orphaned_volumes(cluster) == [], 'orphaned volumes: {0}'.format(orphaned_volumes(cluster))
    assert locked_guests(cluster) == [], 'locked guests: {0}'.format(locked_guests(cluster))


def one_line_failure(result):
    """The message of the failed task: one line, no traceback anywhere in the output."""
    assert result.rc != 0, result.output
    assert 'Traceback' not in result.output, result.output
    msg = result.failed[0]['result'].get('msg', '')
    assert msg and '\n' not in msg.strip(), msg
    return msg


def named(guests, name):
    return [g for g in guests if guest_name(g) == name]


# ------------------------------------------------------------------ one run across a fault and its healing

def _environment(runner, record, env=None):
    """ansible-playbook's environment as harness.PlaybookRunner.run sets it."""
    from harness import BIN, CALLBACKS, REPO
    proc_env = dict((k, v) for k, v in os.environ.items() if not k.startswith('PROXMOX_'))
    proc_env.update({
        'ANSIBLE_CONFIG': os.path.join(REPO, 'ansible.cfg'), 'ANSIBLE_CALLBACK_PLUGINS': CALLBACKS,
        'ANSIBLE_CALLBACKS_ENABLED': 'record', 'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_RETRY_FILES_ENABLED': '0', 'ANSIBLE_LOCALHOST_WARNING': '0',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0', 'PVE_FLEET_RECORD': record,
        'PATH': BIN + os.pathsep + os.environ.get('PATH', '')})
    proc_env.update(env or {})
    return proc_env


def _records(path):
    if not os.path.exists(path):
        return []
    with open(path) as lines:
        return [json.loads(line) for line in lines if line.strip()]


def start_playbook(runner, playbook, extra_args=(), env=None, record=None, new_session=False):
    """ansible-playbook started in the background: (process, record path). ``new_session``: in a process
    group of its own, so that the controller and its workers can be killed together."""
    from harness import BIN
    runner.count += 1
    record = record or os.path.join(runner.workdir, 'record-{0}.jsonl'.format(runner.count))
    argv = [os.path.join(BIN, 'ansible-playbook'), playbook] + list(extra_args)
    proc = subprocess.Popen(argv, cwd=runner.workdir, env=_environment(runner, record, env), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True, start_new_session=new_session)
    return proc, record


def wait_for_record(proc, record, task_name, timeout=300):
    """Wait until the task named task_name has a result in the record (or the play ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(r['task'] == task_name for r in _records(record)) or proc.poll() is not None:
            return
        time.sleep(0.05)
    raise AssertionError('{0!r} did not run within {1}s'.format(task_name, timeout))


def run_across(runner, phases, heal, connection=None, env=None):
    """One ansible-playbook: the fault phase (each task ignore_errors), then - once the test has healed the
    fault - the re-run phases. ``phases``: (fault tasks, [re-run tasks, ...]). Returns (fault PlayResult,
    re-run PlayResult) from the records. One process instead of one per phase: start-up is most of a run."""
    from harness import PlayResult
    fault_tasks, reruns = phases
    healed = os.path.join(runner.workdir, 'healed-{0}'.format(runner.count + 1))
    tasks = [dict(t, name='fault: ' + t['name'], ignore_errors=True) for t in fault_tasks]
    tasks.append({'name': 'fault phase over', 'ansible.builtin.debug': {'msg': 'healing'}})
    tasks.append({'name': 'healed', 'ansible.builtin.wait_for': {'path': healed, 'timeout': 300}})
    for label, phase in reruns:
        tasks.extend(dict(t, name='{0}: {1}'.format(label, t['name'])) for t in phase)
    runner.count += 1
    playbook = os.path.join(runner.workdir, 'play-{0}.yml'.format(runner.count))
    with open(playbook, 'w') as out:
        yaml.safe_dump(runner.play(tasks, connection=connection), out, sort_keys=False)
    proc, record = start_playbook(runner, playbook, env=env)
    try:
        wait_for_record(proc, record, 'fault phase over')
        heal()
        open(healed, 'w').close()
        output = proc.communicate(timeout=600)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    records = _records(record)
    fault = [dict(r, task=r['task'][len('fault: '):]) for r in records if r['task'].startswith('fault: ')]
    rest = [r for r in records if not r['task'].startswith('fault: ') and r['task'] not in
            ('fault phase over', 'healed')]
    fault_result = PlayResult(1 if any(r['status'] == 'failed' for r in fault) else 0, output, fault)
    return fault_result, PlayResult(proc.returncode, output, rest)
