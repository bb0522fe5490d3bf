"""TLS and auth: certificate verification is on by default in modules and the inventory plugin; a wrong CA, an
expired certificate, one made for another host and a wrong password each fail with one clear line; turning
verification off works and says so once, naming validate_certs.

(The collection has no lookup plugin: modules and the inventory plugin are the only clients.)
"""

import datetime
import ipaddress
import os
import subprocess

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fakepve.certs import make_cert

from fakecluster import ServedCluster

from harness import BIN, REPO, PlaybookRunner

DAY = datetime.timedelta(days=1)


def write_cert(directory, name, hosts, not_before, not_after):
    """A self-signed server certificate (and key) for these host names or addresses, valid in that window; the
    certificate is its own CA, as fakepve's make_cert is (which always adds localhost and 127.0.0.1, and is
    always valid for 30 days: the two cases it cannot make are made here)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    names = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    certfile, keyfile = os.path.join(directory, name + '.crt'), os.path.join(directory, name + '.key')
    with open(certfile, 'wb') as out:
        out.write(cert.public_bytes(serialization.Encoding.PEM))
    with os.fdopen(os.open(keyfile, os.O_WRONLY | os.O_CREAT, 0o600), 'wb') as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption()))
    return certfile, keyfile


def served_with_cert(certfile, keyfile):
    """The fake cluster served with a given certificate, trusted as its own CA."""
    return ServedCluster(None, cert=(certfile, keyfile))


@pytest.fixture
def bad_certs(tmp_path):
    """Servers with an expired certificate and with one made for another host, each trusted as its own CA."""
    now = datetime.datetime.now(datetime.timezone.utc)
    servers = {
        'expired': served_with_cert(*write_cert(str(tmp_path), 'expired', ['127.0.0.1', 'localhost'], now - 30 * DAY,
                                                now - DAY)),
        'wrong host': served_with_cert(*write_cert(str(tmp_path), 'otherhost', ['pve9.example.org'], now - DAY,
                                                   now + 30 * DAY)),
    }
    try:
        yield servers
    finally:
        for served in servers.values():
            served.stop()


def vm_info():
    return [{'name': 'info', 'pve.fleet.guest_info': {}}]


def one_line(result):
    assert result.rc != 0, result.output
    assert 'Traceback' not in result.output, result.output
    msg = result.failed[0]['result']['msg']
    assert '\n' not in msg.strip(), msg
    return msg


def module_run(served, tmp_path, connection, label):
    """The credentials come from the environment, as from a vault would: Ansible shows the lines of the play
    around a failed task, so a password written into the play would be shown by Ansible itself."""
    runner = PlaybookRunner(served, os.path.join(str(tmp_path), label.replace(' ', '_')))
    os.makedirs(runner.workdir, exist_ok=True)
    connection = dict(connection)
    env = {'PROXMOX_USER': served.env['PROXMOX_USER'],
           'PROXMOX_PASSWORD': connection.pop('api_password', served.env['PROXMOX_PASSWORD'])}
    return runner.run(vm_info(), auth=None, connection=connection, env=env)


def inventory_run(served, tmp_path, options, label):
    path = os.path.join(str(tmp_path), '{0}.pve.yml'.format(label.replace(' ', '_')))
    env = served.env
    config = dict(plugin='pve.fleet.pve', api_host=env['PROXMOX_HOST'], api_port=int(env['PROXMOX_PORT']),
                  api_user=env['PROXMOX_USER'], api_password=env['PROXMOX_PASSWORD'])
    config.update(options)
    config = dict((k, v) for k, v in config.items() if v is not None)
    with open(path, 'w') as out:
        yaml.safe_dump(config, out)
    proc_env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('PROXMOX_', 'ANSIBLE_')))
    proc_env['ANSIBLE_CONFIG'] = os.path.join(REPO, 'ansible.cfg')
    return subprocess.run([os.path.join(BIN, 'ansible-inventory'), '-i', path, '--list'], cwd=str(tmp_path),
                          env=proc_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=120, check=False)


def cases(served, bad_certs, other_ca):
    """(label, the server, connection options, what the one line must say)."""
    url = 'https://127.0.0.1:{0}'.format(served.port)
    return [
        ('verification on by default', served, {'ca_path': None},
         'TLS certificate verification failed for {0} (self-signed certificate): give ca_path the CA'.format(url)),
        ('another CA', served, {'ca_path': other_ca},
         'TLS certificate verification failed for {0} (self-signed certificate): give ca_path the CA'.format(url)),
        ('expired', bad_certs['expired'], {}, 'TLS certificate verification failed for https://127.0.0.1:{0} '
                                              '(certificate has expired): the PVE certificate needs renewing'.format(
                                                  bad_certs['expired'].port)),
        ('wrong host', bad_certs['wrong host'], {},
         "TLS certificate verification failed for https://127.0.0.1:{0} (IP address mismatch, certificate is not "
         "valid for '127.0.0.1'.): give as api_host a name the certificate holds".format(bad_certs['wrong host'].port)),
        ('wrong password', served, {'api_password': 'Wrong-Pw-55aa'},
         'authentication failed for root@pam at {0}: check api_user and api_password'.format(url)),
    ]


def test_modules_verify_tls_by_default_and_fail_in_one_line(served, bad_certs, tmp_path):
    other_ca = make_cert(str(tmp_path), name='other-ca')[0]
    for label, server, connection, expected in cases(served, bad_certs, other_ca):
        connection = dict(connection)
        connection.setdefault('ca_path', server.ca_path)
        if connection['ca_path'] is None:
            connection['ca_path'] = None  # PlaybookRunner leaves None out: requests' own CA bundle then
        result = module_run(server, tmp_path, dict(connection), label)
        msg = one_line(result)
        assert expected in msg, (label, msg)
        assert 'Wrong-Pw-55aa' not in result.output


def test_the_inventory_verifies_tls_by_default_and_fails_in_one_line(served, bad_certs, tmp_path):
    other_ca = make_cert(str(tmp_path), name='other-ca')[0]
    for label, server, options, expected in cases(served, bad_certs, other_ca):
        options = dict(options)
        options.setdefault('ca_path', server.ca_path)
        proc = inventory_run(server, tmp_path, options, label)
        assert proc.returncode != 0, (label, proc.stdout)
        # Ansible says it twice (its parse warning, then its error), each time on one line.
        lines = [line for line in proc.stderr.splitlines() if 'pve.fleet.pve: cannot read the cluster' in line]
        assert lines and all(expected in line for line in lines), (label, proc.stderr)
        assert 'Traceback' not in proc.stderr and 'Wrong-Pw-55aa' not in proc.stderr + proc.stdout


def test_validate_certs_false_works_and_warns_once_naming_it(served, tmp_path):
    result = module_run(served, tmp_path, {'validate_certs': False, 'ca_path': None}, 'unverified').assert_ok()
    warnings = [line for line in result.output.splitlines() if '[WARNING]' in line and 'validate_certs' in line]
    assert len(warnings) == 1, result.output
    assert 'validate_certs is false: the PVE certificate is not verified' in warnings[0]
    proc = inventory_run(served, tmp_path, {'validate_certs': False}, 'unverified')
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if 'validate_certs' in line]
    assert len(warnings) == 1 and 'pve.fleet.pve: validate_certs is false' in warnings[0], proc.stderr
    assert 'InsecureRequestWarning' not in proc.stderr + result.output
