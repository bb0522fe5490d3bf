"""What the fake cluster's own tests use to talk to it: proxmoxer over verified TLS, and tasks."""

from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

__all__ = ['ResourceException', 'Task', 'api', 'run']


def api(served, auth='token'):
    """A proxmoxer client verifying TLS with the cluster's CA, logged in with its API token or, with
    auth='password', as root@pam itself (PVE keeps some options to root@pam, not its tokens)."""
    env = served.env
    where = dict(port=int(env['PROXMOX_PORT']), verify_ssl=served.ca_path, timeout=10)
    if auth == 'password':
        return ProxmoxAPI(env['PROXMOX_HOST'], user=env['PROXMOX_USER'], password=env['PROXMOX_PASSWORD'], **where)
    user, _sep, token = env['PROXMOX_TOKEN_ID'].partition('!')
    return ProxmoxAPI(env['PROXMOX_HOST'], user=user, token_name=token, token_value=env['PROXMOX_TOKEN_SECRET'],
                      **where)


class Task(object):
    """A finished task: its exit status and log lines."""

    def __init__(self, pve, upid):
        node = upid.split(':')[1]
        self.upid = upid
        self.status = pve.nodes(node).tasks(upid).status.get()
        self.log = [entry['t'] for entry in pve.nodes(node).tasks(upid).log.get(limit=1000)]

    @property
    def ok(self):
        return self.status.get('exitstatus') == 'OK'

    @property
    def exitstatus(self):
        return self.status.get('exitstatus')

    def __repr__(self):
        return 'Task({0!r}, {1!r})'.format(self.exitstatus, self.log)


def run(pve, upid):
    """The task of a UPID, once finished (tasks are instant: time_scale 0)."""
    task = Task(pve, upid)
    assert task.status['status'] == 'stopped', task
    return task
