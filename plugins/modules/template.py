#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: template
short_description: Container templates and ISO images on a Proxmox VE storage
version_added: 0.1.0
description:
  - Ensures a container template (V(vztmpl)) or an ISO image (V(iso)) is on a storage of a node, or is not.
  - "A file comes from one of three sources: the node's appliance catalogue (O(template), for example
    V(debian-12-standard): the newest entry of that package, downloaded by PVE, which checks the
    catalogue's own checksum), a URL PVE downloads from (O(url), with O(checksum) checked by PVE),
    or a file uploaded from the host the module runs on (O(src))."
  - The file is known by its volid, C(<storage>:vztmpl/<file>) or C(<storage>:iso/<file>). A file of that
    name on the storage counts as present and is not fetched again; its content is not compared.
  - Waits for PVE's download, upload or removal task, up to O(timeout) seconds.
  - With none of O(template), O(url), O(src), O(filename) or O(volid), the module only lists the node's
    appliance catalogue (RV(catalogue)).
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: Looks the file up and reports whether it would be fetched or removed; nothing is written.
  diff_mode:
    support: full
    description: Shows the volid before and after.
options:
  node:
    description:
      - The node whose storage holds the file, and which downloads it. Must be a node of the cluster.
      - On a shared storage any node will do; on a node-local one (such as V(local)) each node has its own files.
    type: str
    required: true
  storage:
    description:
      - The storage, which must be available on O(node) and hold the content type.
      - Taken from O(volid) when that is given; V(local) otherwise.
    type: str
  state:
    description:
      - V(present) fetches the file unless it is there; V(absent) removes it if it is.
    type: str
    choices: [present, absent]
    default: present
  template:
    description:
      - An appliance of the node's catalogue (C(pveam available)), by package name such as
        V(debian-12-standard), which stands for the newest version the catalogue offers, or by the exact
        file name such as V(debian-12-standard_12.12-1_amd64.tar.zst).
      - With O(state=absent), the file that name stands for is removed (older versions stay).
    type: str
  url:
    description:
      - An http or https URL of the file, downloaded by PVE (the node needs access to it).
      - The file name is taken from the URL unless O(filename) is given.
    type: str
  src:
    description:
      - A file on the host the module runs on (the controller when the play runs on V(localhost), as usual)
        to upload. The file name is taken from it unless O(filename) is given.
    type: path
  filename:
    description:
      - The file's name on the storage. PVE normalizes it (every character other than letters, digits,
        V(_), V(.) and V(-) becomes V(_)), and so does the module before it looks for the file.
      - It must end in V(.iso) or V(.img) for an ISO image, and in V(.tar), V(.tar.gz), V(.tar.xz),
        V(.tar.zst) or V(.tar.bz2) for a container template.
    type: str
  volid:
    description:
      - The file as a volid, V(local:iso/debian-13.iso). Only with O(state=absent).
    type: str
  content:
    description:
      - V(vztmpl) for a container template, V(iso) for an ISO image.
      - Taken from the file name's ending when not set; always V(vztmpl) for O(template).
    type: str
    choices: [iso, vztmpl]
    aliases: [content_type]
  checksum:
    description:
      - The file's expected checksum, in hexadecimal. PVE checks a download from O(url) and fails the task
        (the file is not kept) when it does not match; an upload from O(src) is checked before it is sent.
    type: str
  checksum_algorithm:
    description:
      - The algorithm of O(checksum).
    type: str
    choices: [md5, sha1, sha224, sha256, sha384, sha512]
  verify_certificates:
    description:
      - Whether PVE verifies the TLS certificate of O(url).
    type: bool
    default: true
notes:
  - Raise O(timeout) for large downloads; it bounds each request and each task the module waits for.
  - A file is fetched on the storage of O(node) only. For a node-local storage, run the task once per node.
seealso:
  - module: pve.fleet.storage
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: The newest Debian 12 template on local of pve1
  pve.fleet.template:
    api_host: pve1.example.com
    api_user: root@pam
    api_password: "{{ vault_pve_password }}"
    ca_path: /etc/ssl/pve-root-ca.pem
    node: pve1
    template: debian-12-standard
  register: debian

- name: A container from it
  ansible.builtin.debug:
    msg: "ostemplate: {{ debian.volid }}"

