"""Container templates and downloads: the aplinfo catalogue, its download, download-url.

aplinfo follows pve-manager's API2/Nodes.pm (aplinfo, apl_download) with a small
catalogue shaped like PVE's aplinfo.dat; download-url follows pve-storage's
API2/Storage/Status.pm (download_url) and pve-common's download_file_from_url
(checksum check, log lines). Nothing leaves the machine: a URL "serves" the bytes in
`remote_files`, else bytes derived from the URL itself (see `remote_bytes`), so a test
can compute the checksum a download must match.
"""

import hashlib
import re

from fakepve import TaskError
from fakepve.routing import die, param_error, split_list
from fakepve.storage import _is_file

MIB = 1024 ** 2
APL_BASE = 'http://download.proxmox.com/images/'
TURNKEY_BASE = 'https://releases.turnkeylinux.org/pve/'
PROXMOX = 'Proxmox Support Team <support@proxmox.com>'
ALGORITHMS = ('md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512')
ISO_NAME = re.compile(r'[^/]+\.(?:iso|img)$', re.I)
VZTMPL_NAME = re.compile(r'[^/]+\.tar\.(?:gz|xz|zst|bz2)$')

# (template, os, section, headline, size in MiB): PVE 9's catalogue, a few of each kind.
CATALOGUE = (
    ('debian-12-standard_12.12-1_amd64.tar.zst', 'debian-12', 'system', 'Debian 12 Bookworm (standard)', 120),
    ('debian-13-standard_13.1-2_amd64.tar.zst', 'debian-13', 'system', 'Debian 13 Trixie (standard)', 126),
    ('ubuntu-22.04-standard_22.04-1_amd64.tar.zst', 'ubuntu-22.04', 'system', 'Ubuntu 22.04 Jammy (standard)', 129),
    ('ubuntu-24.04-standard_24.04-2_amd64.tar.zst', 'ubuntu-24.04', 'system', 'Ubuntu 24.04 Noble (standard)', 141),
    ('alpine-3.22-default_20250617_amd64.tar.xz', 'alpine-3.22', 'system', 'Alpine Linux 3.22', 3),
    ('debian-12-turnkey-wordpress_18.1-1_amd64.tar.gz', 'debian-12', 'turnkeylinux',
     'TurnKey WordPress', 330),
)


def remote_bytes(url):
    """What a URL serves when no test set remote_files[url]: these bytes, stable for the URL."""
    return 'fakecluster download of {0}\n'.format(url).encode()


def _entry(template, os_name, section, headline, mib):
    """One catalogue entry with the fields PVE's aplinfo answer carries."""
    turnkey = section == 'turnkeylinux'
    location = (TURNKEY_BASE if turnkey else APL_BASE + 'system/') + template
    package, version = re.match(r'^(.+?)_([^_]+)_amd64', template).groups()
    data = remote_bytes(location)
    return {'template': template, 'package': package, 'version': version, 'type': 'lxc', 'os': os_name,
            'section': section, 'headline': headline, 'architecture': 'amd64',
            'maintainer': 'Turnkey Linux <support@turnkeylinux.org>' if turnkey else PROXMOX,
            'description': headline + ('\n An appliance from the TurnKey Linux library.' if turnkey
                                       else '\n A small system with the standard packages.'),
            'infopage': 'https://www.turnkeylinux.org/' + package.split('turnkey-')[-1] if turnkey
            else 'https://pve.proxmox.com/wiki/Linux_Container#pct_supported_distributions',
            'location': location, 'md5sum': hashlib.md5(data).hexdigest(),
            'sha512sum': hashlib.sha512(data).hexdigest(), 'source': location, 'size': mib * MIB}


