"""Secrets: every module that takes one, run at -vvv with --diff (creating, changing and failing), and the
inventory with its cache: no secret appears in any output, result, diff, error or cache file.

The values are distinctive (the fake's default root password is the word 'secret', which Ansible would mask
wherever the word appears). The secrets come in through variables, as from a vault: Ansible itself shows the
lines of a play around a failed task, so a secret written into the task would be shown by Ansible, not by us.
No module takes SSH private keys: vm's sshkeys and ct's ssh_public_keys are public keys, shown as they are.
"""

import json
import os

import pytest
import yaml

from fakecluster import ServedCluster

from harness import PlaybookRunner

ROOT_PASSWORD = 'Root-Pw-3f9c1e'
TOKEN_SECRET = 'Tok-Secret-8d2b44a1'
SECRETS = {
    'ci_password': 'Ci-Pw-7f3a9e',
    'ci_password_2': 'Ci-Pw-Rotated-1b2c',
    'ct_password': 'Ct-Pw-5e6d7c',
    'fleet_ci_password': 'Fleet-Ci-Pw-0a9b',
    'fleet_ct_password': 'Fleet-Ct-Pw-c3d4',
    'user_password': 'User-Pw-e5f6a7',
}
TEMPLATE = 'local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst'


@pytest.fixture
def secret_served(pki_dir):
    serving = ServedCluster(pki_dir, password=ROOT_PASSWORD, token_secret=TOKEN_SECRET)
    serving.cluster.store_file('local', 'debian-12-standard_12.12-1_amd64.tar.zst', 120 * 1024 ** 2,
                               content='vztmpl')
    try:
        yield serving
    finally:
        serving.stop()


def var(name):
    return '{{ ' + name + ' }}'


def tasks():
    """Every module that takes a secret: made, changed (where it can be), and failing with the secret given."""
    return [
        {'name': 'vm made', 'pve.fleet.vm': {'name': 'sec-vm', 'cipassword': var('ci_password'), 'ciuser': 'ops'}},
        {'name': 'vm password changed', 'pve.fleet.vm': {'name': 'sec-vm', 'cipassword': var('ci_password_2'),
                                                         'update_password': 'always'}},
        {'name': 'vm failing', 'ignore_errors': True,
         'pve.fleet.vm': {'name': 'sec-vm', 'cipassword': var('ci_password'), 'update_password': 'always',
                          'cpu': 'NoSuchCpu'}},
        {'name': 'ct made', 'pve.fleet.ct': {'hostname': 'sec-ct', 'ostemplate': TEMPLATE,
                                             'password': var('ct_password'), 'rootfs': 'local-lvm:1'}},
        {'name': 'ct failing', 'ignore_errors': True,
         'pve.fleet.ct': {'hostname': 'sec-ct2', 'ostemplate': TEMPLATE, 'password': var('ct_password'),
                          'rootfs': 'nosuch:1'}},
        {'name': 'fleet', 'pve.fleet.fleet': {'guests': [
            {'type': 'vm', 'name': 'sec-f1', 'cipassword': var('fleet_ci_password')},
            {'type': 'ct', 'hostname': 'sec-f2', 'ostemplate': TEMPLATE, 'password': var('fleet_ct_password'),
             'rootfs': 'local-lvm:1'}]}},
        {'name': 'fleet failing', 'ignore_errors': True, 'pve.fleet.fleet': {'guests': [
            {'type': 'vm', 'name': 'sec-f3', 'cipassword': var('fleet_ci_password'), 'disks': {'scsi0': 'nosuch:1'}},
            {'type': 'ct', 'hostname': 'bad_host', 'password': var('fleet_ct_password')}]}},
        {'name': 'user', 'pve.fleet.user': {'userid': 'sec@pve', 'password': var('user_password')}},
        {'name': 'user failing', 'ignore_errors': True,
         'pve.fleet.user': {'userid': 'sec2@pve', 'password': var('user_password'), 'email': 'nope'}},
        {'name': 'token', 'pve.fleet.token': {'userid': 'sec@pve', 'tokenid': 'ci'}, 'register': 'made'},
        {'name': 'token regenerated', 'pve.fleet.token': {'userid': 'sec@pve', 'tokenid': 'ci', 'regenerate': True}},
        {'name': 'guests read back', 'pve.fleet.guest_info': {'config': True}},
    ]


