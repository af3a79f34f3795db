"""A TLS-terminating gRPC proxy (nginx, grpc_pass) in front of the dev server, which has no TLS
of its own, with certificates from trustme: a CA, a server certificate for 127.0.0.1 and
localhost, a client certificate from the CA (mTLS) and one from a stranger CA."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import trustme

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


def _write(cert: trustme.LeafCert, cert_path: Path, key_path: Path) -> None:
    cert.cert_chain_pems[0].write_to_path(cert_path)
    cert.private_key_pem.write_to_path(key_path)
    key_path.chmod(0o600)


def make_pki(directory: Path) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    pki = Pki(
        ca=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
        stranger_cert=directory / "stranger.pem",
        stranger_key=directory / "stranger.key",
    )
    ca.cert_pem.write_to_path(pki.ca)
    _write(ca.issue_cert("127.0.0.1", "localhost"), pki.server_cert, pki.server_key)
    # trustme's leaf certificates are for servers and clients alike (both extended key usages).
    _write(ca.issue_cert("campaign-worker"), pki.client_cert, pki.client_key)
    _write(trustme.CA().issue_cert("intruder"), pki.stranger_cert, pki.stranger_key)
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