- name: An ISO image, downloaded by PVE and checked
  pve.fleet.template:
    node: pve1
    storage: shared
    url: https://cdimage.debian.org/debian-cd/current/amd64/iso-cd/debian-13.2.0-amd64-netinst.iso
    checksum: "{{ netinst_sha512 }}"
    checksum_algorithm: sha512
    timeout: 1800

- name: A template built on the controller, uploaded
  pve.fleet.template:
    node: pve2
    src: build/ourbase_1.0_amd64.tar.zst

- name: The appliance catalogue of pve1
  pve.fleet.template:
    node: pve1
  register: apl

- name: Remove an ISO image
  pve.fleet.template:
    node: pve1
    volid: local:iso/old-installer.iso
    state: absent
'''

RETURN = r'''
volid:
  description: The file's volid (what it is or would be); absent when the module only listed the catalogue.
  returned: when a file is named
  type: str
  sample: local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst
node:
  description: The node.
  returned: always
  type: str
  sample: pve1
storage:
  description: The storage.
  returned: when a file is named
  type: str
  sample: local
content:
  description: The content type, V(vztmpl) or V(iso).
  returned: when a file is named
  type: str
  sample: vztmpl
filename:
  description: The file's name on the storage, as PVE normalizes it.
  returned: when a file is named
  type: str
  sample: debian-12-standard_12.12-1_amd64.tar.zst
changes:
  description: What was done (in check mode, what would be done), one sentence; empty when nothing was to do.
  returned: always
  type: list
  elements: str
  sample: ['download debian-12-standard_12.12-1_amd64.tar.zst from the appliance catalogue to
           local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst on pve1']
diff:
  description: The volid before (when the file is there) and after (when it will be), as YAML text.
  returned: always
  type: dict
tasks:
  description: The UPID of the PVE task that downloaded, uploaded or removed the file, in a list; empty in check mode.
  returned: always
  type: list
  elements: str
  sample: ["UPID:pve1:000A1B2C:0042D1E2:67A1B2C3:download:debian-12-standard_12.12-1_amd64.tar.zst:root@pam:"]
appliance:
  description: The catalogue entry O(template) stands for, as PVE lists it.
  returned: when O(template) is given
  type: dict
  sample: {template: debian-12-standard_12.12-1_amd64.tar.zst, package: debian-12-standard, version: 12.12-1,
           os: debian-12, section: system, headline: Debian 12 Bookworm (standard)}
catalogue:
  description: The node's appliance catalogue, sorted by file name, as PVE lists it.
  returned: when no file is named
  type: list
  elements: dict
  sample: [{template: debian-12-standard_12.12-1_amd64.tar.zst, package: debian-12-standard, version: 12.12-1}]
'''

from ansible_collections.pve.fleet.plugins.module_utils.module import pve_module, run_module
from ansible_collections.pve.fleet.plugins.module_utils.plan import execute
from ansible_collections.pve.fleet.plugins.module_utils.templates import (
    TemplateSpec, apply_template, plan_template, read_current)


def ensure_template(module, client):
    spec = TemplateSpec.from_params(module.params)
    cluster, catalogue, volids = read_current(client, spec)
    plan = plan_template(spec, cluster, catalogue, volids)
    run = execute(client, plan, apply_template, module.check_mode, module.params['timeout'])
    result = plan.result(run)
    result['node'] = spec.node
    target = plan.target
    if target is None:
        result['catalogue'] = catalogue
        return result
    result.update(storage=target.storage, content=target.content, filename=target.filename, volid=target.volid)
    if target.appliance is not None:
        result['appliance'] = target.appliance
    return result


def main():
    module = pve_module(
        dict(
            node=dict(type='str', required=True),
            storage=dict(type='str'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            template=dict(type='str'),
            url=dict(type='str'),
            src=dict(type='path'),
            filename=dict(type='str'),
            volid=dict(type='str'),
            content=dict(type='str', choices=['iso', 'vztmpl'], aliases=['content_type']),
            checksum=dict(type='str'),
            checksum_algorithm=dict(type='str', choices=['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512']),
            verify_certificates=dict(type='bool', default=True),
        ),
        mutually_exclusive=[('template', 'url', 'src', 'volid'), ('volid', 'filename'), ('template', 'filename'),
                            ('template', 'checksum')],
        required_together=[('checksum', 'checksum_algorithm')],
    )
    run_module(module, ensure_template)


if __name__ == '__main__':
    main()
