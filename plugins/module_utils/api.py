# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""The one client for the Proxmox VE API: auth, TLS, timeouts, retries and errors.

Modules never talk HTTP themselves: they build a client from their parameters with
``client_from_module`` and call ``get``/``post``/``put``/``delete`` with API paths.
Every failure becomes a ``PveError`` whose ``str()`` is one line a person can act on.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import random
import re
import threading
import time

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError

try:
    import requests
    from proxmoxer import ProxmoxAPI
    from proxmoxer.core import AuthenticationError
    HAS_PROXMOXER = True
    PROXMOXER_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by client_from_module
    HAS_PROXMOXER = False
    PROXMOXER_IMPORT_ERROR = exc

DEFAULT_PORT = 8006
DEFAULT_TIMEOUT = 60

# The connection options every module shares, documented once in doc_fragments/pve.py.
CONNECTION_SPEC = dict(
    api_host=dict(type='str', required=True, fallback=(env_fallback, ['PROXMOX_HOST'])),
    api_port=dict(type='int', default=DEFAULT_PORT, fallback=(env_fallback, ['PROXMOX_PORT'])),
    api_user=dict(type='str', fallback=(env_fallback, ['PROXMOX_USER'])),
    api_password=dict(type='str', no_log=True, fallback=(env_fallback, ['PROXMOX_PASSWORD'])),
    api_token_id=dict(type='str', fallback=(env_fallback, ['PROXMOX_TOKEN_ID'])),
    api_token_secret=dict(type='str', no_log=True, fallback=(env_fallback, ['PROXMOX_TOKEN_SECRET'])),
    validate_certs=dict(type='bool', default=True, fallback=(env_fallback, ['PROXMOX_VALIDATE_CERTS'])),
    ca_path=dict(type='path', fallback=(env_fallback, ['PROXMOX_CA_PATH'])),
    timeout=dict(type='int', default=DEFAULT_TIMEOUT, fallback=(env_fallback, ['PROXMOX_TIMEOUT'])),
)

# PVE answers these (HTTP 500) when a lock or the cluster filesystem timed out. A read may always be
# repeated; a write only when the guest's config lock was never taken, so nothing was done.
RETRYABLE_READ = ("can't lock file", 'got timeout', 'cfs-lock')
# A proxy or a pveproxy worker that is restarting answers these for a while: a read is repeated through them.
TRANSIENT_STATUS = (502, 503, 504)
# A write PVE refused because another task holds the guest (its config lock file, or a lock such as
# backup or migrate) did nothing: it is repeated until that task lets go, for at most ``timeout`` seconds.
BUSY_GUEST = re.compile(r"can't lock file|\b(VM|CT) is locked \(")
# A create is never repeated blind: the caller re-reads the cluster first (another run may have made it).
CREATE_PATH = re.compile(r'^/?nodes/[^/]+/(qemu|lxc)/?$')
RETRY_ATTEMPTS = 5
# Said once per run (module.warn, the inventory's display.warning) when TLS verification is off.
UNVERIFIED_TLS = ('validate_certs is false: the PVE certificate is not verified, so the credentials and answers '
                  'can be read or changed on the way; give ca_path (the PVE CA) instead')
RETRY_BASE_DELAY = 0.2
RETRY_MAX_DELAY = 3.0


def backoff(attempt):
    """Capped exponential backoff with full jitter, in seconds."""
    return random.uniform(0, min(RETRY_MAX_DELAY, RETRY_BASE_DELAY * (2 ** attempt)))


