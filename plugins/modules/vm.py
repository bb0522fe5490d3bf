#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: vm
short_description: KVM virtual machines on Proxmox VE that converge in one run
version_added: 0.1.0
description:
  - Creates, clones, changes, starts, stops, converts to a template and removes QEMU/KVM virtual
    machines through the PVE API.
  - The VM is found by O(vmid) or O(name), cluster-wide. Without O(vmid), a new VM takes the next
    free id; running the same task again finds it by name instead of making a second one.
  - Only the settings the task gives are compared, after PVE's normalization (generated MAC
    addresses, volume names, size units, boolean spellings, URL-encoded SSH keys), so an unchanged
    VM reports no change.
  - Disks only grow. A disk or NIC is removed only when the task says V(absent) for its slot, and
    a detached disk's data is destroyed only with O(purge=true).
  - Changes PVE keeps pending until the VM restarts are reported in RV(pending) and not sent again.
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: Nothing is written; RV(changes) and the diff say what would be done.
  diff_mode:
    support: full
    description: Before and after of exactly the keys that change, as YAML.
options:
  vmid:
    description:
      - The VM's id, V(100) to V(999999999). Optional when creating; the next free id is taken.
    type: int
  name:
    description:
      - The VM's name, a valid DNS name. Finds the VM when O(vmid) is not given; two VMs with
        this name are an error that lists both.
      - With O(vmid), renames the VM when it differs.
    type: str
  node:
    description:
      - Node to create the VM on. Default is the online node with the most free memory; for a clone,
        the source's node.
      - An existing VM is not moved (the run warns); use M(pve.fleet.migrate).
    type: str
  state:
    description:
      - V(present) makes sure the VM exists with the given settings and leaves its power state alone.
      - V(started), V(stopped) and V(restarted) also set the power state (V(stopped) shuts the guest
        down and stops it after O(timeout)); V(restarted) always restarts.
      - V(template) converts the VM to a template (a running VM needs O(force=true)).
      - V(absent) removes the VM and its disks (a running VM needs O(force=true)).
    type: str
    default: present
    choices: [present, absent, started, stopped, restarted, template]
  pool:
    description: Resource pool the VM belongs to.
    type: str
  tags:
    description: The VM's tags (compared as a set, case-insensitively).
    type: list
    elements: str
  description:
    description: Notes shown in the PVE web UI.
    type: str
  memory:
    description: Memory in MiB.
    type: int
  balloon:
    description: Minimum memory in MiB for the balloon driver (V(0) turns ballooning off).
    type: int
  cores:
    description: CPU cores per socket.
    type: int
  sockets:
    description: CPU sockets.
    type: int
  cpu:
    description: CPU type and flags, as PVE writes them (V(host), V(x86-64-v2-AES,flags=+aes)).
    type: str
  numa:
    description: Enable NUMA.
    type: bool
  machine:
    description: QEMU machine type (V(q35), V(pc-i440fx-9.0), ...).
    type: str
  bios:
    description: Firmware. V(ovmf) (UEFI) wants an V(efidisk0) in O(disks).
    type: str
    choices: [seabios, ovmf]
  ostype:
    description: Guest OS type (V(l26), V(win11), ...).
    type: str
  agent:
    description: Enable the QEMU guest agent. Other agent sub-options set in PVE are left alone.
    type: bool
  onboot:
    description: Start the VM when its node boots.
    type: bool
  startup:
    description: Start and shutdown order, as PVE writes it (V(order=1,up=30)).
    type: str
  boot:
    description: Boot order, as PVE writes it (V(order=scsi0;net0)).
    type: str
  scsihw:
    description: SCSI controller (V(virtio-scsi-single), V(virtio-scsi-pci), ...).
    type: str
  hotplug:
    description: Hotplug features (V(network,disk,usb)).
    type: str
  serial:
    description: The first serial port (C(serial0)), for example V(socket).
    type: str
  disks:
    description:
      - Disks by PVE slot (V(scsi0), V(virtio0), V(sata0), V(ide0), V(efidisk0), V(tpmstate0)).
      - A value is a dict with V(storage), V(size) (a number is GiB; V(32G), V(512M) also work) and any
        PVE drive option (V(format), V(cache), V(discard), V(ssd), V(iothread), V(backup), ...),
        or a raw PVE string such as V(local-lvm:32,ssd=1) (new disk of 32 GiB) or
        V(local-lvm:cloudinit) (a cloud-init drive). Both forms converge to the same state.
      - A larger size grows the disk; a smaller one fails. The storage of an existing disk is not changed.
      - V(absent) detaches the disk (PVE keeps it as an unused disk); with O(purge=true) its volume is destroyed.
    type: dict
  nets:
    description:
      - NICs by slot (V(net0), V(net1), ...). A value is a dict (V(model) (default V(virtio)), V(bridge),
        V(tag), V(firewall), V(macaddr), V(rate), V(mtu), ...) or a raw PVE string such as
        V(virtio,bridge=vmbr0). Without V(macaddr), any MAC address matches and PVE's generated one is kept.
      - V(absent) removes the NIC.
    type: dict
  ipconfig:
    description:
      - cloud-init network settings by slot (V(ipconfig0), ...), a dict (V(ip), V(gw), V(ip6), V(gw6))
        or a raw string such as V(ip=10.0.0.5/24,gw=10.0.0.1) or V(ip=dhcp).
    type: dict
  cdrom:
    description: ISO volume to put in the CD-ROM drive (V(local:iso/debian-12.iso)), or V(none) for an empty drive.
    type: str
  cdrom_slot:
    description: Slot of the CD-ROM drive.
    type: str
    default: ide2
  ciuser:
    description: cloud-init user name.
    type: str
  cipassword:
    description:
      - cloud-init password. PVE keeps only a hash, so it is set when the VM is created and, with
        O(update_password=always), on every run (then the task always reports a change).
    type: str
  update_password:
    description: When to send O(cipassword).
    type: str
    default: on_create
    choices: [always, on_create]
  sshkeys:
    description: cloud-init public SSH keys, one per item.
    type: list
    elements: str
  nameserver:
    description: cloud-init DNS servers (space-separated).
    type: str
  searchdomain:
    description: cloud-init DNS search domain.
    type: str
  config:
    description:
      - Any other PVE config key and its value (V(vga), V(args), V(smbios1), ...), compared like the
        options above. A key that has its own option must be set there.
    type: dict
  clone:
    description:
      - Name or vmid of a template or VM to clone when the VM does not exist yet. The other options
        are then applied to the clone.
    type: str
  full:
    description: Full clone (an independent copy). V(false) makes a linked clone, which needs a template.
    type: bool
    default: true
  target_storage:
    description: Storage for a full clone's disks (default, the source's).
    type: str
  force:
    description: Allow stopping a running VM to remove it or convert it to a template.
    type: bool
    default: false
  purge:
    description:
      - With O(state=absent), also remove the VM from backup jobs, replication and HA.
      - With V(absent) disk slots, destroy the detached volumes instead of keeping them as unused disks.
    type: bool
    default: false
  restart_for_pending:
    description:
      - Reboot a running VM whose config has changes pending, so they take effect.
      - Without it, pending changes are reported in RV(pending) and RV(reboot_required).
    type: bool
    default: false