class Templates(object):
    """Mixin of FakePve: GET/POST /nodes/{node}/aplinfo, and download-url with checksums."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The appliance catalogue: template name -> entry (add or remove entries freely).
        self.aplinfo = dict((row[0], _entry(*row)) for row in CATALOGUE)
        # url -> bytes a download of it gets (else remote_bytes(url)); None: the URL answers 404.
        self.remote_files = {}

    def _routes_fleet_templates(self):
        return [('GET', '/nodes/{node}/aplinfo', self._apl_list), ('POST', '/nodes/{node}/aplinfo', self._apl_download)]

    def fetch_url(self, url):
        """The bytes a download of url gets, or TaskError as download_file_from_url fails."""
        data = self.remote_files.get(url, remote_bytes(url))
        if data is None:
            raise TaskError('download failed: 404 Not Found')
        return data

    # --------------------------------------------------------------- aplinfo

    async def _apl_list(self, v, user):
        return [dict((k, x) for k, x in entry.items() if k != 'size') for _n, entry in sorted(self.aplinfo.items())]

    async def _apl_download(self, v, user):
        node, sid, name = v['node'], v['storage'], v['template']
        entry = self.aplinfo.get(name)
        if entry is None:
            raise param_error(template='no such template')
        store = self._check_enabled(sid, node)
        if 'vztmpl' not in split_list(store.get('content')):
            raise die("storage '{0}' does not support templates".format(sid))
        path = self._volume_path(sid, 'vztmpl/' + name, 'vztmpl')

        async def body(log):
            if self.volume_on_node('{0}:vztmpl/{1}'.format(sid, name), node):
                log('file already exists {0} - no need to download'.format(path))
                return
            data = self.fetch_url(entry['location'])
            log('downloading {0} to {1}'.format(entry['location'], path))
            self._verify_checksum(log, data, 'sha512', entry['sha512sum'])
            self._keep_download(sid, node, 'vztmpl', name, entry['size'])
            log("download of '{0}' to '{1}' finished".format(entry['location'], path))
        return await self.run_task(node, 'download', name, user, body)

    # ---------------------------------------------------------- download-url

    async def _download_url(self, request):
        """POST /nodes/{node}/storage/{storage}/download-url (a route fakepve registers itself)."""
        from fakepve.server import USER, int_param, ok, params
        node, sid = request.match_info['node'], request.match_info['storage']
        store = self._active_store(sid, node)
        user = request[USER]
        self.require(user, '/storage/' + sid, 'Datastore.AllocateTemplate')
        self.require(user, '/', 'Sys.Audit')
        self.require(user, '/', 'Sys.Modify')
        p = await params(request)
        size = int_param(p, 'size', None, minimum=0)  # the fake's own: how large the file pretends to be
        p = self._verify(request, p, drop=('size',))
        self._check_download(sid, store, p)
        url, content, name = p['url'], p['content'], p['filename']
        path = self._volume_path(sid, '{0}/{1}'.format(content, name), content)

        async def body(log):
            data = self.fetch_url(url)
            log('downloading {0} to {1}'.format(url, path))
            if p.get('checksum'):
                self._verify_checksum(log, data, p['checksum-algorithm'], p['checksum'])
            self._keep_download(sid, node, content, name, len(data) if size is None else size)
            log("download of '{0}' to '{1}' finished".format(url, path))
        return ok(await self.run_task(node, 'download', name, user, body))

    def _check_download(self, sid, store, p):
        content, name = p['content'], p['filename']
        if not _is_file(store):
            raise die("can't upload to storage type '{0}', not a file based storage!".format(store.get('type')))
        if content not in split_list(store.get('content')):
            raise die("storage '{0}' is not configured for content-type '{1}'".format(sid, content))
        if content not in ('iso', 'vztmpl'):
            raise param_error(content="upload content-type '{0}' is not allowed".format(content))
        if not (ISO_NAME if content == 'iso' else VZTMPL_NAME).fullmatch(name):
            raise param_error(filename='wrong file extension')
        if p.get('compression') and content != 'iso':
            raise die('decompression not supported for {0}'.format(content))
        if bool(p.get('checksum')) != bool(p.get('checksum-algorithm')):
            missing = 'checksum-algorithm' if p.get('checksum') else 'checksum'
            raise param_error(**{missing: "parameter '{0}' is required".format(missing)})

    @staticmethod
    def _verify_checksum(log, data, algorithm, expected):
        """download_file_from_url's check: the log line, then OK or the mismatch that fails the task."""
        got = hashlib.new(algorithm, data).hexdigest()
        if got.lower() != str(expected).lower():
            log('calculating checksum...')
            raise TaskError("checksum mismatch: got '{0}' != expect '{1}'".format(got, expected))
        log('calculating checksum...OK, checksum verified')

    def _keep_download(self, sid, node, content, name, size):
        """The file is on the storage now: on this node only, unless the storage is shared."""
        self.store_file(sid, name, size, content)
        vol = self.storages[sid]['volumes']['{0}/{1}'.format(content, name)]
        vol['ctime'] = self.now()
        if not self.is_shared(sid):
            vol['node'] = node