class PveClient:
    """A logged-in session with one PVE cluster.

    ``get``/``post``/``put``/``delete`` take an API path relative to ``/api2/json``
    (``'nodes/pve1/qemu/100/config'``) and parameters; they return PVE's ``data``.
    ``request_count`` counts requests sent, for benchmarks and request budgets.
    """

    def __init__(self, host, port=DEFAULT_PORT, user=None, password=None, token_id=None, token_secret=None,
                 validate_certs=True, ca_path=None, timeout=DEFAULT_TIMEOUT):
        if not HAS_PROXMOXER:
            raise PveError(missing_required_lib('proxmoxer'))
        self.url = 'https://{0}:{1}'.format(host, port)
        self.timeout = timeout
        self.request_count = 0
        self._count_lock = threading.Lock()  # get_many sends from several threads
        if validate_certs and ca_path and not os.path.exists(ca_path):
            # requests would fail later with an OSError about 'a suitable TLS CA certificate bundle'.
            raise PveError('ca_path: {0} does not exist; give the PEM file of the CA that signed the PVE '
                           'certificate (an absolute path: modules do not run in the playbook directory)'.format(
                               ca_path))
        verify = (ca_path or True) if validate_certs else False
        auth = self._auth(user, password, token_id, token_secret)
        try:
            api = ProxmoxAPI(host, port=port, verify_ssl=verify, timeout=timeout, **auth)
        except AuthenticationError:
            raise PveError('authentication failed for {0} at {1}: check api_user and api_password'.format(
                auth.get('user'), self.url), status=401)
        except requests.exceptions.RequestException as exc:
            raise self._transport_error(exc)
        if 'password' in auth:
            self.request_count += 1  # the ticket request proxmoxer made
        self._session = api._store['session']
        self._base = api._store['base_url']

    @staticmethod
    def _auth(user, password, token_id, token_secret):
        """proxmoxer's auth arguments: an API token when one is given, else a password (ticket)."""
        if token_id and token_secret:
            if '!' in token_id:  # the full id, user@realm!name
                user, token_id = token_id.split('!', 1)
            if not user:
                raise PveError('api_token_id {0!r} names no user: give api_user or the full id '
                               'user@realm!tokenname'.format(token_id))
            return dict(user=user, token_name=token_id, token_value=token_secret)
        if token_id or token_secret:
            raise PveError('API token auth needs both api_token_id and api_token_secret')
        if not user or password is None:
            raise PveError('no credentials: give api_user with api_password, or api_token_id with api_token_secret '
                           '(or the PROXMOX_* environment variables)')
        return dict(user=user, password=password)

    def _transport_error(self, exc):
        if isinstance(exc, requests.exceptions.SSLError):
            reason = 'TLS certificate verification failed' if 'CERTIFICATE_VERIFY_FAILED' in str(exc) \
                else 'TLS handshake failed'
            # OpenSSL's own words say which: expired, another host's, signed by another CA, ...
            why = re.search(r'certificate verify failed: ([^()]+?)\s*\(_ssl', str(exc))
            why = why.group(1).strip() if why else ''
            advice = 'give ca_path the CA that signed the PVE certificate'
            if 'mismatch' in why:
                advice = 'give as api_host a name the certificate holds, or a certificate made for this one'
            elif 'expired' in why:
                advice = 'the PVE certificate needs renewing (pvecm updatecerts on the node)'
            said = ' ({0})'.format(why) if why else ''
            return PveError('{0} for {1}{2}: {3}'.format(reason, self.url, said, advice))
        if isinstance(exc, requests.exceptions.Timeout):
            return PveError('no answer from {0} within {1}s (timeout)'.format(self.url, self.timeout))
        if isinstance(exc, requests.exceptions.ConnectionError):
            return PveError('cannot connect to {0}: is api_host/api_port right and the host up?'.format(self.url))
        return PveError('request to {0} failed: {1}'.format(self.url, exc))

    def _send(self, method, path, params):
        with self._count_lock:
            self.request_count += 1
        url = '{0}/{1}'.format(self._base, path.lstrip('/'))
        params = dict((k, v) for k, v in params.items() if v is not None)
        if method in ('GET', 'DELETE'):
            resp = self._session.request(method, url, params=params)
        else:
            resp = self._session.request(method, url, data=params)
        if resp.status_code < 400:
            return resp.json().get('data')
        try:
            body = resp.json()
        except ValueError:
            body = {}
        message = (body or {}).get('message') or resp.reason or 'HTTP {0}'.format(resp.status_code)
        if resp.status_code == 401:
            message = '{0} (check the credentials: api_user/api_password or api_token_id/api_token_secret)'.format(
                message.strip())
        raise PveError(message, status=resp.status_code, errors=(body or {}).get('errors'), method=method,
                       path='/' + path.lstrip('/'))

    # The API path is `api_path`, so that PVE's own parameter named `path` (a storage's) can be sent.
    def request(self, method, api_path, **params):
        """Send one request; retries only where a repeat cannot do harm."""
        attempt = 0
        busy_until = None
        while True:
            try:
                return self._send(method, api_path, params)
            except PveError as exc:
                if self._busy_guest(method, api_path, exc):
                    now = time.monotonic()
                    busy_until = busy_until or now + self.timeout
                    if now >= busy_until:
                        raise PveError('{0}: another task holds the guest and did not let go within {1}s (timeout); '
                                       'wait for it to finish (or unlock the guest), or raise timeout'.format(
                                           exc.message.strip(), self.timeout), status=exc.status, errors=exc.errors,
                                       method=method, path='/' + api_path.lstrip('/'))
                elif not self._may_retry(method, api_path, exc) or attempt + 1 >= RETRY_ATTEMPTS:
                    raise
            except requests.exceptions.ConnectionError as exc:
                # A reset read is safe to repeat; a write may have been done, so the caller re-reads.
                if method != 'GET' or isinstance(exc, requests.exceptions.SSLError) or attempt + 1 >= RETRY_ATTEMPTS:
                    raise self._transport_error(exc)
            except requests.exceptions.RequestException as exc:
                raise self._transport_error(exc)
            time.sleep(backoff(attempt))
            attempt += 1

    @staticmethod
    def _may_retry(method, path, exc):
        if method != 'GET':
            return False
        return exc.status in TRANSIENT_STATUS or (exc.status == 500 and any(m in exc.message for m in RETRYABLE_READ))

    @staticmethod
    def _busy_guest(method, path, exc):
        return (exc.status == 500 and method != 'GET' and not CREATE_PATH.match(path)
                and bool(BUSY_GUEST.search(exc.message)))

    def get(self, api_path, **params):
        return self.request('GET', api_path, **params)

    def get_many(self, paths, workers=8, quiet=False):
        """GET several paths, ``workers`` at a time; the answers in the order of ``paths``.

        ``quiet``: None where PVE answers an error (a guest gone meanwhile, an agent not running)
        instead of raising it.
        """
        get = self.get
        if quiet:
            def get(path):
                try:
                    return self.get(path)
                except PveError:
                    return None
        if len(paths) <= 1:
            return [get(p) for p in paths]
        from concurrent.futures import ThreadPoolExecutor  # only here: module start-up pays for it otherwise
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(get, paths))

    def post(self, api_path, **params):
        return self.request('POST', api_path, **params)

    def put(self, api_path, **params):
        return self.request('PUT', api_path, **params)

    def delete(self, api_path, **params):
        return self.request('DELETE', api_path, **params)


def client_from_params(params):
    """A client from connection parameters named as CONNECTION_SPEC names them (a module's, or an
    inventory source's options)."""
    return PveClient(params['api_host'], port=params.get('api_port', DEFAULT_PORT), user=params.get('api_user'),
                     password=params.get('api_password'), token_id=params.get('api_token_id'),
                     token_secret=params.get('api_token_secret'), validate_certs=params.get('validate_certs', True),
                     ca_path=params.get('ca_path'), timeout=params.get('timeout', DEFAULT_TIMEOUT))


def client_from_module(module):
    """A client for an AnsibleModule; a connection failure ends the module with its one-line reason."""
    if not HAS_PROXMOXER:
        module.fail_json(msg=missing_required_lib('proxmoxer'), exception=str(PROXMOXER_IMPORT_ERROR))
    if not module.params.get('validate_certs', True):
        module.warn(UNVERIFIED_TLS)
    try:
        return client_from_params(module.params)
    except PveError as exc:
        module.fail_json(msg=str(exc), error=exc.to_result())
