"""The API client against the fake cluster over HTTPS: retries only where a repeat does no harm."""

import pytest

from ansible_collections.pve.fleet.plugins.module_utils import api
from ansible_collections.pve.fleet.plugins.module_utils.api import PveClient
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.tasks import PveTaskError, wait_for_task

LOCKED = "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout"


@pytest.fixture
def client(served, monkeypatch):
    monkeypatch.setattr(api, 'RETRY_BASE_DELAY', 0.001)
    env = served.env
    return PveClient(env['PROXMOX_HOST'], port=int(env['PROXMOX_PORT']), token_id=env['PROXMOX_TOKEN_ID'],
                     token_secret=env['PROXMOX_TOKEN_SECRET'], ca_path=env['PROXMOX_CA_PATH'], timeout=10)


def test_a_read_is_retried_through_lock_timeouts(client, cluster):
    cluster.fail('GET', '/cluster/resources', 500, LOCKED, times=2)
    assert client.get('cluster/resources') is not None
    assert [e['status'] for e in cluster.request_log] == [500, 500, 200]


def test_a_read_gives_up_after_the_last_attempt(client, cluster):
    cluster.fail('GET', '/cluster/resources', 500, LOCKED)
    with pytest.raises(PveError) as err:
        client.get('cluster/resources')
    assert err.value.status == 500 and len(cluster.request_log) == api.RETRY_ATTEMPTS


def test_a_config_write_is_retried_only_for_a_lock_that_was_never_taken(client, cluster):
    cluster.add_vm(100, 'vm100', node='pve1')
    cluster.fail('PUT', '/nodes/pve1/qemu/100/config', 500, LOCKED, times=1)
    client.put('nodes/pve1/qemu/100/config', memory=1024)
    assert [e['status'] for e in cluster.request_log] == [500, 200]
    cluster.clear_log()
    cluster.fail('PUT', '/nodes/pve1/qemu/100/config', 500, 'command failed - got timeout', times=1)
    with pytest.raises(PveError):
        client.put('nodes/pve1/qemu/100/config', memory=2048)
    assert len(cluster.request_log) == 1


def test_a_write_waits_for_a_busy_guest_within_timeout_then_says_so(served, cluster, monkeypatch):
    monkeypatch.setattr(api, 'RETRY_MAX_DELAY', 0.05)
    env = served.env
    client = PveClient(env['PROXMOX_HOST'], port=int(env['PROXMOX_PORT']), token_id=env['PROXMOX_TOKEN_ID'],
                       token_secret=env['PROXMOX_TOKEN_SECRET'], ca_path=env['PROXMOX_CA_PATH'], timeout=1)
    cluster.add_vm(100, 'vm100', node='pve1')
    cluster.hold_guest_lock(100, 'backup')
    with pytest.raises(PveError) as err:
        client.put('nodes/pve1/qemu/100/config', memory=1024)
    assert str(err.value).startswith('PVE API error 500 on PUT /nodes/pve1/qemu/100/config: VM is locked (backup): '
                                     'another task holds the guest and did not let go within 1s (timeout)')
    assert len(cluster.writes()) > 1 and str(cluster.vm(100).config.get('memory')) != '1024'
    cluster.release_guest_lock(100)
    cluster.clear_log()
    cluster.fail('PUT', '/nodes/pve1/qemu/100/config', 500, 'VM is locked (migrate)', times=3)
    client.put('nodes/pve1/qemu/100/config', memory=1024)
    assert [e['status'] for e in cluster.request_log] == [500, 500, 500, 200]


def test_a_create_is_never_repeated_blind(client, cluster):
    cluster.fail('POST', '/nodes/pve1/qemu', 500, LOCKED, times=1)
    with pytest.raises(PveError):
        client.post('nodes/pve1/qemu', vmid=100, name='x')
    assert len(cluster.request_log) == 1


def test_errors_carry_status_message_and_per_field_errors(client, cluster):
    with pytest.raises(PveError) as err:
        client.post('nodes/pve1/qemu', vmid=100, memory='lots')
    assert err.value.status == 400 and 'memory' in err.value.errors
    assert str(err.value).startswith('PVE API error 400 on POST /nodes/pve1/qemu: Parameter verification failed.')
    assert '\n' not in str(err.value)


def test_task_failure_carries_exit_status_and_log_tail(client, cluster):
    cluster.add_vm(100, 'vm100', node='pve1')
    cluster.vm(100).start_error = 'start failed: disk missing'
    upid = client.post('nodes/pve1/qemu/100/status/start')
    with pytest.raises(PveTaskError) as err:
        wait_for_task(client, upid, timeout=10)
    assert 'start failed' in str(err.value)
    assert err.value.upid == upid and err.value.log_tail


def test_request_count_counts_every_request(client, cluster):
    cluster.add_vm(100, 'a', node='pve1')
    cluster.add_vm(101, 'b', node='pve2')
    client.get_many(['nodes/pve1/qemu/100/config', 'nodes/pve2/qemu/101/config', 'cluster/resources'])
    assert client.request_count == 3 == len(cluster.request_log)


def test_a_missing_ca_path_fails_before_any_request_naming_ca_path(served):
    cluster = served.cluster
    cluster.clear_log()
    env = served.env
    with pytest.raises(PveError) as caught:
        PveClient(env['PROXMOX_HOST'], port=int(env['PROXMOX_PORT']), token_id=env['PROXMOX_TOKEN_ID'],
                  token_secret=env['PROXMOX_TOKEN_SECRET'], ca_path='.cluster/pki/no-such.crt')
    assert str(caught.value).startswith('ca_path: .cluster/pki/no-such.crt does not exist')
    assert cluster.request_log == []
