"""Fixtures: a fresh fake cluster per test over HTTPS, and a runner for real ansible-playbook plays."""

import pytest

from fakecluster import ServedCluster

from harness import PlaybookRunner


@pytest.fixture(scope='session')
def pki_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp('pki'))


@pytest.fixture
def served(pki_dir):
    """A started fake cluster (pve1-pve3), empty, tasks instant; stopped after the test."""
    serving = ServedCluster(pki_dir)
    try:
        yield serving
    finally:
        serving.stop()


@pytest.fixture
def cluster(served):
    """The cluster's state, to add guests and faults and to read the request log."""
    return served.cluster


@pytest.fixture
def ansible(served, tmp_path):
    """Runs plays against the served cluster."""
    return PlaybookRunner(served, tmp_path)
