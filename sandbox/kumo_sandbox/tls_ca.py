"""The sandbox's certificate authority, like the RDS CA behind AWS's
global-bundle.pem: one CA per sandbox run, written as a bundle file
(`rds-ca-bundle.pem` in the sandbox folder) that clients verify against, and
one server certificate per proxy endpoint, for its DNS name.

The server certificate also holds IP 127.0.0.1: in the sandbox the DNS name
resolves nowhere, so clients dial 127.0.0.1. psql checks the name given as
`host=` while dialing `hostaddr=127.0.0.1`; the MariaDB client has no such
split and checks the address it dialed against the IP entry.
"""
import datetime
import os
import ssl
import tempfile
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import ipaddress

BUNDLE = "rds-ca-bundle.pem"


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "kumo sandbox"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class CA:
    def __init__(self, directory):
        self.directory = directory
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self._cert = (x509.CertificateBuilder()
                      .subject_name(_name("kumo sandbox RDS root CA"))
                      .issuer_name(_name("kumo sandbox RDS root CA"))
                      .public_key(self._key.public_key())
                      .serial_number(x509.random_serial_number())
                      .not_valid_before(now - datetime.timedelta(minutes=5))
                      .not_valid_after(now + datetime.timedelta(days=30))
                      .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                      .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                   content_commitment=False, key_encipherment=False,
                                                   data_encipherment=False, key_agreement=False,
                                                   encipher_only=False, decipher_only=False), critical=True)
                      .sign(self._key, hashes.SHA256()))
        self.pem = self._cert.public_bytes(serialization.Encoding.PEM)
        self.bundle = os.path.join(directory, BUNDLE) if directory else None
        if self.bundle:
            with open(self.bundle, "wb") as f:
                f.write(self.pem)
        self._contexts = {}
        self._lock = threading.Lock()

    def context(self, dns_name):
        """A server-side SSLContext whose certificate is valid for `dns_name`
        and 127.0.0.1 (made once per name)."""
        with self._lock:
            ctx = self._contexts.get(dns_name)
            if ctx is None:
                ctx = self._contexts[dns_name] = self._make(dns_name)
            return ctx

    def _make(self, dns_name):
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(_name(dns_name[:64]))
                .issuer_name(self._cert.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=7))
                .add_extension(x509.SubjectAlternativeName([
                    x509.DNSName(dns_name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(self._key, hashes.SHA256()))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        # load_cert_chain reads files only: a private temporary file, gone at once
        fd, path = tempfile.mkstemp(prefix="kumo-tls-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
                f.write(cert.public_bytes(serialization.Encoding.PEM))
                f.write(self.pem)
            ctx.load_cert_chain(path)
        finally:
            os.unlink(path)
        return ctx
