"""nginx (Debian's nginx-light) in front of a server: TLS terminated on a loopback port, every
request forwarded with the usual X-Forwarded-* headers. One process, a temp directory, no root
paths, stopped by PID."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.certificates import Issued
from tests.support.servers import free_port
from tests.support.tls import wait_for_https

CONFIG = """
daemon off;
master_process off;
worker_processes 1;
pid {base}/nginx.pid;
error_log {base}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {base}/body;
    proxy_temp_path {base}/proxy;
    fastcgi_temp_path {base}/fastcgi;
    uwsgi_temp_path {base}/uwsgi;
    scgi_temp_path {base}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {certificate};
        ssl_certificate_key {key};
        client_max_body_size 0;
        chunked_transfer_encoding on;
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 900;
        }}
    }}
}}
"""


def missing_nginx() -> str | None:
    return None if shutil.which("nginx") else "nginx is not installed (Debian's nginx-light)"


@dataclass
class Nginx:
    url: str  # https://127.0.0.1:PORT, the public URL
    host: str
    process: subprocess.Popen[bytes]


@contextmanager
def nginx_in_front(upstream_port: int, served: Issued, base: Path) -> Iterator[Nginx]:
    base.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = base / "nginx.conf"
    config.write_text(
        CONFIG.format(
            base=base, port=port, upstream=upstream_port,
            certificate=served.certificate, key=served.key,
        )
    )  # fmt: skip
    log = base / "stderr.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["nginx", "-p", str(base), "-c", str(config), "-e", str(base / "error.log")],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    front = Nginx(f"https://127.0.0.1:{port}", f"127.0.0.1:{port}", process)
    try:
        wait_for_https(f"{front.url}/healthz", False, process, log)
        yield front
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
