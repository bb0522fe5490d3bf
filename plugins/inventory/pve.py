# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: pve
short_description: Proxmox VE guests as inventory hosts
version_added: 0.1.0
description:
  - Every VM and container of a Proxmox VE cluster becomes a host, grouped by node, type, status, pool and tag, with
    its facts as C(pve_*) host variables.
  - The whole cluster comes from one C(cluster/resources) request; O(want_config) adds one request per guest and
    O(want_addresses) one per running guest, eight at a time.
  - The configuration file must be named C(pve.yml) or C(pve.yaml), or end in C(.pve.yml) or C(.pve.yaml).
  - When the API cannot be read (TLS, a C(ca_path) that does not exist, credentials, network), the inventory fails instead of being empty, whatever
    C(inventory_any_unparsed_is_failed) says, so a play never runs against an empty fleet by mistake.
  - Host variables (all prefixed C(pve_)) are V(pve_vmid), V(pve_name), V(pve_node), V(pve_type), V(pve_status),
    V(pve_template), V(pve_pool), V(pve_tags), V(pve_lock), V(pve_maxmem), V(pve_maxcpu), V(pve_maxdisk),
    V(pve_uptime); V(pve_config) with O(want_config); V(pve_ip_addresses) and C(ansible_host) with O(want_addresses).
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; it marks the file as a C(pve.fleet.pve) inventory source.
    type: str
    required: true
    choices: [pve.fleet.pve]
  api_host:
    description: Host name or address of a PVE node's API.
    type: str
    required: true
    env:
      - name: PROXMOX_HOST
  api_port:
    description: Port of the PVE API.
    type: int
    default: 8006
    env:
      - name: PROXMOX_PORT
  api_user:
    description:
      - User to log in as, with its realm, for example V(root@pam).
      - Needed for password auth, and for token auth when O(api_token_id) is only the token's name.
    type: str
    env:
      - name: PROXMOX_USER
  api_password:
    description:
      - Password of O(api_user). May be vaulted (C(!vault)) in the inventory file.
    type: str
    env:
      - name: PROXMOX_PASSWORD
  api_token_id:
    description:
      - API token id, either the full V(user@realm!name) or only V(name) together with O(api_user).
      - With O(api_token_secret), token auth is used and O(api_password) is ignored.
    type: str
    env:
      - name: PROXMOX_TOKEN_ID
  api_token_secret:
    description: Secret of the API token. May be vaulted (C(!vault)) in the inventory file.
    type: str
    env:
      - name: PROXMOX_TOKEN_SECRET
  validate_certs:
    description: Verify the API's TLS certificate. Turn off only for a throw-away lab.
    type: bool
    default: true
    env:
      - name: PROXMOX_VALIDATE_CERTS
  ca_path:
    description:
      - PEM file of the CA (or the self-signed certificate) that signed the API's certificate.
      - The system's CA store is used when it is not set.
    type: path
    env:
      - name: PROXMOX_CA_PATH
  timeout:
    description: Seconds to wait for one API request.
    type: int
    default: 60
    env:
      - name: PROXMOX_TIMEOUT
  group_prefix:
    description:
      - Prefix of the groups the plugin makes. They are C(<prefix>node_<node>), C(<prefix>qemu), C(<prefix>lxc),
        C(<prefix><status>) (running, stopped, ...), C(<prefix>template), C(<prefix>pool_<pool>) and
        C(<prefix>tag_<tag>).
      - Characters not allowed in a group name (a tag's C(-), C(.) or C(+), a node name's C(-)) become C(_), as
        C(keyed_groups) makes them, so C(adv-inv) tags land in C(pve_tag_adv_inv); tags that differ only there share
        a group.
    type: str
    default: pve_
  hostname:
    description:
      - What a host is called. V(name) is the guest's name (a container's hostname); guests sharing a name are called
        C(<name>-<vmid>) instead, and a guest without a name by its vmid. V(vmid) is the vmid.
    type: str
    choices: [name, vmid]
    default: name
  exclude_templates:
    description: Leave templates out of the inventory.
    type: bool
    default: false
  filters:
    description:
      - Jinja2 conditions on a guest's host variables; only guests for which every one is true become hosts,
        for example V(pve_status == 'running').
    type: list
    elements: str
    default: []
  want_config:
    description: Add each guest's configuration as V(pve_config) (one request per guest).
    type: bool
    default: false
  want_addresses:
    description:
      - Add the addresses of running guests as V(pve_ip_addresses), from the QEMU guest agent of a VM and from the
        interfaces of a container (one request per running guest), and set C(ansible_host) to the first IPv4 one
        (or IPv6, if it has none). A VM without a running agent has no addresses.
    type: bool
    default: false
