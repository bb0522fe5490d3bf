# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""Container templates and ISO images on a storage: the appliance catalogue, downloads, uploads, removal.

A file is known by its volid, ``<storage>:vztmpl/<file>`` or ``<storage>:iso/<file>``: it is
present or it is not, and that alone decides whether anything is done. File names are
normalized as PVE normalizes them (pve-storage ``normalize_content_filename``) before the
volid is formed, so the name looked for is the name PVE writes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

try:
    from urllib.parse import urlparse, unquote
except ImportError:  # pragma: no cover - Python 2 is not supported, this keeps sanity's compile test quiet
    from urlparse import urlparse
    from urllib import unquote

from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.tasks import wait_for_task

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


def check_storage(cluster, node, storage, content):
    """The storage must be enabled on the node and hold the content type."""
    on_node = cluster.storages.get(storage, {})
    if node not in on_node:
        here = sorted(s for s, nodes in cluster.storages.items() if node in nodes)
        raise PveError('storage: storage {0!r} is not available on node {1} (storages there: {2})'.format(
            storage, node, ', '.join(here) or 'none'))
    holds = [c for c in str(on_node[node].get('content', '')).split(',') if c]
    if content not in holds:
        raise PveError('storage: storage {0!r} does not hold {1} content (it holds: {2}); add {1} to its content '
                       'with pve.fleet.storage'.format(storage, content, ', '.join(holds) or 'none'))


def volume_present(client, node, target):
    listing = client.get('nodes/{0}/storage/{1}/content'.format(node, target.storage), content=target.content) or []
    return any(item.get('volid') == target.volid for item in listing)


def fetch(client, node, target, params):
    """Start the download or upload and wait for its task; returns the UPID."""
    timeout = params['timeout']
    if target.source == 'catalogue':
        upid = client.post('nodes/{0}/aplinfo'.format(node), storage=target.storage, template=target.filename)
    elif target.source == 'url':
        args = dict(url=params['url'], content=target.content, filename=target.filename)
        if params.get('checksum'):
            args.update(checksum=params['checksum'], **{'checksum-algorithm': params['checksum_algorithm']})
        if not params['verify_certificates']:
            args['verify-certificates'] = 0
        upid = client.post('nodes/{0}/storage/{1}/download-url'.format(node, target.storage), **args)
    else:
        with open(params['src'], 'rb') as data:
            data.raw.name = target.filename  # the multipart file name is the name PVE writes
            args = dict(content=target.content, filename=data)
            if params.get('checksum'):
                args.update(checksum=params['checksum'], **{'checksum-algorithm': params['checksum_algorithm']})
            upid = client.post('nodes/{0}/storage/{1}/upload'.format(node, target.storage), **args)
    wait_for_task(client, upid, timeout)
    return upid


def remove(client, node, target, timeout):
    upid = client.delete('nodes/{0}/storage/{1}/content/{2}'.format(node, target.storage, target.volid))
    if upid:
        wait_for_task(client, upid, timeout)
    return upid


def ensure_appliance(client, node, storage, name, timeout, check_mode=False, option='template'):
    """A catalogue appliance on a storage of a node, fetched when missing: returns (volid, fetched, upid).

    For modules that need a container template by catalogue name (ct's ``ostemplate``): the same
    resolution as pve.fleet.template (the newest version of a package, or an exact file name).
    ``fetched`` says whether it was (in check mode: would be) downloaded; ``upid`` is the task, or None.
    """
    catalogue = client.get('nodes/{0}/aplinfo'.format(node)) or []
    entry = resolve_appliance(catalogue, name, node, option)
    target = Target(storage, 'vztmpl', entry['template'], 'catalogue', appliance=entry)
    if volume_present(client, node, target):
        return target.volid, False, None
    if check_mode:
        return target.volid, True, None
    return target.volid, True, fetch(client, node, target, dict(timeout=timeout))
