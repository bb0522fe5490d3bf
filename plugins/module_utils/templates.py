# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""Container templates and ISO images on a storage: the appliance catalogue, downloads, uploads, removal.

A file is known by its volid, ``<storage>:vztmpl/<file>`` or ``<storage>:iso/<file>``: it is
present or it is not, and that alone decides whether anything is done. File names are
normalized as PVE normalizes them (pve-storage ``normalize_content_filename``) before the
volid is formed, so the name looked for is the name PVE writes.

The template module follows the plan layer: ``TemplateSpec.from_params`` (no request),
``read_current``, the pure ``plan_template`` and ``apply_template``, the only code that writes.
``resolve_appliance`` is shared with ct, which plans a catalogue fetch as a step of its own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re

try:
    from urllib.parse import urlparse, unquote
except ImportError:  # pragma: no cover - Python 2 is not supported, this keeps sanity's compile test quiet
    from urlparse import urlparse
    from urllib import unquote

from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.plan import Plan, Step

CONTENT_TYPES = ('iso', 'vztmpl')
# pve-storage's ISO_EXT_RE_0 and VZTMPL_EXT_RE_1.
EXTENSIONS = {'iso': re.compile(r'[^/]+\.(?:iso|img)$', re.I),
              'vztmpl': re.compile(r'[^/]+\.(?:tar|tar\.(?:gz|xz|zst|bz2))$', re.I)}
HEX_DIGITS = {'md5': 32, 'sha1': 40, 'sha224': 56, 'sha256': 64, 'sha384': 96, 'sha512': 128}
VOLID = re.compile(r'^([a-z][a-z0-9._-]*[a-z0-9]):(iso|vztmpl)/([^/]+)$', re.I)


def normalize_filename(name):
    """PVE::Storage::normalize_content_filename: the base name, anything but [a-zA-Z0-9_.-] as _."""
    base = re.sub(r'^.*[/\\]', '', str(name).strip())
    return re.sub(r'[^a-zA-Z0-9_.-]', '_', base)


def content_of(filename, option='filename'):
    """The content type a file name implies (iso or vztmpl), or a clear failure."""
    for content in CONTENT_TYPES:
        if EXTENSIONS[content].match(filename):
            return content
    raise PveError('{0}: {1!r} is neither an ISO image (.iso, .img) nor a container template (.tar, .tar.gz, '
                   '.tar.xz, .tar.zst, .tar.bz2): give filename with one of these endings'.format(option, filename))


def check_extension(filename, content):
    if not EXTENSIONS[content].match(filename):
        raise PveError('filename: {0!r} does not end as PVE requires for content {1} ({2})'.format(
            filename, content, '.iso or .img' if content == 'iso' else '.tar, .tar.gz, .tar.xz, .tar.zst or .tar.bz2'))


def check_checksum(checksum, algorithm):
    """The checksum in lower case, after checking it is hex digits of the algorithm's length."""
    text = str(checksum).strip().lower()
    want = HEX_DIGITS[algorithm]
    if not re.match(r'^[0-9a-f]{%d}$' % want, text):
        raise PveError('checksum: a {0} checksum is {1} hexadecimal digits, not {2!r}'.format(algorithm, want, checksum))
    return text


def file_checksum(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, 'rb') as data:
        for block in iter(lambda: data.read(1024 * 1024), b''):
            digest.update(block)
    return digest.hexdigest()


def version_key(version):
    """A sort key for catalogue versions (12.12-1 after 12.7-1): runs of digits compare as numbers."""
    return [(0, int(part), '') if part.isdigit() else (1, 0, part) for part in re.findall(r'\d+|[A-Za-z]+', str(version))]


def resolve_appliance(catalogue, name, node, option='template'):
    """The catalogue entry a name stands for: the exact file name, or the newest entry of that package."""
    exact = [e for e in catalogue if e.get('template') == name]
    if exact:
        return exact[0]
    found = [e for e in catalogue if e.get('package') == name]
    if not found:
        close = sorted(set(e.get('package') for e in catalogue if name.lower() in str(e.get('package', '')).lower()))
        hint = '; similar: {0}'.format(', '.join(close)) if close else ''
        raise PveError('{3}: no appliance {0!r} in the catalogue of node {1} (give a package name such as '
                       'debian-12-standard or a file name from it){2}'.format(name, node, hint, option))
    return sorted(found, key=lambda e: version_key(e.get('version', '')))[-1]


