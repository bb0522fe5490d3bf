#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: ct
short_description: LXC containers on Proxmox VE, declaratively
version_added: 0.1.0
description:
  - Creates, clones, changes, starts, stops, converts to a template and removes LXC containers
    through the PVE API. What C(vzctl set --hostname/--ipadd/--ipdel) and bind mounts did, as
    desired state.
  - The container is found by O(vmid) or O(hostname), cluster-wide. Without O(vmid), a new
    container takes the next free id; the same task again finds it by hostname.
  - Only the settings the task gives are compared, after PVE's normalization (C(hwaddr) and
    C(type=veth) filled in, sizes, boolean spellings), so an unchanged container reports no change.
  - Addresses - PVE gives each NIC one IPv4 and one IPv6 address. Several addresses are several
    NICs (V(net0), V(net1), ...); removing an address is removing its NIC (V(absent)).
  - The root filesystem and volume mount points only grow.
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: Nothing is written (an OS template is not fetched); RV(changes) and the diff say what would be done.
  diff_mode:
    support: full
    description: Before and after of exactly the keys that change, as YAML.
options:
  vmid:
    description: The container's id, V(100) to V(999999999). Optional when creating.
    type: int
  hostname:
    description: The container's host name, a valid DNS name; finds it when O(vmid) is not given.
    type: str
    aliases: [name]
  node:
    description: Node to create the container on (default, the online node with the most free memory).
    type: str
  state:
    description:
      - V(present) makes sure the container exists with the given settings; V(started), V(stopped)
        and V(restarted) also set its power state; V(template) converts it to a template.
      - V(absent) removes it and its volumes (a running container needs O(force=true)).
    type: str
    default: present
    choices: [present, absent, started, stopped, restarted, template]
  pool:
    description: Resource pool the container belongs to.
    type: str
  tags:
    description: Tags (compared as a set, case-insensitively).
    type: list
    elements: str
  ostemplate:
    description:
      - OS template to create the container from, a volid (V(local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst))
        or a catalogue name (V(debian-12-standard)), which is fetched into O(template_storage) first when missing.
      - Used only when the container is created.
    type: str
  template_storage:
    description: Storage a catalogue template is fetched into.
    type: str
    default: local
  unprivileged:
    description:
      - Run the container unprivileged. Set when the container is made (default V(true) then);
        asking for the other value later fails, as PVE cannot change it.
    type: bool
  features:
    description: Container features; sub-options not given are left as they are.
    type: dict
    suboptions:
      nesting:
        description: Allow nested containers (and systemd's sandboxing).
        type: bool
      keyctl:
        description: Allow the keyctl() system call (Docker in unprivileged containers).
        type: bool
      fuse:
        description: Allow FUSE mounts.
        type: bool
      mknod:
        description: Allow mknod for some device nodes.
        type: bool
      force_rw_sys:
        description: Mount /sys read-write in unprivileged containers.
        type: bool
      mount:
        description: File system types that may be mounted (V(nfs), V(cifs), ...).
        type: list
        elements: str
  rootfs:
    description:
      - Root filesystem, a dict (V(storage), V(size) (a number is GiB), V(acl), V(quota), ...) or a raw
        string such as V(local-lvm:8). A larger size grows it; a smaller one fails.
      - A new container without it gets 4 GiB (PVE's default size) on the node's first storage that
        holds container volumes, V(local-lvm) if it can.
    type: raw
  mounts:
    description:
      - Mount points by slot (V(mp0), V(mp1), ...). A storage-backed volume is a dict with V(storage),
        V(size) and V(path) (inside the container); a bind mount of a host directory is a dict with
        V(host_path) (V(/srv/data)), V(path), V(read_only) and V(backup) (default V(false) for bind mounts);
        or a raw PVE string (V(/srv/data,mp=/data,ro=1)). V(absent) removes the mount point.
      - PVE lets only V(root@pam), logged in with a password (not an API token), set bind mounts.
    type: dict
  nets:
    description:
      - NICs by slot (V(net0), ...), a dict (V(name) (default V(ethN)), V(bridge), V(ip) (CIDR or V(dhcp)),
        V(gw), V(ip6) (CIDR, V(auto) or V(dhcp)), V(gw6), V(tag), V(firewall), V(hwaddr), V(mtu), V(rate))
        or a raw PVE string (V(name=eth0,bridge=vmbr0,ip=dhcp)). Without V(hwaddr) any MAC matches.
      - V(absent) removes the NIC.
    type: dict
  description:
    description: Notes shown in the PVE web UI.
    type: str
  memory:
    description: Memory in MiB.
    type: int
  swap:
    description: Swap in MiB.
    type: int
  cores:
    description: CPU cores.
    type: int
  cpulimit:
    description: CPU time limit in cores (V(0) is no limit).
    type: float
  cpuunits:
    description: CPU weight relative to other guests.
    type: int
  onboot:
    description: Start the container when its node boots.
    type: bool
  startup:
    description: Start and shutdown order, as PVE writes it (V(order=1,up=30)).
    type: str
  nameserver:
    description: DNS servers (space-separated).
    type: str
  searchdomain:
    description: DNS search domain.
    type: str
  ostype:
    description: OS type, normally detected from the template.
    type: str
  password:
    description: root password in the container, set when it is created.
    type: str
  ssh_public_keys:
    description: Public SSH keys for root, set when the container is created.
    type: list
    elements: str
  config:
    description: Any other PVE config key and its value, compared like the options above.
    type: dict
  clone:
    description: Name or vmid of a container or template to clone when the container does not exist yet.
    type: str
  full:
    description: Full clone. V(false) makes a linked clone, which needs a template.
    type: bool
    default: true
  target_storage:
    description: Storage for a full clone's volumes.
    type: str
  force:
    description: Allow stopping a running container to remove it or convert it to a template.
    type: bool
    default: false
  purge:
    description:
      - With O(state=absent), also remove the container from backup jobs, replication and HA.
      - With V(absent) mount points, destroy the detached volumes instead of keeping them as unused.
    type: bool
    default: false
  restart_for_pending:
    description: Reboot a running container whose config has changes pending, so they take effect.
    type: bool
    default: false
seealso:
  - module: pve.fleet.vm
  - module: pve.fleet.guest_info
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: A container from the catalogue template, fetched on demand, with a static address
  pve.fleet.ct:
    hostname: cache1
    ostemplate: debian-12-standard
    memory: 1024
    cores: 2
    rootfs: {storage: local-lvm, size: 8}
    nets:
      net0: {bridge: vmbr0, ip: 10.0.0.30/24, gw: 10.0.0.1, firewall: true}
    features: {nesting: true}
    ssh_public_keys:
      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDm8... admin@example.com
    state: started

- name: A second address (a second NIC), then a bind mount of host data
  pve.fleet.ct:
    hostname: cache1
    nets:
      net1: {bridge: vmbr0, ip: 10.0.1.30/24}
    mounts:
      mp0: {host_path: /srv/data, path: /data, read_only: true}

- name: Drop the second address again
  pve.fleet.ct:
    hostname: cache1
    nets:
      net1: absent

- name: DHCP on IPv4, SLAAC on IPv6, raw string form
  pve.fleet.ct:
    hostname: dhcp1
    ostemplate: local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst
    nets:
      net0: name=eth0,bridge=vmbr0,ip=dhcp,ip6=auto
'''

RETURN = r'''
vmid:
  description: The container's id.
  returned: always
  type: int
  sample: 200
node:
  description: The node the container is on.
  returned: always
  type: str
  sample: pve1
name:
  description: The container's hostname.
  returned: always
  type: str
  sample: cache1
status:
  description: The power state after the run (V(absent) once removed).
  returned: always
  type: str
  sample: running
config:
  description: The current config as PVE holds it.
  returned: always
  type: dict
pending:
  description: Config keys waiting for a restart, with their new values (V(null) for a pending removal).
  returned: always
  type: dict
reboot_required:
  description: The container runs and has pending changes that need a restart.
  returned: always
  type: bool
changes:
  description: What was done, or in check mode what would be done, one line per change.
  returned: always
  type: list
  elements: str
tasks:
  description: The UPIDs of the PVE tasks the run waited for.
  returned: always
  type: list
  elements: str
diff:
  description: Before and after of the changed keys, as YAML text.
  returned: always
  type: dict
'''

from ansible_collections.pve.fleet.plugins.module_utils.guest import converge
from ansible_collections.pve.fleet.plugins.module_utils.lxc import ARGUMENT_SPEC, spec_from_params
from ansible_collections.pve.fleet.plugins.module_utils.module import parse_or_fail, pve_module, run_module


def main():
    module = pve_module(ARGUMENT_SPEC, required_one_of=[('vmid', 'hostname')])
    spec = parse_or_fail(module, spec_from_params)  # bad input fails here, before any request
    run_module(module, lambda module, client: converge(client, spec, module.check_mode, module.params['timeout']))


if __name__ == '__main__':
    main()
