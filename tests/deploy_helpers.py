"""The files of deploy/ made runnable on this machine, for tests/test_deploy_files.py and
tests/test_production_guide.py.

The deploy files name production paths (/opt/nabuur, /etc/nabuur, /var/lib/nabuur, the
certbot certificate, ports 80 and 443, the nabuur user). Tests run them with those
replaced by temporary ones through `substitute`, which fails when a string it replaces is
missing from the file: a deploy file cannot drift away from what its test checks.
"""

from __future__ import annotations

import datetime
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
STATIC = ROOT / "web" / "static"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# The `nabuur` of the virtual environment running the tests (the repository's .venv).
NABUUR = Path(sys.executable).parent / "nabuur"
PRODUCTION_NABUUR = "/opt/nabuur/.venv/bin/nabuur"
DOMAIN = "buren.example.be"


def substitute(text: str, replacements: Mapping[str, str]) -> str:
    """`text` with each key replaced by its value; every key must occur in `text`."""
    for old, new in replacements.items():
        assert old in text, f"{old!r} is no longer in the deploy file: update its test"
        text = text.replace(old, new)
    return text


def require_tool(path: str, install: str) -> str:
    """The path of a tool the test needs: skipped without it, failed under CI=true."""
    found = shutil.which(path) or (path if Path(path).is_file() else None)
    if found is None:
        message = f"{path} is not installed ({install})"
        if IN_CI:
            pytest.fail(message + "; CI=true: this test must run", pytrace=False)
        pytest.skip(message)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = log.read_text() if log.exists() else ""
            raise AssertionError(f"process exited ({process.returncode}):\n{said}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    said = log.read_text() if log.exists() else ""
    raise AssertionError(f"nothing listens on {port} after {seconds} s:\n{said}")


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, seconds: float = 30) -> int:
    """Signal one process we started and wait for it; killed if it does not stop in time."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(f"pid {process.pid} did not stop within {seconds} s") from None
    return process.returncode


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


class LocalResolver(AbstractResolver):
    """DNS for a test: the node's domain is on 127.0.0.1 (aiohttp then sends it as Host
    and as the TLS server name)."""

    def __init__(self, domain: str = DOMAIN) -> None:
        self.domain = domain

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        assert host == self.domain, f"only {self.domain} is resolved here, not {host}"
        return [
            ResolveResult(
                hostname=host,
                host="127.0.0.1",
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


# systemd units ---------------------------------------------------------------------------


def unit_entries(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A unit file's sections, each a list of (key, value) in order (keys may repeat)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"{path.name}: {line!r} is outside a section"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: {line!r} is not key=value"
        current.append((key.strip(), value.strip()))
    return sections


def unit_values(path: Path, section: str, key: str) -> list[str]:
    return [value for name, value in unit_entries(path).get(section, []) if name == key]


def exec_argv(value: str, instance: str = "") -> list[str]:
    """An Exec*= line as the argument list systemd runs (our units use only these
    specifiers: %i the instance, %% and $$ a literal % and $)."""
    others = re.findall(r"%[^%i]", value.replace("%%", ""))
    assert not others, f"specifiers {others} in {value!r}: teach exec_argv about them"
    text = value.replace("%%", "\0").replace("%i", instance).replace("\0", "%")
    return shlex.split(text.replace("$$", "$"))


def unit_environment(path: Path) -> dict[str, str]:
    environ = {}
    for item in unit_values(path, "Service", "Environment"):
        key, _, value = item.partition("=")
        environ[key] = value
    return environ


# nginx -----------------------------------------------------------------------------------


def make_certificate(directory: Path, domain: str = DOMAIN) -> tuple[Path, Path]:
    """A self-signed certificate for `domain` (it is its own CA): (fullchain, privkey)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    fullchain, privkey = directory / "fullchain.pem", directory / "privkey.pem"
    fullchain.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    privkey.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    privkey.chmod(0o600)
    return fullchain, privkey


# The parts of Debian's /etc/nginx/nginx.conf that matter to the site (its http block sets
# ssl_protocols and ssl_prefer_server_ciphers, which the site overrides), with every path
# in the temporary directory.
MAIN_CONF = """\
{user}worker_processes 1;
pid {d}/nginx.pid;
events {{
    worker_connections 64;
}}
http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    {types}
    default_type application/octet-stream;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log {d}/access.log;
    gzip on;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {site};
}}
"""


class Nginx:
    """deploy/nginx/nabuur.conf in a temporary nginx: its own ports, certificate, static
    directory and upstream ports; `check` runs `nginx -t`, `start` serves it."""

    def __init__(
        self,
        workdir: Path,
        upstream_ports: tuple[int, int],
        site: Path = DEPLOY / "nginx" / "nabuur.conf",
        domain: str = DOMAIN,
        static_dir: Path = STATIC,
    ) -> None:
        self.binary = require_tool("/usr/sbin/nginx", "apt-get install nginx; `make test` does")
        self.dir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.http_port, self.https_port = free_port(), free_port()
        self.webroot = workdir / "www"
        self.webroot.mkdir()
        fullchain, privkey = make_certificate(workdir, domain)
        self.certificate = fullchain
        ipv6 = has_ipv6_loopback()
        live = f"/etc/letsencrypt/live/{domain}"
        self.site_text = substitute(
            site.read_text(),
            {
                "listen 80;": f"listen {self.http_port};",
                # IPv6 on loopback where the machine has it; dropped otherwise.
                "listen [::]:80;": f"listen [::1]:{self.http_port};" if ipv6 else "",
                "listen 443 ssl http2;": f"listen {self.https_port} ssl http2;",
                "listen [::]:443 ssl http2;": (
                    f"listen [::1]:{self.https_port} ssl http2;" if ipv6 else ""
                ),
                "server 127.0.0.1:8000 ": f"server 127.0.0.1:{upstream_ports[0]} ",
                "server 127.0.0.1:8001 ": f"server 127.0.0.1:{upstream_ports[1]} ",
                f"{live}/fullchain.pem": str(fullchain),
                f"{live}/privkey.pem": str(privkey),
                "/opt/nabuur/src/web/static/": f"{static_dir}/",
                "root /var/www/html;": f"root {self.webroot};",
            },
        )
        self.site = workdir / "nabuur.conf"
        self.site.write_text(self.site_text)
        types = "/etc/nginx/mime.types"
        self.conf = workdir / "nginx.conf"
        self.conf.write_text(
            MAIN_CONF.format(
                d=workdir,
                site=self.site,
                # As root the workers would run as nobody, who cannot enter pytest's
                # temporary directories; the test's nginx keeps to root.
                user="user root;\n" if os.geteuid() == 0 else "",
                types=f"include {types};" if Path(types).is_file() else "types { text/css css; }",
            )
        )
        self.error_log = workdir / "error.log"
        self.process: subprocess.Popen[bytes] | None = None

    def command(self, *extra: str) -> list[str]:
        return [
            self.binary,
            "-p",
            str(self.dir),
            "-c",
            str(self.conf),
            "-e",
            str(self.error_log),
            *extra,
        ]

    def check(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command("-t"), capture_output=True, text=True, timeout=30, check=False
        )

    def start(self) -> None:
        log = self.dir / "nginx.out"
        with log.open("wb") as out:
            # In the foreground: the master is our child, stopped by its pid in `stop`.
            self.process = subprocess.Popen(
                self.command("-g", "daemon off;"), stdout=out, stderr=subprocess.STDOUT
            )
        wait_for_port(self.https_port, self.process, self.error_log, 15)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process, signal.SIGQUIT, 15)  # SIGQUIT: nginx's graceful stop
            self.process = None
