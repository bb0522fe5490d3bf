"""The fake PVE 9 cluster the tests, `make cluster` and `make demo` run against.

fakepve (pinned) validates every request against PVE's schema; this package gives it
the shape of a small real cluster (three nodes, node-local and shared storage, an API
token, TLS with a CA the clients verify) and a request log the tests read.
"""

from .cluster import CLUSTER_NODES, TOKEN_ID, FakeCluster, build_cluster
from .serving import ServedCluster

__all__ = ['CLUSTER_NODES', 'TOKEN_ID', 'FakeCluster', 'ServedCluster', 'build_cluster']