def run(served, tmp_path, auth, label, extra_tasks=(), connection=None, check=False):
    runner = PlaybookRunner(served, os.path.join(str(tmp_path), label))
    os.makedirs(runner.workdir, exist_ok=True)
    secrets_file = os.path.join(runner.workdir, 'secrets.yml')
    with open(secrets_file, 'w') as out:
        yaml.safe_dump(SECRETS, out)
    env = {}
    if auth == 'password':
        env = {'PROXMOX_USER': 'root@pam', 'PROXMOX_PASSWORD': ROOT_PASSWORD}
    else:
        env = {'PROXMOX_TOKEN_ID': served.env['PROXMOX_TOKEN_ID'], 'PROXMOX_TOKEN_SECRET': TOKEN_SECRET}
    return runner.run(tasks() + list(extra_tasks), auth=None, connection=connection, check=check, diff=True,
                      env=env, extra_args=['-vvv', '-e', '@' + secrets_file])


def leaked(served, text):
    secrets = list(SECRETS.values()) + [ROOT_PASSWORD, TOKEN_SECRET]
    secrets += [s for tid, s in served.cluster.apitokens.items() if tid.startswith('sec@pve')]
    return [s for s in secrets if s in text]


@pytest.mark.parametrize('auth', ['password', 'token'])
def test_no_secret_in_any_output_result_diff_or_error(secret_served, tmp_path, auth):
    result = run(secret_served, tmp_path, auth, auth)
    assert result.rc == 0, result.output
    failed = [r['task'] for r in result.failed]
    assert failed == ['vm failing', 'ct failing', 'fleet failing', 'user failing'], result.output
    assert 'sec@pve!ci' in secret_served.cluster.apitokens  # the token was made (its secret is in no output)
    # The secrets were used: PVE holds the guests and the user they went with.
    assert [g.name for g in secret_served.cluster.vms if g.name.startswith('sec-')] == ['sec-vm', 'sec-f1']
    text = result.output + json.dumps(result.records)
    assert leaked(secret_served, text) == []
    assert 'Traceback' not in result.output


def test_check_mode_hides_them_too(secret_served, tmp_path):
    result = run(secret_served, tmp_path, 'password', 'check', check=True)
    assert leaked(secret_served, result.output + json.dumps(result.records)) == []


def test_a_wrong_password_or_token_secret_is_not_echoed(secret_served, tmp_path):
    runner = PlaybookRunner(secret_served, os.path.join(str(tmp_path), 'wrong'))
    os.makedirs(runner.workdir, exist_ok=True)
    wrong = {'PROXMOX_USER': 'root@pam', 'PROXMOX_PASSWORD': 'Wrong-Pw-9e8d'}
    result = runner.run([{'name': 'info', 'pve.fleet.guest_info': {}}], auth=None, env=wrong, extra_args=['-vvv'])
    assert result.rc != 0 and 'authentication failed for root@pam' in result.output
    assert 'Wrong-Pw-9e8d' not in result.output + json.dumps(result.records)
    wrong = {'PROXMOX_TOKEN_ID': 'root@pam!fleet', 'PROXMOX_TOKEN_SECRET': 'Wrong-Tok-7c6b'}
    result = runner.run([{'name': 'info', 'pve.fleet.guest_info': {}}], auth=None, env=wrong, extra_args=['-vvv'])
    assert result.rc != 0 and 'PVE API error 401' in result.output
    assert 'Wrong-Tok-7c6b' not in result.output + json.dumps(result.records)


def test_the_inventory_and_its_cache_hold_no_secret(secret_served, tmp_path):
    import subprocess
    from harness import BIN, REPO
    served = secret_served
    served.cluster.add_vm(100, 'web1', node='pve1', config={'cipassword': '$5$x$Inv-Hashed-Ci-Secret'})
    cache = os.path.join(str(tmp_path), 'cache')
    path = os.path.join(str(tmp_path), 'sec.pve.yml')
    with open(path, 'w') as out:
        yaml.safe_dump({'plugin': 'pve.fleet.pve', 'want_config': True, 'cache': True,
                        'cache_plugin': 'ansible.builtin.jsonfile', 'cache_connection': cache, 'cache_timeout': 600},
                       out)
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('PROXMOX_', 'ANSIBLE_')))
    env.update(served.env, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'))
    for creds in ({'PROXMOX_TOKEN_ID': '', 'PROXMOX_TOKEN_SECRET': ''}, {}):  # password, then token
        run_env = dict(env, **creds)
        if not creds:
            run_env.pop('PROXMOX_USER', None)
        proc = subprocess.run([os.path.join(BIN, 'ansible-inventory'), '-i', path, '--list', '-vvv'], env=run_env,
                              cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        cached = ''.join(open(os.path.join(cache, name)).read() for name in os.listdir(cache))
        text = proc.stdout + proc.stderr + cached
        assert leaked(served, text) == [] and 'Inv-Hashed-Ci-Secret' not in text
