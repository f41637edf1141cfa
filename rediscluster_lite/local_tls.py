"""Throwaway TLS material for a local cluster: one CA and one server certificate, made fresh per cluster.

Rules this module keeps:

* Keys never leave the cluster's data dir, and the key file is mode 0600.
* P-256 keys (cheap to make and to handshake with), valid from yesterday for 30 days.
* The certificate names 127.0.0.1, localhost and the cluster's host, and carries clientAuth too: with
  ``tls-cluster yes`` the nodes present it to each other.
* The ``cryptography`` package is used when installed; otherwise the ``openssl`` command.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .local_errors import LauncherError

__all__ = ["make_tls_files"]

_VALID_DAYS = 30


def make_tls_files(directory: Path, host: str, use_openssl: bool = False) -> tuple[Path, Path, Path]:
    """A throwaway CA and one server certificate (for 127.0.0.1, localhost and ``host``). Returns ca, cert, key."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, cert, key = directory / "ca.crt", directory / "server.crt", directory / "server.key"
    if not use_openssl:
        try:
            _make_tls_files_cryptography(ca, cert, key, host)
            return ca, cert, key
        except ImportError:
            pass  # fall back to the openssl CLI
    _make_tls_files_openssl(directory, ca, cert, key, host)
    return ca, cert, key


def san_names(host: str) -> tuple[list[str], list[str]]:
    """The certificate's subject alternative names: (IP addresses, DNS names)."""
    ips, dns = ["127.0.0.1"], ["localhost"]
    try:
        ipaddress.ip_address(host)
        if host not in ips:
            ips.append(host)
    except ValueError:
        if host not in dns:
            dns.append(host)
    return ips, dns


# --------------------------------------------------------------------------------------------- cryptography


def _make_tls_files_cryptography(ca_path: Path, cert_path: Path, key_path: Path, host: str) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    now = datetime.datetime.now(datetime.timezone.utc)
    validity = (now - datetime.timedelta(days=1), now + datetime.timedelta(days=_VALID_DAYS))
    # P-256 rather than RSA: key generation and handshakes are much cheaper, which matters on every connect.
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _ca_certificate(ca_key, validity)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _server_certificate(key, ca_key, ca_cert, host, validity)
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)


def _ca_certificate(ca_key: Any, validity: tuple[datetime.datetime, datetime.datetime]) -> Any:
    """A self-signed CA certificate that may sign certificates and CRLs, nothing else."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rediscluster_lite test CA")])
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _server_certificate(
    key: Any, ca_key: Any, ca_cert: Any, host: str, validity: tuple[datetime.datetime, datetime.datetime]
) -> Any:
    """The nodes' certificate, signed by the CA, for server and client authentication."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ips, dns = san_names(host)
    sans: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    sans += [x509.DNSName(d) for d in dns]
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


# --------------------------------------------------------------------------------------------- openssl CLI


def _make_tls_files_openssl(directory: Path, ca: Path, cert: Path, key: Path, host: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise LauncherError("tls=True needs the `cryptography` package or the `openssl` command")
    ips, dns = san_names(host)
    ext = directory / "server.ext"
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
        "subjectAltName=" + ",".join([f"IP:{i}" for i in ips] + [f"DNS:{d}" for d in dns]) + "\n"
    )
    ca_key, csr = directory / "ca.key", directory / "server.csr"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    days = ["-days", str(_VALID_DAYS)]
    steps: list[list[Any]] = [
        [openssl, "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, *days, "-subj", "/CN=rediscluster_lite test CA"],
        [openssl, "req", "-new", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"],
        [openssl, "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert]
        + [*days, "-sha256", "-extfile", ext],
    ]
    for cmd in steps:
        r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise LauncherError(f"openssl failed making test certificates: {r.stderr.strip()[-500:]}")
    key.chmod(0o600)