def filename_of_url(url):
    path = unquote(urlparse(url).path)
    name = path.rstrip('/').rsplit('/', 1)[-1]
    if not name:
        raise PveError('url: {0!r} names no file; give filename'.format(url))
    return name


class TemplateSpec:
    """What the task asks for, checked without a request (a local file named by ``src`` is read for its checksum).

    ``filename`` is normalized as PVE normalizes it; for a catalogue ``template`` the file name is only known
    once the catalogue is read (``target_of``).
    """

    def __init__(self, params):
        self.node = params['node']
        self.state = params.get('state') or 'present'
        self.storage = params.get('storage')
        self.content = params.get('content')
        self.template = params.get('template')
        self.url = params.get('url')
        self.src = params.get('src')
        self.filename = params.get('filename')
        self.volid = params.get('volid')
        self.checksum = params.get('checksum')
        self.checksum_algorithm = params.get('checksum_algorithm')
        self.verify_certificates = params.get('verify_certificates', True)

    @property
    def names_a_file(self):
        return any((self.volid, self.template, self.url, self.src, self.filename))

    @classmethod
    def from_params(cls, params):
        spec = cls(params)
        present = spec.state == 'present'
        if spec.checksum:
            spec.checksum = check_checksum(spec.checksum, spec.checksum_algorithm)
        if spec.volid:
            found = VOLID.match(spec.volid)
            if not found:
                raise PveError('volid: {0!r} is not the volid of an ISO image or a container template '
                               '(<storage>:iso/<file> or <storage>:vztmpl/<file>)'.format(spec.volid))
            if spec.storage and spec.storage != found.group(1):
                raise PveError('storage: {0!r} differs from the storage of volid {1!r}'.format(spec.storage, spec.volid))
        if spec.template and spec.content not in (None, 'vztmpl'):
            raise PveError('content: an appliance of the catalogue is a container template (vztmpl), not iso')
        if spec.src and present:
            if not os.path.isfile(spec.src):
                raise PveError('src: {0!r} is not a file on the host the module runs on'.format(spec.src))
            if spec.checksum:
                got = file_checksum(spec.src, spec.checksum_algorithm)
                if got != spec.checksum:
                    raise PveError('checksum: {0} has {1} checksum {2}, not {3}; nothing uploaded'.format(
                        spec.src, spec.checksum_algorithm, got, spec.checksum))
        if not spec.names_a_file and not present:
            raise PveError('state=absent needs the file: give template, url, src, filename or volid')
        if not spec.template:
            target = target_of(spec, None)
            if target is not None and present and target.source is None:
                raise PveError('state=present needs a source for {0}: give template, url or src'.format(target.volid))
        return spec


class Target:
    """The file the module is about: storage, content type, file name, and where it comes from."""

    def __init__(self, storage, content, filename, source, appliance=None):
        self.storage = storage
        self.content = content
        self.filename = filename
        self.source = source  # 'catalogue', 'url', 'src' or None (removal by name)
        self.appliance = appliance

    @property
    def volid(self):
        return '{0}:{1}/{2}'.format(self.storage, self.content, self.filename)


def target_of(spec, catalogue):
    """The file the spec names (pure), or None when it names none (a catalogue listing).

    ``catalogue`` is the node's appliance list, needed only for ``template``.
    """
    storage = spec.storage or 'local'
    if spec.volid:
        found = VOLID.match(spec.volid)
        return Target(found.group(1), found.group(2), found.group(3), None)
    if spec.template:
        entry = resolve_appliance(catalogue, spec.template, spec.node)
        return Target(storage, 'vztmpl', entry['template'], 'catalogue', appliance=entry)
    if spec.url:
        name, source, option = spec.filename or filename_of_url(spec.url), 'url', 'url'
    elif spec.src:
        name, source, option = spec.filename or os.path.basename(spec.src), 'src', 'src'
    elif spec.filename:
        name, source, option = spec.filename, None, 'filename'
    else:
        return None
    filename = normalize_filename(name)
    content = spec.content or content_of(filename, 'filename' if spec.filename else option)
    check_extension(filename, content)
    return Target(storage, content, filename, source)