notes:
  - O(timeout) also bounds each PVE task the module waits for (create, clone, start, shutdown, resize).
seealso:
  - module: pve.fleet.guest_info
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: A VM from scratch, by name (no vmid needed; a second run finds it)
  pve.fleet.vm:
    name: web1
    memory: 2048
    cores: 2
    scsihw: virtio-scsi-single
    disks:
      scsi0: {storage: local-lvm, size: 32, ssd: true, iothread: true}
    nets:
      net0: {bridge: vmbr0, firewall: true}
    cdrom: local:iso/debian-12.iso
    boot: order=scsi0;ide2;net0
    tags: [web, prod]
    state: started

- name: The same VM written with PVE's raw strings converges to the same state
  pve.fleet.vm:
    name: web1
    disks:
      scsi0: local-lvm:32,ssd=1,iothread=1
    nets:
      net0: virtio,bridge=vmbr0,firewall=1

- name: Clone a cloud-init template, full, onto shared storage
  pve.fleet.vm:
    name: app1
    clone: debian-12-cloud
    target_storage: shared
    ciuser: admin
    sshkeys:
      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDm8... admin@example.com
    ipconfig:
      ipconfig0: {ip: 10.0.0.21/24, gw: 10.0.0.1}
    disks:
      scsi0: {size: 40}
    state: started

- name: Grow a disk, eject the CD and drop a second NIC
  pve.fleet.vm:
    name: web1
    disks:
      scsi0: {size: 64}
    cdrom: none
    nets:
      net1: absent

- name: Memory change on a running VM, applied by a reboot
  pve.fleet.vm:
    name: web1
    memory: 4096
    restart_for_pending: true

- name: Make a template of a stopped VM
  pve.fleet.vm:
    vmid: 9000
    state: template

- name: Remove a running VM and everything that refers to it
  pve.fleet.vm:
    name: old-vm
    state: absent
    force: true
    purge: true
'''

RETURN = r'''
vmid:
  description: The VM's id.
  returned: always
  type: int
  sample: 101
node:
  description: The node the VM is on.
  returned: always
  type: str
  sample: pve2
name:
  description: The VM's name.
  returned: always
  type: str
  sample: web1
status:
  description: The VM's power state after the run (V(absent) once removed; unknown in check mode for a new VM).
  returned: always
  type: str
  sample: running
config:
  description: The VM's current config as PVE holds it (the cloud-init password hidden).
  returned: always
  type: dict
  sample: {memory: '2048', net0: 'virtio=BC:24:11:2A:00:01,bridge=vmbr0', scsi0: 'local-lvm:vm-101-disk-0,size=32G'}
pending:
  description: Config keys waiting for a restart, with their new values (V(null) for a pending removal).
  returned: always
  type: dict
  sample: {memory: '4096'}
reboot_required:
  description: The VM runs and has pending changes that need a restart.
  returned: always
  type: bool
changes:
  description: What was done, or in check mode what would be done, one line per change.
  returned: always
  type: list
  elements: str
  sample: ['set memory: 2048 -> 4096', 'grow scsi0: 32G -> 64G']
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
from ansible_collections.pve.fleet.plugins.module_utils.qemu import ARGUMENT_SPEC, spec_from_params
from ansible_collections.pve.fleet.plugins.module_utils.module import parse_or_fail, pve_module, run_module


def main():
    module = pve_module(ARGUMENT_SPEC, required_one_of=[('vmid', 'name')])
    spec = parse_or_fail(module, spec_from_params)  # bad input fails here, before any request
    run_module(module, lambda module, client: converge(client, spec, module.check_mode, module.params['timeout']))


if __name__ == '__main__':
    main()
