# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The connection options every pve.fleet module shares (module_utils/api.py CONNECTION_SPEC).
    DOCUMENTATION = r'''
options:
  api_host:
    description:
      - Host name or address of a PVE node's API.
      - Falls back to the environment variable E(PROXMOX_HOST).
    type: str
    required: true
  api_port:
    description:
      - Port of the PVE API.
      - Falls back to the environment variable E(PROXMOX_PORT).
    type: int
    default: 8006
  api_user:
    description:
      - User to log in as, with its realm, for example V(root@pam).
      - Needed for password auth, and for token auth when O(api_token_id) is only the token's name.
      - Falls back to the environment variable E(PROXMOX_USER).
    type: str
  api_password:
    description:
      - Password of O(api_user). The module logs in once and uses the ticket for every request.
      - Falls back to the environment variable E(PROXMOX_PASSWORD).
    type: str
  api_token_id:
    description:
      - API token id, either the full V(user@realm!name) or only V(name) together with O(api_user).
      - With O(api_token_secret), token auth is used and O(api_password) is ignored.
      - Falls back to the environment variable E(PROXMOX_TOKEN_ID).
    type: str
  api_token_secret:
    description:
      - Secret of the API token named by O(api_token_id).
      - Falls back to the environment variable E(PROXMOX_TOKEN_SECRET).
    type: str
  validate_certs:
    description:
      - Verify the API's TLS certificate. Turn off only for a throw-away lab.
      - Falls back to the environment variable E(PROXMOX_VALIDATE_CERTS).
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA (or the self-signed certificate) that signed the API's certificate.
      - The system's CA store is used when it is not set.
      - Falls back to the environment variable E(PROXMOX_CA_PATH).
    type: path
  timeout:
    description:
      - Seconds to wait for one API request, and for each PVE task the module starts.
      - Falls back to the environment variable E(PROXMOX_TIMEOUT).
    type: int
    default: 60
requirements:
  - proxmoxer >= 2.0
  - requests
notes:
  - The module runs where the API is reachable, usually the controller (a play on V(localhost),
    or C(delegate_to) it), and needs C(proxmoxer) there.
  - Set the connection options once for a play with C(module_defaults) and the group V(group/pve.fleet.pve).
'''