def read_catalogue(client, node):
    """The node's appliance catalogue (aplinfo), sorted by file name."""
    return sorted(client.get('nodes/{0}/aplinfo'.format(node)) or [], key=lambda e: str(e.get('template')))


def read_current(client, spec):
    """(cluster, catalogue, volids): the cluster, the node's catalogue when a template is named or listed, and
    the volids of the target's content type on its storage (None when no file is named). Nothing is listed on
    a node or storage the plan will refuse."""
    cluster = ClusterView.read(client)
    cluster.require_node(spec.node)
    catalogue = read_catalogue(client, spec.node) if spec.template or not spec.names_a_file else None
    target = target_of(spec, catalogue)
    volids = None
    if target is not None:
        cluster.check_storage(target.storage, spec.node, target.content, 'storage')
        listing = client.get('nodes/{0}/storage/{1}/content'.format(spec.node, target.storage),
                             content=target.content) or []
        volids = frozenset(item.get('volid') for item in listing)
    return cluster, catalogue, volids


class TemplatePlan(Plan):
    """One file on one node's storage (``target``; None for a catalogue listing) and whether it is there."""

    def __init__(self, node, target, present):
        super(TemplatePlan, self).__init__(target.volid if target is not None else 'appliance catalogue of ' + node)
        self.node = node
        self.target = target
        self.present = present


def plan_template(spec, cluster, catalogue, volids):
    """The plan for the file (pure: no request): fetch it when missing, remove it when present and unwanted."""
    cluster.require_node(spec.node)
    target = target_of(spec, catalogue)
    if target is None:
        return TemplatePlan(spec.node, None, False)
    cluster.check_storage(target.storage, spec.node, target.content, 'storage')
    present = target.volid in volids
    plan = TemplatePlan(spec.node, target, present)
    shown = {'volid': target.volid}
    where = '{0} on {1}'.format(target.volid, spec.node)
    if spec.state == 'present' and not present:
        if target.source == 'catalogue':
            text = 'download {0} from the appliance catalogue to {1}'.format(target.filename, where)
        elif target.source == 'url':
            text = 'download {0} to {1}'.format(spec.url, where)
        else:
            text = 'upload {0} to {1}'.format(spec.src, where)
        plan.add(Step('fetch', target.volid, text=text, data=_fetch_data(spec, target)), after=shown)
    elif spec.state == 'absent' and present:
        plan.add(Step('remove', target.volid, text='remove {0}'.format(where)), before=shown)
    return plan


def _fetch_data(spec, target):
    """The call that fetches the file: its path and body (an upload opens ``src`` when it is sent)."""
    base = 'nodes/{0}/'.format(spec.node)
    checksum = {}
    if spec.checksum:
        checksum = {'checksum': spec.checksum, 'checksum-algorithm': spec.checksum_algorithm}
    if target.source == 'catalogue':
        return dict(path=base + 'aplinfo', body=dict(storage=target.storage, template=target.filename))
    if target.source == 'url':
        body = dict(url=spec.url, content=target.content, filename=target.filename, **checksum)
        if not spec.verify_certificates:
            body['verify-certificates'] = 0
        return dict(path=base + 'storage/{0}/download-url'.format(target.storage), body=body)
    return dict(path=base + 'storage/{0}/upload'.format(target.storage), body=dict(content=target.content, **checksum),
                src=spec.src, filename=target.filename)


def apply_template(run, plan):
    """Download, upload or remove the file, waiting for PVE's task."""
    client, target = run.client, plan.target
    for step in plan.steps:
        if step.action == 'remove':
            run.wait(client.delete('nodes/{0}/storage/{1}/content/{2}'.format(plan.node, target.storage, target.volid)))
        elif 'src' in step.data:
            with open(step.data['src'], 'rb') as data:
                data.raw.name = step.data['filename']  # the multipart file name is the name PVE writes
                run.wait(client.post(step.data['path'], filename=data, **step.data['body']))
        else:
            run.wait(client.post(step.data['path'], **step.data['body']))
