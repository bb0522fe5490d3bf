"""The collection as users get it: a built tarball that installs, docs that render, a complete action group."""

import os
import subprocess
import sys
import tarfile

import pytest
import yaml

from harness import REPO

BIN = os.path.dirname(sys.executable)
MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(REPO, 'plugins', 'modules'))
                 if f.endswith('.py') and not f.startswith('_'))


def run(argv, cwd, env=None):
    proc_env = dict(os.environ, ANSIBLE_NOCOLOR='1', **(env or {}))
    proc_env.pop('ANSIBLE_CONFIG', None)
    return subprocess.run(argv, cwd=cwd, env=proc_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False, timeout=300)


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """Build the tarball from the checkout and install it (no deps: galaxy is not reachable here)."""
    work = tmp_path_factory.mktemp('galaxy')
    built = run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--force', '--output-path',
                 str(work), REPO], cwd=str(work))
    assert built.returncode == 0, built.stdout
    tarball = [f for f in os.listdir(str(work)) if f.endswith('.tar.gz')]
    assert tarball == ['pve-fleet-0.1.0.tar.gz']
    path = os.path.join(str(work), tarball[0])
    installed = run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--no-deps', '-p',
                     str(work / 'collections'), path], cwd=str(work))
    assert installed.returncode == 0, installed.stdout
    return path, work


def test_tarball_holds_the_collection_and_no_build_junk(installed):
    path, _work = installed
    with tarfile.open(path) as tar:
        names = tar.getnames()
    assert 'plugins/modules/vm.py' in names and 'meta/runtime.yml' in names and 'galaxy.yml' not in names
    assert not [n for n in names if n.startswith(('.venv', '.collections', 'tests/output', 'build/'))
                or '__pycache__' in n or n.endswith('.cluster.env')]


@pytest.mark.parametrize('module', MODULES)
def test_docs_render_from_the_installed_collection(installed, module):
    _path, work = installed
    doc = run([os.path.join(BIN, 'ansible-doc'), 'pve.fleet.' + module], cwd=str(work),
              env={'ANSIBLE_COLLECTIONS_PATH': str(work / 'collections')})
    assert doc.returncode == 0, doc.stdout
    assert str(work / 'collections') in doc.stdout  # the installed copy, not the checkout


def test_action_group_lists_every_module():
    with open(os.path.join(REPO, 'meta', 'runtime.yml')) as src:
        runtime = yaml.safe_load(src)
    assert sorted(runtime['action_groups']['pve']) == MODULES
    assert runtime['requires_ansible'] == '>=2.19.0'
