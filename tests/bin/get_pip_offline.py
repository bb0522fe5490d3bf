"""Offline stand-in for the get-pip script ansible-test downloads (its host is not reachable here).

ansible-test runs it in each new sanity venv, with the pip it wants (`pip==X`). It runs the
pip that Python bundles for ensurepip, unpacked once into a directory beside this script,
and has it install the wanted pip: one install, without byte-compiling pip's ~900 modules
(those a run imports are compiled then). ensurepip followed by an upgrade took 10 s a venv,
this 2-3 s, and ansible-test makes about twenty venvs on a fresh machine.

It runs without ensurepip's environment (PIP_CONFIG_FILE=/dev/null would hide the machine's
pip configuration and its CA bundle). With no bundled wheel it falls back to ensurepip.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

import ensurepip

env = dict((k, v) for k, v in os.environ.items() if k not in ('PIP_CONFIG_FILE', 'ENSUREPIP_OPTIONS'))
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
wheels = sorted(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), '_bundled', 'pip-*.whl')))

if not wheels:
    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade'], env=env)
    if args:
        subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args, env=env)
    sys.exit(0)

wheel = wheels[-1]
unpacked = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.path.basename(wheel)[:-len('.whl')])
if not os.path.isdir(unpacked):
    staging = tempfile.mkdtemp(prefix='.pip-', dir=os.path.dirname(unpacked))
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(staging)
    try:
        os.rename(staging, unpacked)
    except OSError:  # another run unpacked it first
        shutil.rmtree(staging)
env['PYTHONPATH'] = unpacked
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--no-compile'] + (args or [wheel]),
                      env=env, cwd=unpacked)
