"""`make cluster`: serve the fake cluster in the foreground and write .cluster.env.

    PYTHONPATH=tests python -m fakecluster [--env-file .cluster.env] [--host 127.0.0.2] [--port 8006]

Once the cluster answers, the env file holds `export PROXMOX_...` lines; SIGINT or SIGTERM
removes it and exits 0. Paths in it are absolute, whatever the working directory and the
options say: modules run in a temporary directory, never where the file was sourced.
"""

import argparse
import os
import shlex
import signal
import sys
import tempfile
import threading

import requests

from .serving import ServedCluster


def write_env(path, env):
    tmp = path + '.tmp'
    with open(tmp, 'w') as out:
        out.write('# The fake PVE cluster of `make cluster`; removed when it stops.\n')
        for key, value in sorted(env.items()):
            out.write('export {0}={1}\n'.format(key, shlex.quote(value)))
    os.replace(tmp, path)


def wait_until_answers(served):
    """One real, verified HTTPS request before anyone is told the cluster is up."""
    answer = requests.get('{0}/api2/json/version'.format(served.cluster.url), verify=served.ca_path, timeout=10,
                          headers={'Authorization': 'PVEAPIToken={0}={1}'.format(
                              served.env['PROXMOX_TOKEN_ID'], served.env['PROXMOX_TOKEN_SECRET'])})
    answer.raise_for_status()


def main(argv=None):
    parser = argparse.ArgumentParser(prog='fakecluster', description=__doc__.splitlines()[0])
    parser.add_argument('--env-file', default='.cluster.env')
    parser.add_argument('--host', default=os.environ.get('FAKECLUSTER_HOST', '127.0.0.2'))
    parser.add_argument('--port', type=int, default=int(os.environ.get('FAKECLUSTER_PORT', '8006')))
    parser.add_argument('--pki-dir', default=None, help='where the certificate goes (default: a temporary dir)')
    args = parser.parse_args(argv)

    env_file = os.path.abspath(args.env_file)
    pki_dir = os.path.abspath(args.pki_dir or tempfile.mkdtemp(prefix='fakecluster-'))
    served = ServedCluster(pki_dir, host=args.host, port=args.port)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        wait_until_answers(served)
        env = dict(served.env)
        write_env(env_file, env)
        print('fake PVE cluster on {0} (nodes {1}); connection settings in {2}'.format(
            served.cluster.url, ', '.join(sorted(served.cluster.nodes)), env_file), flush=True)
        stop.wait()
    finally:
        if os.path.exists(env_file):
            os.remove(env_file)
        served.stop()
        print('fake PVE cluster stopped', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
