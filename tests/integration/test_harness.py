"""The harness's two ways to start ansible-playbook (prefork.py) give the same run."""

import os

import pytest

import harness

pytestmark = pytest.mark.skipif(os.environ.get('PVE_FLEET_TEST_EXEC') == '1',
                                reason="PVE_FLEET_TEST_EXEC=1: every run is exec'd, none forked")


def comparable(result):
    """What a run did, without what differs between any two runs (times, temp paths)."""
    return result.rc, [(r['task'], r['status'], r['result'].get('msg'), r['result'].get('changes'),
                        r['result'].get('diff')) for r in result.records]


PLAY = [
    {'name': 'create', 'pve.fleet.vm': {'vmid': 150, 'name': 'harness1', 'node': 'pve1', 'memory': 512}},
    {'name': 'bad input', 'pve.fleet.vm': {'vmid': 151, 'name': 'harness2', 'node': 'pve1', 'memory': 'lots'},
     'ignore_errors': True},
    {'name': 'fails', 'ansible.builtin.fail': {'msg': 'the end'}},
]


def test_a_forked_run_and_an_execd_run_of_the_same_play_agree(ansible, served, monkeypatch):
    forked = ansible.run(PLAY, check=True, diff=True)
    monkeypatch.setenv('PVE_FLEET_TEST_EXEC', '1')
    execd = ansible.run(PLAY, check=True, diff=True)
    # Only a forked run writes its output to the file the harness names (an exec'd one pipes it).
    assert os.path.exists(os.path.join(ansible.workdir, 'output-1.txt')), 'the first run was not forked'
    assert not os.path.exists(os.path.join(ansible.workdir, 'output-2.txt')), 'the second run was not exec\'d'
    assert forked.rc == 2, forked.output
    assert comparable(forked) == comparable(execd)
    assert [r['status'] for r in forked.records] == ['changed', 'failed', 'failed']
    assert 'memory' in forked.records[1]['result']['msg']
    assert 'the end' in forked.output and 'the end' in execd.output
    assert served.cluster.writes() == []


def test_only_a_run_with_the_servers_ansible_settings_is_forked(ansible):
    ansible.run([{'name': 'warm up', 'ansible.builtin.debug': {'msg': 'hi'}}]).assert_ok()
    server = harness.PreforkServer._instance
    assert server is not None and server.proc.poll() is None
    same = dict(os.environ, **server.config_env)
    own = dict(same, ANSIBLE_FORKS='7')
    forkable = harness.PreforkServer.for_env(same, same)
    assert forkable is server
    server.busy.release()
    assert harness.PreforkServer.for_env(own, own) is None
    # A run while the server is busy (plays started at once) is exec'd, not queued.
    with server.busy:
        assert harness.PreforkServer.for_env(same, same) is None
    # The exec'd run still sees its own setting.
    result = ansible.run([{'name': 'forks', 'ansible.builtin.debug': {'msg': '{{ ansible_forks }}'}}],
                         env={'ANSIBLE_FORKS': '7'}).assert_ok()
    assert str(result.task('forks')['msg']) == '7'
