"""Offline stand-in for the get-pip script ansible-test downloads (its host is not reachable here).

It installs pip with ensurepip, then runs `python -m pip install` with the arguments given,
without ensurepip's environment (PIP_CONFIG_FILE=/dev/null would hide the machine's pip
configuration and its CA bundle).
"""
import os
import subprocess
import sys

env = dict((k, v) for k, v in os.environ.items() if k not in ('PIP_CONFIG_FILE', 'ENSUREPIP_OPTIONS'))
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade'], env=env)
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
if args:
    subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args, env=env)
