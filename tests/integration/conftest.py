"""Fixtures: a fresh fake cluster per test over HTTPS, and a runner for real ansible-playbook plays."""

import os

import pytest

from fakecluster import ServedCluster

from harness import REPO, PlaybookRunner

# The module runs of every play keep the bytecode of their AnsiballZ zips between runs
# (tests/zip_pyc/zip_pyc_cache.py), in the suite's own output directory.
ZIP_PYC = os.path.join(REPO, 'tests', 'zip_pyc')
os.environ['PYTHONPATH'] = os.pathsep.join(p for p in (ZIP_PYC, os.environ.get('PYTHONPATH')) if p)
os.environ.setdefault('PVE_FLEET_ZIP_PYC_CACHE', os.path.join(REPO, 'tests', 'output'))


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
