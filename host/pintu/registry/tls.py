"""The site's private certificate authority and the broker's server certificate (MQTT over TLS).

The CA key never leaves the data directory (DATA/tls/ca.key, owner-only); units and the host trust its certificate
(DATA/tls/ca.pem; a unit carries it, DER in base64, in its pintu.json). The broker gets a server key and certificate
for the names and addresses units connect to; rotating them is `pintu broker-config --tls --new-cert` (units keep
trusting the same CA, so nothing on them changes).

Two choices made for door units (MicroPython's mbedtls), each harmless for the host:
- Certificates are valid from 2000-01-01: a unit has no clock source before it reaches the host, and MicroPython's
  epoch is 2000-01-01, while mbedtls refuses a certificate whose notBefore is still to come.
- An address is written both as an iPAddress and as a dNSName holding its text: mbedtls before 3.5 matches the
  expected host name only against dNSName entries (and the CN), OpenSSL (the host, mosquitto) uses iPAddress."""

import datetime
import hashlib
import ipaddress
import os
import secrets

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pintu.addresses import is_host_name
from pintu.data.files import private_dir, write_private
from pintu.errors import PintuError

TLS_DIR = "tls"
CA_KEY = "ca.key"
CA_CERT = "ca.pem"
SERVER_KEY = "server.key"  # in the broker's folder, owned by the user mosquitto runs as
SERVER_CERT = "server.crt"
VALID_FROM = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)  # MicroPython's epoch (see above)
CA_YEARS = 30
SERVER_DAYS = 825  # the broker's certificate is replaced with one command; the CA is what units trust
RENEW_BEFORE_DAYS = 30  # an existing server certificate closer than this to its end is replaced by broker-config


def ca_paths(data_path):
    folder = os.path.join(data_path, TLS_DIR)
    return os.path.join(folder, CA_KEY), os.path.join(folder, CA_CERT)


def _new_key():
    return ec.generate_private_key(ec.SECP256R1())  # small certificates (a unit's config) and mbedtls-friendly


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def ensure_ca(data_path):
    """The site's CA, made on first use. -> (key, certificate)."""
    key_path, cert_path = ca_paths(data_path)
    if os.path.exists(key_path) and os.path.exists(cert_path):
        return load_ca(data_path)
    private_dir(os.path.dirname(key_path))
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Pintu"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "Pintu site CA %s" % secrets.token_hex(4))])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(VALID_FROM)
        .not_valid_after(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(key_path, _key_pem(key))  # first the key: a CA certificate without its key is useless
    write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def load_ca(data_path):
    """-> (key, certificate) of the site's CA. Raises PintuError when there is none yet."""
    key_path, cert_path = ca_paths(data_path)
    try:
        with open(key_path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), None)
        with open(cert_path, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
    except FileNotFoundError:
        raise PintuError("no TLS certificate authority in %s yet: run pintu broker-config --tls first"
                         % os.path.dirname(key_path)) from None
    except (OSError, ValueError) as e:
        raise PintuError("cannot read the CA in %s: %s" % (os.path.dirname(key_path), e)) from None
    return key, cert


def ca_der(data_path):
    """The CA certificate as DER bytes (what a unit's config carries)."""
    return load_ca(data_path)[1].public_bytes(serialization.Encoding.DER)


def read_ca_file(path):
    """A CA certificate file (PEM or DER) -> DER bytes, for units that verify a broker with it. One-line errors."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
        cert = x509.load_pem_x509_certificate(raw) if b"-----BEGIN" in raw else x509.load_der_x509_certificate(raw)
    except (OSError, ValueError) as e:
        raise PintuError("cannot read a CA certificate from %s: %s" % (path, e)) from None
    return cert.public_bytes(serialization.Encoding.DER)


def pin(der):
    """SHA-256 of a DER certificate, hex: what `pintu device add` prints so a technician can compare."""
    return hashlib.sha256(der).hexdigest()


def check_names(names, addresses):
    """-> (DNS names, IP address strings); raises PintuError on anything else (one line)."""
    dns, ips = [], []
    for name in names:
        if not is_host_name(name):
            raise PintuError("bad --name %r (a DNS name the units use for the broker)" % (name,))
        dns.append(name.lower())
    for text in addresses:
        try:
            ips.append(str(ipaddress.ip_address(text)))
        except ValueError:
            raise PintuError("bad --address %r (an IP address the units use for the broker)" % (text,)) from None
    if not dns and not ips:
        raise PintuError("--tls needs the broker's --name and/or --address (what units connect to)")
    return sorted(set(dns)), sorted(set(ips))


def server_names(cert):
    """(DNS names, IP addresses) a server certificate is for (the textual copies of addresses are left out)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    ips = sorted(str(a) for a in san.get_values_for_type(x509.IPAddress))
    dns = sorted(n for n in san.get_values_for_type(x509.DNSName) if n not in ips)
    return dns, ips


def issue_server_cert(data_path, names, addresses):
    """A new key and certificate for the broker, signed by the site's CA. -> (key PEM, certificate PEM)."""
    dns, ips = check_names(names, addresses)
    ca_key, ca_cert = ensure_ca(data_path)
    key = _new_key()
    alt = [x509.DNSName(n) for n in dns] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
    alt += [x509.DNSName(a) for a in ips]  # for mbedtls < 3.5 (module docstring)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (dns + ips)[0])]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(VALID_FROM)
        .not_valid_after(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return _key_pem(key), cert.public_bytes(serialization.Encoding.PEM)


def existing_server_cert(out_dir):
    """The broker's current certificate in out_dir, or None."""
    try:
        with open(os.path.join(out_dir, SERVER_CERT), "rb") as f:
            return x509.load_pem_x509_certificate(f.read())
    except (OSError, ValueError):
        return None


def _issued_by(cert, ca_cert):
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def server_files(data_path, out_dir, names=(), addresses=(), new_cert=False):
    """{file name: bytes} of the broker's key and certificate for `pintu broker-config --tls`, or {} when the ones
    in out_dir can stay: they are signed by this CA, cover the same names, and are not near their end. Without
    names and addresses, those of the current certificate are kept (a rotation is then one command)."""
    _, ca_cert = ensure_ca(data_path)
    current = existing_server_cert(out_dir)
    if not names and not addresses:
        if current is None:
            check_names((), ())  # raises: nothing to make a certificate for
        names, addresses = server_names(current)
    wanted = check_names(names, addresses)
    if current is not None and not new_cert and os.path.exists(os.path.join(out_dir, SERVER_KEY)):
        left = current.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)
        if _issued_by(current, ca_cert) and server_names(current) == (list(wanted[0]), list(wanted[1])) \
                and left > datetime.timedelta(days=RENEW_BEFORE_DAYS):
            return {}
    key_pem, cert_pem = issue_server_cert(data_path, *wanted)
    return {SERVER_KEY: key_pem, SERVER_CERT: cert_pem}
