# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark-only module: the floor of a drift check done in one task.

One login, one ``cluster/resources``, then one ``GET .../config`` per listed guest, ``concurrency`` at a
time, and nothing else: no validation, no planning, no comparison. What any one-task drift check must
at least do, for ``benchmarks/fleet.py`` to measure ``pve.fleet.fleet`` against. It takes the same
``guests`` list as ``pve.fleet.fleet`` (so both carry the same arguments) and uses only the names.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: bench_floor
short_description: The least a one-task drift check does (benchmarks only)
description:
  - Logs in once, reads C(cluster/resources) once, then the config of each listed guest, O(concurrency) at a time.
options:
  api_host: {description: API host., type: str, required: true}
  api_port: {description: API port., type: int, default: 8006}
  api_user: {description: User for password auth., type: str}
  api_password: {description: Password of O(api_user)., type: str}
  api_token_id: {description: Full API token id (user@realm!name)., type: str}
  api_token_secret: {description: Secret of O(api_token_id)., type: str}
  ca_path: {description: CA the API certificate is checked against., type: path, required: true}
  guests: {description: The guests (dicts with C(name)) whose config is read., type: list, elements: dict, required: true}
  concurrency: {description: Reads at a time., type: int, default: 8}
author:
  - pve.fleet developers (@pve-fleet)
'''

from concurrent.futures import ThreadPoolExecutor

import requests
from requests.adapters import HTTPAdapter

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(
        api_host=dict(type='str', required=True),
        api_port=dict(type='int', default=8006),
        api_user=dict(type='str'),
        api_password=dict(type='str', no_log=True),
        api_token_id=dict(type='str'),
        api_token_secret=dict(type='str', no_log=True),
        ca_path=dict(type='path', required=True),
        guests=dict(type='list', elements='dict', required=True),
        concurrency=dict(type='int', default=8),
    ), supports_check_mode=True)
    params = module.params
    base = 'https://{0}:{1}/api2/json/'.format(params['api_host'], params['api_port'])
    session = requests.Session()
    verify = params['ca_path']  # per request: a session's own verify loses to REQUESTS_CA_BUNDLE
    session.mount('https://', HTTPAdapter(pool_maxsize=params['concurrency']))
    requests_sent = 0
    if params['api_token_secret']:
        session.headers['Authorization'] = 'PVEAPIToken={0}={1}'.format(params['api_token_id'],
                                                                        params['api_token_secret'])
    else:
        ticket = session.post(base + 'access/ticket', verify=verify,
                              data=dict(username=params['api_user'], password=params['api_password']))
        ticket.raise_for_status()
        session.cookies.set('PVEAuthCookie', ticket.json()['data']['ticket'])
        requests_sent += 1
    resources = session.get(base + 'cluster/resources', verify=verify)
    resources.raise_for_status()
    requests_sent += 1
    wanted = set(g.get('name') for g in params['guests'])
    paths = ['nodes/{node}/{type}/{vmid}/config'.format(**r) for r in resources.json()['data']
             if r.get('type') in ('qemu', 'lxc') and r.get('name') in wanted]

    def config(path):
        answer = session.get(base + path, verify=verify)
        answer.raise_for_status()
        return answer.json()['data']

    with ThreadPoolExecutor(max_workers=params['concurrency']) as pool:
        configs = list(pool.map(config, paths))
    requests_sent += len(paths)
    module.exit_json(changed=False, guests_read=len(configs), requests_sent=requests_sent)


if __name__ == '__main__':
    main()