notes:
  - The options fall back to the same E(PROXMOX_HOST), E(PROXMOX_TOKEN_ID), ... environment variables as the modules.
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
# pve.yml (or fleet.pve.yml): every guest, token auth from the environment (PROXMOX_HOST, PROXMOX_TOKEN_ID, ...)
plugin: pve.fleet.pve
---
# prod.pve.yml: running production guests with their addresses, cached for ten minutes
plugin: pve.fleet.pve
api_host: pve1.example.com
api_token_id: ansible@pve!inventory
api_token_secret: !vault |
  $ANSIBLE_VAULT;1.1;AES256
  6134...
ca_path: /etc/ssl/pve-root-ca.pem
want_addresses: true
exclude_templates: true
filters:
  - "'prod' in pve_tags"
  - pve_status == 'running'
keyed_groups:
  - key: pve_config.ostype | default('unknown')
    prefix: os
groups:
  big: pve_maxmem > 8 * 1024 ** 3
compose:
  ansible_user: "'root' if pve_type == 'lxc' else 'debian'"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/pve-inventory
cache_timeout: 600
'''

import ipaddress
import os

import ansible.constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display

from ansible_collections.pve.fleet.plugins.module_utils.api import CONNECTION_SPEC, UNVERIFIED_TLS, client_from_params
from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView, guest_path
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.guest_types import public_config

WORKERS = 8
display = Display()


def _secret(value):
    """A vaulted value as its plain text (ansible-core decrypts when it is turned into a str)."""
    return None if value is None else to_text(value)


def _addresses(interfaces):
    """Global addresses from a guest agent's or a container's interface list, IPv4 first."""
    found = []
    for iface in interfaces or []:
        entries = iface.get('ip-addresses')
        if entries is None:
            entries = [{'ip-address': str(iface[k]).split('/', maxsplit=1)[0]} for k in ('inet', 'inet6') if iface.get(k)]
        for entry in entries:
            text = entry.get('ip-address')
            try:
                address = ipaddress.ip_address(to_text(text))
            except ValueError:
                continue
            if address.is_loopback or address.is_link_local or address.is_unspecified:
                continue
            if str(address) not in found:
                found.append(str(address))
    return sorted(found, key=lambda a: ipaddress.ip_address(a).version)


def _may_answer(guest):
    """False for a VM whose config (when read) has no guest agent enabled: asking it would only cost a request."""
    config = guest.get('config')
    if guest['type'] != 'qemu' or config is None:
        return True
    agent = str(config.get('agent', '0')).split(',', maxsplit=1)[0].strip()
    return agent.split('=')[-1] in ('1', 'yes', 'on', 'true')


def _fail(message):
    """Fail the whole inventory load: after a plugin error Ansible would otherwise warn and go on with an
    empty inventory, and a play would silently match no hosts."""
    C.INVENTORY_ANY_UNPARSED_IS_FAILED = True
    raise AnsibleError('pve.fleet.pve: ' + message)


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = 'pve.fleet.pve'

    def verify_file(self, path):
        if not super(InventoryModule, self).verify_file(path):
            return False
        return os.path.basename(path) in ('pve.yml', 'pve.yaml') or path.endswith(('.pve.yml', '.pve.yaml'))

    # ------------------------------------------------------------------ read

    def _client(self):
        options = dict((name, self.get_option(name)) for name in CONNECTION_SPEC)
        for name in ('api_password', 'api_token_secret'):
            options[name] = _secret(options[name])
        if options.get('validate_certs') is False:
            display.warning('pve.fleet.pve: ' + UNVERIFIED_TLS)
        return client_from_params(options)

    def _fetch(self):
        """The guests as plain data: cluster/resources, plus config and addresses when asked."""
        client = self._client()
        guests = ClusterView.read(client).select()
        if self.get_option('want_config'):
            paths = [guest_path(g, 'config') for g in guests]
            for guest, config in zip(guests, client.get_many(paths, workers=WORKERS, quiet=True)):
                guest['config'] = None if config is None else public_config(guest['type'], config)
        if self.get_option('want_addresses'):
            running = [g for g in guests if g['status'] == 'running' and not g['template'] and _may_answer(g)]
            paths = [guest_path(g, 'agent/network-get-interfaces' if g['type'] == 'qemu' else 'interfaces')
                     for g in running]
            for guest, answer in zip(running, client.get_many(paths, workers=WORKERS, quiet=True)):
                if isinstance(answer, dict):
                    answer = answer.get('result')
                guest['ip_addresses'] = _addresses(answer if isinstance(answer, list) else [])
        return guests

    # -------------------------------------------------------------- populate

    def _host_names(self, guests):
        if self.get_option('hostname') == 'vmid':
            return dict((g['vmid'], str(g['vmid'])) for g in guests)
        counts = {}
        for guest in guests:
            counts[guest['name']] = counts.get(guest['name'], 0) + 1
        names = {}
        for guest in guests:
            if not guest['name']:
                names[guest['vmid']] = str(guest['vmid'])
            elif counts[guest['name']] > 1:
                names[guest['vmid']] = '{0}-{1}'.format(guest['name'], guest['vmid'])
            else:
                names[guest['vmid']] = guest['name']
        return names

    @staticmethod
    def _host_vars(guest):
        hostvars = dict(('pve_' + key, guest.get(key)) for key in (
            'vmid', 'name', 'node', 'type', 'status', 'template', 'pool', 'tags', 'lock', 'maxmem', 'maxcpu',
            'maxdisk', 'uptime'))
        if 'config' in guest:
            hostvars['pve_config'] = guest['config']
        if 'ip_addresses' in guest:
            hostvars['pve_ip_addresses'] = guest['ip_addresses']
        return hostvars

    def _passes(self, filters, hostvars):
        for condition in filters:
            try:
                if not self._compose(condition, hostvars):
                    return False
            except Exception as exc:  # a broken filter is the user's to fix: say which one
                _fail('filters: {0!r} failed: {1}'.format(to_text(condition), to_text(exc)))
        return True

    def _group(self, made, name):
        """The group a built-in group name becomes, made once per load (``made`` remembers it, so not once
        per host): prefixed and sanitized as keyed_groups are, so a tag like 'adv-inv' does not warn."""
        group = made.get(name)
        if group is None:
            group = made[name] = self._sanitize_group_name(self.get_option('group_prefix') + name)
            self.inventory.add_group(group)
        return group

    def _populate(self, guests):
        # Ansible's own work per host variable (origin tagging, then merging and encoding it for every
        # host) is most of a big load; what is ours is kept out of the loop: options read once, groups
        # made once, and the host's variables copied for compose/groups/keyed_groups only when one is set.
        strict = self.get_option('strict')
        exclude_templates = self.get_option('exclude_templates')
        filters = self.get_option('filters') or []
        compose, composed, keyed = (self.get_option(name) for name in ('compose', 'groups', 'keyed_groups'))
        made = {}
        inventory = self.inventory
        names = self._host_names(guests)
        for guest in guests:
            if guest['template'] and exclude_templates:
                continue
            hostvars = self._host_vars(guest)
            if filters and not self._passes(filters, hostvars):
                continue
            host = names[guest['vmid']]
            inventory.add_host(host)
            for key, value in hostvars.items():
                inventory.set_variable(host, key, value)
            if guest.get('ip_addresses'):
                inventory.set_variable(host, 'ansible_host', guest['ip_addresses'][0])
            groups = ['node_' + guest['node'], guest['type'], guest['status'] or 'unknown']
            if guest['template']:
                groups.append('template')
            if guest['pool']:
                groups.append('pool_' + guest['pool'])
            groups.extend('tag_' + tag for tag in guest['tags'])
            for name in groups:
                inventory.add_child(self._group(made, name), host)
            if compose or composed or keyed:
                all_vars = inventory.get_host(host).get_vars()
                self._set_composite_vars(compose, all_vars, host, strict=strict)
                self._add_host_to_composed_groups(composed, all_vars, host, strict=strict)
                self._add_host_to_keyed_groups(keyed, all_vars, host, strict=strict)

    # ----------------------------------------------------------------- parse

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        try:
            self._read_config_data(path)
        except AnsibleError as exc:
            _fail('{0}: {1}'.format(path, to_text(exc)))
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option('cache') and cache
        update_cache = self.get_option('cache') and not cache
        guests = None
        if use_cache:
            try:
                guests = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if guests is None:
            try:
                guests = self._fetch()
            except PveError as exc:
                _fail('cannot read the cluster: {0}'.format(to_text(exc)))
            except Exception as exc:  # anything unforeseen must fail the load too, never leave it empty
                _fail('cannot read the cluster: {0}: {1}'.format(type(exc).__name__, to_text(exc)))
        if update_cache:
            self._cache[cache_key] = guests
        self._populate(guests)
