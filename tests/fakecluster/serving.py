"""Serve a FakeCluster over HTTPS on its own event loop thread, with a CA clients verify."""

import asyncio
import os
import threading

from fakepve import settle
from fakepve.certs import make_cert

from .cluster import TOKEN_ID, build_cluster

START_TIMEOUT = 30


class ServedCluster:
    """A started FakeCluster: ``cluster`` is the state, ``url``, ``ca_path`` and ``env`` say how to reach it."""

    def __init__(self, pki_dir, host='127.0.0.1', port=0, cert=None, **kwargs):
        """``cert`` (certfile, keyfile) serves that certificate, also its CA; otherwise one is made in pki_dir."""
        if cert is None:
            os.makedirs(pki_dir, exist_ok=True)
            cert = make_cert(pki_dir, name='fakecluster', hosts=(host,))[:2]
        certfile, keyfile = cert
        self.ca_path = certfile
        self.cluster = build_cluster(host=host, port=port, **kwargs)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name='fakecluster', daemon=True)
        self.thread.start()
        try:
            self.call(self.cluster.start(certfile, keyfile))
        except BaseException:
            self._halt()
            raise

    def call(self, coro):
        """Run a coroutine on the cluster's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(START_TIMEOUT)

    def run(self, func, *args):
        """Run a plain function on the cluster's loop (state changes from a test thread)."""
        async def call():
            return func(*args)
        return self.call(call())

    @property
    def host(self):
        return self.cluster.host

    @property
    def port(self):
        return self.cluster.port

    @property
    def env(self):
        """The PROXMOX_* variables that point a client at this cluster."""
        return {
            'PROXMOX_HOST': self.cluster.host,
            'PROXMOX_PORT': str(self.cluster.port),
            'PROXMOX_USER': self.cluster.user,
            'PROXMOX_PASSWORD': self.cluster.password,
            'PROXMOX_TOKEN_ID': TOKEN_ID,
            'PROXMOX_TOKEN_SECRET': self.cluster.token_secret,
            'PROXMOX_CA_PATH': self.ca_path,
        }

    def _halt(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(START_TIMEOUT)

    def stop(self):
        try:
            self.call(settle())
            self.call(self.cluster.stop())
        finally:
            self._halt()
