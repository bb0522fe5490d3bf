"""FakeCluster: fakepve's FakePve with a three-node cluster's state and a request log."""

import secrets

from aiohttp import web
from fakepve import FakePve

from .access import AccessControl
from .backup import Backup
from .backup_jobs import BackupJobs
from .cpu_models import CpuModels
from .detach import DetachToUnused
from .disks import Disks
from .faults import Faults
from .firewall_files import FirewallFiles
from .form_values import EmptyFormValues
from .ha import HighAvailability
from .load import NodeLoad
from .lost_answers import LostAnswers
from .migration import Migration
from .node_config import NodeConfig
from .quorum import Quorum
from .restore import Restore
from .snapshots import SnapshotRollback
from .storage_defs import StorageDefinitions
from .tasks import TaskRunner
from .templates import Templates
from .volumes import Volumes

GIB = 1024 ** 3
CLUSTER_NODES = ('pve1', 'pve2', 'pve3')
TOKEN_ID = 'root@pam!fleet'
WRITE_METHODS = ('POST', 'PUT', 'DELETE')


def _storages():
    """local and local-lvm on every node (node-local), shared over NFS."""
    return {
        'local': {'type': 'dir', 'path': '/var/lib/vz', 'content': 'iso,vztmpl,backup', 'active': 1,
                  'files': set(), 'avail': 200 * GIB},
        'local-lvm': {'type': 'lvmthin', 'vgname': 'pve', 'thinpool': 'data', 'content': 'images,rootdir',
                      'active': 1, 'files': set(), 'avail': 400 * GIB},
        'shared': {'type': 'nfs', 'server': '192.0.2.50', 'export': '/export/pve', 'path': '/mnt/pve/shared',
                   'content': 'images,rootdir,backup,iso,vztmpl', 'shared': 1, 'active': 1, 'files': set(),
                   'avail': 2000 * GIB},
    }


class FakeCluster(LostAnswers, Quorum, CpuModels, SnapshotRollback, NodeConfig, Faults, Migration, Backup, Restore, DetachToUnused, Disks, Templates,
                  HighAvailability, FirewallFiles, StorageDefinitions, NodeLoad, Volumes, TaskRunner, AccessControl,
                  BackupJobs, EmptyFormValues, FakePve):
    """A FakePve that behaves like a PVE 9 cluster (see docs/fake-cluster.md) and records
    (method, path, status) of every request in ``request_log``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.request_log = []

    def _build_app(self):
        app = super()._build_app()
        # First, so it sees the status of every answer, errors included.
        app.middlewares.insert(0, self._log_request)
        return app

    @web.middleware
    async def _log_request(self, request, handler):
        entry = {'method': request.method, 'path': request.path, 'status': None}
        self.request_log.append(entry)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            entry['status'] = exc.status
            raise
        entry['status'] = response.status
        return response

    # -- what tests ask of the log

    def clear_log(self):
        del self.request_log[:]

    def writes(self):
        """The requests that could change state (login excluded: it only issues a ticket)."""
        return [e for e in self.request_log
                if e['method'] in WRITE_METHODS and not e['path'].endswith('/access/ticket')]


def build_cluster(host='127.0.0.1', port=0, user='root@pam', password='secret', token_secret=None):
    """A FakeCluster with nodes pve1-pve3, storages local/local-lvm/shared and an API token.

    Tasks finish at once (time_scale 0). Returns the cluster; ``cluster.token_secret`` holds
    the token's secret.
    """
    cluster = FakeCluster(user=user, password=password, host=host, port=port)
    cluster.time_scale = 0
    cluster.nodes = {}
    for node in CLUSTER_NODES:
        cluster.add_node(node)
    cluster.storages = _storages()
    cluster.token_secret = token_secret or secrets.token_hex(16)
    cluster.apitokens[TOKEN_ID] = cluster.token_secret
    return cluster
