"""A TLS-terminating gRPC proxy (nginx, grpc_pass) in front of the dev server, which has no TLS
of its own, with certificates generated on the spot: a CA, a server certificate for 127.0.0.1 and
localhost, a client certificate from the CA (mTLS) and one from a stranger CA."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from devstack.processes import ManagedProcess, port_open

NGINX_MISSING = (
    "nginx is not installed: the TLS/mTLS/API-key tests need it as a TLS-terminating gRPC proxy. "
    "Install it with `apt-get install nginx-light` (Debian/Ubuntu; .ci/run does this in CI) or "
    "`brew install nginx`, or put an nginx with the grpc module on PATH."
)


def find_nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path
    stranger_key: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _ca(cn: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return cert, key


def _leaf(
    cn: str,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    usage: x509.ObjectIdentifier,
    sans: list[x509.GeneralName] | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_cert, ca_key = issuer
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def make_pki(directory: Path) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    ca = _ca("campaign-orchestrator test CA")
    server = _leaf(
        "localhost",
        ca,
        ExtendedKeyUsageOID.SERVER_AUTH,
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    )
    client = _leaf("campaign-worker", ca, ExtendedKeyUsageOID.CLIENT_AUTH)
    stranger = _leaf("intruder", _ca("some other CA"), ExtendedKeyUsageOID.CLIENT_AUTH)
    pki = Pki(
        ca=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
        stranger_cert=directory / "stranger.pem",
        stranger_key=directory / "stranger.key",
    )
    pem = serialization.Encoding.PEM
    pki.ca.write_bytes(ca[0].public_bytes(pem))
    for (cert, key), cert_path, key_path in (
        (server, pki.server_cert, pki.server_key),
        (client, pki.client_cert, pki.client_key),
        (stranger, pki.stranger_cert, pki.stranger_key),
    ):
        cert_path.write_bytes(cert.public_bytes(pem))
        _write_key(key, key_path)
    return pki


NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
{user}
events {{ worker_connections 256; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    client_max_body_size 0;
    grpc_read_timeout 300s;
    grpc_send_timeout 300s;

    # TLS, and an API key in the authorization header (as Temporal Cloud checks one).
    server {{
        listen 127.0.0.1:{api_key_port} ssl http2;
        ssl_certificate {server_cert};
        ssl_certificate_key {server_key};
        location / {{
            if ($http_authorization != "Bearer {api_key}") {{ return 401; }}
            grpc_pass grpc://127.0.0.1:{upstream_port};
        }}
    }}

    # mTLS: a client certificate from our CA is required.
    server {{
        listen 127.0.0.1:{mtls_port} ssl http2;
        ssl_certificate {server_cert};
        ssl_certificate_key {server_key};
        ssl_client_certificate {ca};
        ssl_verify_client on;
        location / {{
            grpc_pass grpc://127.0.0.1:{upstream_port};
        }}
    }}
}}
"""


@dataclass
class TlsProxy:
    nginx: str
    directory: Path
    pki: Pki
    upstream_port: int
    api_key_port: int
    mtls_port: int
    api_key: str

    def __post_init__(self) -> None:
        self.process = ManagedProcess("nginx", self.directory)

    @property
    def conf(self) -> Path:
        return self.directory / "nginx.conf"

    def write_conf(self) -> None:
        self.conf.write_text(
            NGINX_CONF.format(
                dir=self.directory,
                user="user root;" if os.geteuid() == 0 else "",
                api_key_port=self.api_key_port,
                mtls_port=self.mtls_port,
                upstream_port=self.upstream_port,
                server_cert=self.pki.server_cert,
                server_key=self.pki.server_key,
                ca=self.pki.ca,
                api_key=self.api_key,
            )
        )

    def check(self) -> str | None:
        """None when nginx accepts the config; else why not (e.g. no grpc module)."""
        result = subprocess.run(
            [self.nginx, "-t", "-q", "-p", str(self.directory), "-c", str(self.conf)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return None if result.returncode == 0 else (result.stderr or result.stdout).strip()

    def start(self) -> None:
        self.process.start(
            [self.nginx, "-p", str(self.directory), "-c", str(self.conf), "-g", "daemon off;"]
        )
        self.process.wait_until(
            lambda: port_open(self.api_key_port) and port_open(self.mtls_port), 15, "TLS ports"
        )

    def stop(self) -> None:
        self.process.stop()
