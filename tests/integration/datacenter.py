"""What the datacenter modules' tests share (user, group, role, acl, token, pool, backup_job)."""

import yaml


def task(module, title=None, **options):
    return {'name': title or module, 'pve.fleet.' + module: options}


def token_env(served):
    """The PROXMOX_* fallbacks of a token login. Without the password: Ansible masks a no_log value wherever it
    appears in output, and the fake's password is the word 'secret'."""
    return dict((k, v) for k, v in served.env.items() if k not in ('PROXMOX_USER', 'PROXMOX_PASSWORD'))


def run(ansible, served, tasks, **kwargs):
    # The connection comes from module_defaults; a token login also has the PROXMOX_* fallbacks (a password
    # login must not: the client prefers a token it finds there).
    env = token_env(served) if kwargs.get('auth', 'token') == 'token' else None
    return ansible.run(tasks, env=env, **kwargs)


def idempotent(ansible, served, tasks):
    return ansible.assert_idempotent(tasks, env=token_env(served))


def check_mode_clean(ansible, served, cluster, tasks, diff=False):
    assert served.cluster is cluster
    return ansible.assert_check_mode_writes_nothing(tasks, env=token_env(served), diff=diff).assert_ok()


def diff_of(result, name):
    """The task's diff, before and after, read back as YAML (None for an empty side)."""
    diff = result.task(name)['diff']
    diff = diff[0] if isinstance(diff, list) else diff
    return yaml.safe_load(diff['before']), yaml.safe_load(diff['after'])


def failure(result):
    """The only task's failure message: one line, no traceback."""
    assert result.rc != 0, result.output
    assert len(result.failed) == 1, result.output
    msg = result.failed[0]['result']['msg']
    assert '\n' not in msg.strip() and 'Traceback' not in msg, msg
    return msg


def assert_refused_before_any_write(ansible, served, cluster, module, cases, state=None):
    """Each case (options, option, words) fails naming the option first, and nothing is written.

    One play, one failing task per case (ignore_errors), so all cases run in one ansible-playbook.
    ``state`` returns what must not change (called before and after)."""
    before = state() if state else None
    tasks = [dict(task(module, 'bad{0}'.format(i), **case[0]), ignore_errors=True) for i, case in enumerate(cases)]
    cluster.clear_log()
    result = run(ansible, served, tasks)
    for i, (options, option, words) in enumerate(cases):
        assert result.status('bad{0}'.format(i)) == 'failed', (options, result.output)
        msg = result.task('bad{0}'.format(i))['msg']
        assert '\n' not in msg.strip() and 'Traceback' not in msg, msg
        assert msg.startswith(option + ':'), (options, msg)
        assert words in msg, (options, msg)
    assert cluster.writes() == []
    if state:
        assert state() == before
    return result
