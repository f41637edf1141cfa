"""A real Redis Cluster on loopback, started from ``redis-server`` processes.

The integration tests (through ``pytest_plugin.py``) and the CLI use this module. It forms the cluster
itself, the way ``redis-cli --cluster create`` does: distinct config epochs, ``CLUSTER ADDSLOTSRANGE`` on the
masters, ``CLUSTER MEET``, ``CLUSTER REPLICATE``; then it waits until every node says ``cluster_state:ok``,
every node returns the same ``CLUSTER SLOTS`` and every replica is linked and in sync.

Rules this module keeps:

* It talks to nodes with its own tiny RESP helper (a socket and a ``hiredis.Reader``), never with the
  client under test: a bug in the client must not be able to hide behind a bug in its own test cluster.
* Every process it starts is killed and reaped by ``close()``; ``close()`` also runs from ``atexit`` and on
  SIGTERM/SIGHUP, and on Linux the nodes get ``PR_SET_PDEATHSIG`` so that even a SIGKILLed test run leaves
  no ``redis-server`` behind.
* The password (``password=``) goes only into the node config files (mode 0600) and the AUTH frame: it is
  never on a command line, in a ``repr()`` or in an error message.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import datetime
import ipaddress
import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import hiredis

from .fanout import info_fields

__all__ = [
    "LocalCluster",
    "Node",
    "LauncherError",
    "RedisServerNotFound",
    "CommandError",
    "NodeUnreachable",
    "NodeTimeout",
    "find_redis_server",
    "ENV_REDIS_SERVER",
]

ENV_REDIS_SERVER = "REDISCLUSTER_LITE_REDIS_SERVER"
SLOTS = 16384
_BUS_OFFSET = 10000  # redis' default cluster bus port is the client port + 10000
_POLL = 0.05  # seconds between polls while waiting for the cluster to converge

INSTALL_HINT = (
    "install it with `sudo apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS), "
    f"or point {ENV_REDIS_SERVER} at a redis-server binary"
)


# --------------------------------------------------------------------------------------------- errors


class LauncherError(RuntimeError):
    """The local cluster could not be started, formed, or driven as asked."""


class RedisServerNotFound(LauncherError):
    """No ``redis-server`` binary was found. The message says how to install one."""


class CommandError(LauncherError):
    """A node answered a command with an error reply. ``code`` is its first word (``ERR``, ``MOVED``...)."""

    def __init__(self, message: str, node: str = "", command: str = "") -> None:
        super().__init__(f"{node}: {command}: {message}" if node else message)
        self.message = message
        self.code = message.split(" ", 1)[0] if message else ""
        self.node = node
        self.command = command


class NodeUnreachable(LauncherError, ConnectionError):
    """The node could not be reached, or the connection broke before the reply arrived."""

    def __init__(self, message: str, node: str = "") -> None:
        super().__init__(message)
        self.node = node


class NodeTimeout(NodeUnreachable, TimeoutError):
    """The node did not answer within the timeout (a paused node, for example)."""


# --------------------------------------------------------------------------------------------- RESP

_Arg = str | bytes | int | float


def _pack(args: Sequence[_Arg]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, bytes):
            b = a
        elif isinstance(a, str):
            b = a.encode()
        elif isinstance(a, (int, float)) and not isinstance(a, bool):
            b = repr(a).encode()
        else:
            raise TypeError(f"cannot send {type(a).__name__} to redis")
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class _Conn:
    """One blocking connection speaking RESP2: send one command, read one reply."""

    def __init__(
        self, host: str, port: int, timeout: float, ssl_context: ssl.SSLContext | None, password: str | None
    ) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if ssl_context is not None:
                sock = ssl_context.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        if password is not None:
            reply = self.call(("AUTH", password), timeout, decode=True)
            if isinstance(reply, hiredis.ReplyError):
                self.close()
                # The server's text ("WRONGPASS ...") never contains the password; the command does.
                raise CommandError(str(reply), f"{host}:{port}", "AUTH")

    def call(self, args: Sequence[_Arg], timeout: float, decode: bool) -> Any:
        deadline = time.monotonic() + timeout
        reader = hiredis.Reader(encoding="utf-8", errors="surrogateescape") if decode else hiredis.Reader()
        self.sock.settimeout(timeout)
        self.sock.sendall(_pack(args))
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("timed out")
            self.sock.settimeout(remaining)
            data = self.sock.recv(65536)
            if not data:
                raise OSError("connection closed by the server")
            reader.feed(data)
            reply = reader.gets()
            if reply is not False:
                return reply

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


# --------------------------------------------------------------------------------------------- nodes


@attrs.define(eq=False, repr=False)
class Node:
    """One ``redis-server`` process of a :class:`LocalCluster`.

    ``role`` and ``shard`` describe the node as the cluster was formed (``shard`` is the index of the master
    it was formed with); after a failover ask the cluster (``cluster.masters()``, ``cluster.role_of(node)``).
    ``port`` is the port clients connect to (the TLS port on a TLS cluster).
    """

    host: str
    port: int
    dir: Path
    index: int
    role: str
    shard: int
    tls: bool = False
    node_id: str = ""
    pid: int | None = None  # of the last process started for this node; kept after it exits
    _proc: subprocess.Popen | None = None
    _paused: bool = False

    @property
    def addr(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def bus_port(self) -> int:
        return self.port + _BUS_OFFSET

    @property
    def config_file(self) -> Path:
        return self.dir / "redis.conf"

    @property
    def log_file(self) -> Path:
        return self.dir / "redis.log"

    @property
    def paused(self) -> bool:
        return self._paused

    def is_alive(self) -> bool:
        """True while the process runs (a paused process is alive, just not answering)."""
        return self._proc is not None and self._proc.poll() is None

    def __repr__(self) -> str:
        state = "paused" if self._paused else "alive" if self.is_alive() else "down"
        return f"<Node {self.addr} {self.role} shard={self.shard} pid={self.pid} {state}>"


@attrs.frozen
class _Entry:
    """One line of ``CLUSTER NODES``."""

    node_id: str
    port: int
    flags: frozenset[str]
    master_id: str | None
    link: str
    slots: tuple[tuple[int, int], ...]

    @property
    def role(self) -> str:
        return "master" if "master" in self.flags else "replica" if "slave" in self.flags else "unknown"

    @property
    def failed(self) -> bool:
        return bool(self.flags & {"fail", "fail?", "handshake", "noaddr"})


def _parse_cluster_nodes(text: str) -> dict[str, _Entry]:
    entries = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 8:
            continue
        addr = parts[1].split(",", 1)[0].split("@", 1)[0]
        port = int(addr.rsplit(":", 1)[1] or 0)
        slots = []
        for tok in parts[8:]:
            if tok.startswith("["):  # "[slot->-id]" / "[slot-<-id]": a migration in progress, not ownership
                continue
            lo, _, hi = tok.partition("-")
            slots.append((int(lo), int(hi or lo)))
        entries[parts[0]] = _Entry(
            node_id=parts[0],
            port=port,
            flags=frozenset(parts[2].split(",")),
            master_id=None if parts[3] == "-" else parts[3],
            link=parts[7],
            slots=tuple(sorted(slots)),
        )
    return entries


def _slot_table(reply: list) -> tuple:
    """CLUSTER SLOTS, normalised so that the answers of two nodes compare equal when they agree."""
    rows = []
    for row in reply:
        start, end, master = row[0], row[1], row[2]
        replicas = frozenset(r[2] for r in row[3:])
        rows.append((int(start), int(end), master[2], replicas))
    return tuple(sorted(rows, key=lambda r: r[0]))


def _split_slots(masters: int) -> list[tuple[int, int]]:
    """Split 0..16383 evenly, exactly like ``redis-cli --cluster create`` (3 -> 0-5460, 5461-10922, ...)."""
    per = SLOTS / masters
    ranges, first, cursor = [], 0, 0.0
    for i in range(masters):
        last = round(cursor + per - 1)
        if last > SLOTS - 1 or i == masters - 1:
            last = SLOTS - 1
        ranges.append((first, last))
        first = last + 1
        cursor += per
    return ranges


# --------------------------------------------------------------------------------------------- helpers


def find_redis_server(explicit: str | os.PathLike | None = None) -> str:
    """The ``redis-server`` to run: ``explicit``, else ``$REDISCLUSTER_LITE_REDIS_SERVER``, else PATH."""
    for source, value in (("redis_server=", explicit), (ENV_REDIS_SERVER, os.environ.get(ENV_REDIS_SERVER))):
        if value:
            found = shutil.which(str(value))
            if found is None:
                raise RedisServerNotFound(f"{source} {str(value)!r} is not an executable redis-server; {INSTALL_HINT}")
            return found
    found = shutil.which("redis-server")
    if found is None:
        raise RedisServerNotFound(f"redis-server was not found on PATH; {INSTALL_HINT}")
    return found


def _server_version(path: str) -> tuple[int, int, int]:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise LauncherError(f"could not run {path} --version: {e}") from e
    m = re.search(r"v=(\d+)\.(\d+)\.(\d+)", out)
    if not m:
        raise LauncherError(f"{path} does not look like redis-server (--version said {out.strip()!r})")
    return int(m[1]), int(m[2]), int(m[3])


def _port_free(host: str, port: int, reuse: bool = False) -> bool:
    """Can we bind host:port? ``reuse=True`` binds like redis does (SO_REUSEADDR), so that connections
    left in TIME_WAIT by a node that just died do not count; without it they do, which only makes a
    freshly picked port more certainly free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        if reuse:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _port_range() -> tuple[int, int]:
    """A range where both a port and port+10000 stay below the kernel's ephemeral range."""
    lo_eph = 32768
    with contextlib.suppress(OSError, ValueError):
        lo_eph = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    lo, hi = 10000, lo_eph - _BUS_OFFSET - 1
    if hi - lo < 1000:  # odd ephemeral range: fall back to a high range and rely on the bind check
        lo, hi = 30000, 55000
    return lo, hi


def _pick_port(host: str, taken: set[int]) -> int:
    lo, hi = _port_range()
    for _ in range(500):
        p = random.randint(lo, hi)
        if p in taken or p + _BUS_OFFSET in taken or p - _BUS_OFFSET in taken:
            continue
        if _port_free(host, p) and _port_free(host, p + _BUS_OFFSET):
            return p
    raise LauncherError(f"no free port pair (port, port+{_BUS_OFFSET}) found on {host} in {lo}..{hi}")


def _quote(value: str) -> str:
    """A redis.conf string literal (sdssplitargs syntax)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# PR_SET_PDEATHSIG: the kernel SIGKILLs the node when the thread that started it dies, so a SIGKILLed
# pytest cannot leave servers behind. Looked up before any fork (ctypes in a forked child is fragile).
_prctl = None
if sys.platform.startswith("linux"):
    with contextlib.suppress(OSError, AttributeError):
        _prctl = ctypes.CDLL(None, use_errno=True).prctl


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if _prctl is not None:
        _prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 == PR_SET_PDEATHSIG


# --------------------------------------------------------------------------------------------- TLS


def _make_tls_files(directory: Path, host: str, use_openssl: bool = False) -> tuple[Path, Path, Path]:
    """A throwaway CA and one server certificate (for 127.0.0.1, localhost and ``host``). Returns ca, cert, key.

    The certificate also carries clientAuth: with ``tls-cluster yes`` the nodes present it to each other.
    """
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


def _san_names(host: str) -> tuple[list[str], list[str]]:
    ips, dns = ["127.0.0.1"], ["localhost"]
    try:
        ipaddress.ip_address(host)
        if host not in ips:
            ips.append(host)
    except ValueError:
        if host not in dns:
            dns.append(host)
    return ips, dns


def _make_tls_files_cryptography(ca_path: Path, cert_path: Path, key_path: Path, host: str) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    valid_from, valid_to = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)

    # P-256 rather than RSA: key generation and handshakes are much cheaper, which matters on every connect.
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rediscluster_lite test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_to)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    ips, dns = _san_names(host)
    sans: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    sans += [x509.DNSName(d) for d in dns]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_to)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)


def _make_tls_files_openssl(directory: Path, ca: Path, cert: Path, key: Path, host: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise LauncherError("tls=True needs the `cryptography` package or the `openssl` command")
    ips, dns = _san_names(host)
    ext = directory / "server.ext"
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
        "subjectAltName=" + ",".join([f"IP:{i}" for i in ips] + [f"DNS:{d}" for d in dns]) + "\n"
    )
    ca_key, csr = directory / "ca.key", directory / "server.csr"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    steps = [
        [
            openssl,
            "req",
            "-x509",
            *ec,
            "-keyout",
            ca_key,
            "-out",
            ca,
            "-days",
            "30",
            "-subj",
            "/CN=rediscluster_lite test CA",
        ],
        [openssl, "req", "-new", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"],
        [
            openssl,
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            ca,
            "-CAkey",
            ca_key,
            "-CAcreateserial",
            "-out",
            cert,
            "-days",
            "30",
            "-sha256",
            "-extfile",
            ext,
        ],
    ]
    for cmd in steps:
        r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise LauncherError(f"openssl failed making test certificates: {r.stderr.strip()[-500:]}")
    key.chmod(0o600)


# --------------------------------------------------------------------------------------------- cleanup

# Every started, not yet closed cluster. atexit and the signal handler close them.
_LIVE: set[LocalCluster] = set()
_LIVE_LOCK = threading.Lock()
_HANDLED_SIGNALS: dict[int, Any] = {}


def _close_all() -> None:
    with _LIVE_LOCK:
        clusters = list(_LIVE)
    for c in clusters:
        with contextlib.suppress(Exception):
            c.close()


atexit.register(_close_all)


def _on_fatal_signal(signum: int, frame: Any) -> None:
    # Kill the nodes without taking any lock (the interrupted code may hold it), then let the signal do
    # what it would have done without us.
    for c in list(_LIVE):
        c._kill_all_now()
        if c.data_dir is not None and not c.keep:
            shutil.rmtree(c.data_dir, ignore_errors=True)
    signal.signal(signum, _HANDLED_SIGNALS.get(signum, signal.SIG_DFL))
    os.kill(os.getpid(), signum)


def _install_signal_handlers() -> None:
    """On SIGTERM/SIGHUP (which skip atexit), kill our nodes first. Leaves any handler someone set alone."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is None or sig in _HANDLED_SIGNALS:
            continue
        current = signal.getsignal(sig)
        if current in (signal.SIG_DFL, None):
            _HANDLED_SIGNALS[sig] = signal.SIG_DFL
            signal.signal(sig, _on_fatal_signal)


# --------------------------------------------------------------------------------------------- cluster

NodeRef = Node | int | str | tuple


class LocalCluster:
    """A Redis Cluster of real ``redis-server`` processes on loopback.

    ``with LocalCluster() as cluster:`` starts 3 masters and 3 replicas on free ports and stops them all on
    exit. With ``base_port=6300`` masters use 6300.. and replicas 6400.. (the classic layout).

    Failover timing follows ``node_timeout_ms`` (1000 ms: a killed master's replica takes over in about
    2-3 s). Nodes run with ``cluster-replica-validity-factor 0`` (a replica may always take over) and
    ``cluster-migration-barrier 999`` (replicas never wander to another master), so chaos tests are
    predictable.
    """

    def __init__(
        self,
        masters: int = 3,
        replicas_per_master: int = 1,
        base_port: int | None = None,
        data_dir: str | os.PathLike | None = None,
        node_timeout_ms: int = 1000,
        appendonly: bool = False,
        tls: bool = False,
        password: str | None = None,
        host: str = "127.0.0.1",
        redis_server: str | os.PathLike | None = None,
        *,
        keep: bool = False,
        require_full_coverage: bool = True,
        start_timeout: float = 60.0,
        persistent: bool = False,
        extra_config: dict[str, str] | None = None,
    ) -> None:
        if masters < 1:
            raise ValueError("masters must be >= 1")
        if replicas_per_master < 0:
            raise ValueError("replicas_per_master must be >= 0")
        if base_port is not None:
            if masters > 100:
                raise ValueError("with base_port, at most 100 masters (replicas start at base_port+100)")
            top = base_port + 100 + masters * replicas_per_master
            if base_port < 1 or top + _BUS_OFFSET > 65535:
                raise ValueError(f"base_port {base_port}: ports and their +{_BUS_OFFSET} bus ports must fit")
        if password is not None and not password:
            raise ValueError("password must be non-empty (or None)")
        self.n_masters = masters
        self.replicas_per_master = replicas_per_master
        self.base_port = base_port
        self.node_timeout_ms = node_timeout_ms
        self.appendonly = appendonly
        self.tls = tls
        self.host = host
        self.keep = keep or persistent or data_dir is not None
        self.require_full_coverage = require_full_coverage
        self.start_timeout = start_timeout
        # persistent: the nodes outlive this Python process (CLI `cluster up`): no PDEATHSIG, no atexit kill.
        self.persistent = persistent
        self.extra_config = dict(extra_config or {})
        self._password = password
        self._redis_server_arg = redis_server
        self._data_dir_arg = Path(data_dir) if data_dir is not None else None

        self.nodes: list[Node] = []
        self.data_dir: Path | None = None
        self.ca_file: Path | None = None
        self.cert_file: Path | None = None
        self.key_file: Path | None = None
        self.redis_server: str | None = None
        self.redis_version: tuple[int, int, int] | None = None
        self.start_seconds: float | None = None  # how long start() took

        self._state = "new"  # new -> started -> closed
        self._lock = threading.RLock()
        self._conns: dict[int, list[_Conn]] = {}
        self._timers: dict[int, threading.Timer] = {}
        self._ssl_context: ssl.SSLContext | None = None
        self._no_chaos: str | None = None  # set by the pytest plugin on the shared session cluster
        # Last seen slots of each master and master of each replica (by node id), so that
        # wait_for_failover() knows what the dead master owned.
        self._known_slots: dict[str, tuple[tuple[int, int], ...]] = {}
        self._known_master: dict[str, str | None] = {}

    # ------------------------------------------------------------------ public properties

    @property
    def password(self) -> str | None:
        return self._password

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        return [(n.host, n.port) for n in self.nodes]

    @property
    def ports(self) -> list[int]:
        return [n.port for n in self.nodes]

    def __repr__(self) -> str:
        ports = ",".join(str(p) for p in self.ports) or "-"
        extra = (" tls" if self.tls else "") + (" auth" if self._password else "")
        return (
            f"<LocalCluster {self.n_masters}x{self.replicas_per_master} {self.host} ports={ports} {self._state}{extra}>"
        )

    def __enter__(self) -> LocalCluster:
        if self._state == "new":
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def node(self, ref: NodeRef) -> Node:
        """Look a node up by port, ``"host:port"``, ``(host, port)``, node id or the Node itself."""
        if isinstance(ref, Node):
            if ref not in self.nodes:
                raise LauncherError(f"{ref!r} is not a node of this cluster")
            return ref
        port: int | None = None
        if isinstance(ref, tuple):
            port = int(ref[1])
        elif isinstance(ref, int):
            port = ref
        elif isinstance(ref, str):
            if ref.isdigit():
                port = int(ref)
            elif ":" in ref:
                port = int(ref.rsplit(":", 1)[1])
            else:
                for n in self.nodes:
                    if n.node_id and n.node_id == ref:
                        return n
        for n in self.nodes:
            if n.port == port:
                return n
        raise LauncherError(f"no node {ref!r} in this cluster (ports {self.ports})")

    def client_ssl_context(self) -> ssl.SSLContext:
        """An SSLContext that verifies the nodes' certificates against this cluster's throwaway CA."""
        if not self.tls or self.ca_file is None:
            raise LauncherError("not a TLS cluster (start it with tls=True)")
        return ssl.create_default_context(cafile=str(self.ca_file))

    # ------------------------------------------------------------------ start / close

    def start(self) -> LocalCluster:
        """Start the processes, form the cluster and wait until it is fully ready. Returns self."""
        with self._lock:
            if self._state != "new":
                raise LauncherError(f"cannot start a cluster that is {self._state}")
            self._state = "started"
        t0 = time.monotonic()
        deadline = t0 + self.start_timeout
        if not self.persistent:
            with _LIVE_LOCK:
                _LIVE.add(self)
            _install_signal_handlers()
        try:
            self.redis_server = find_redis_server(self._redis_server_arg)
            self.redis_version = _server_version(self.redis_server)
            if self.redis_version < (6, 0, 0):
                raise LauncherError(f"redis-server {self.redis_version} is too old: Redis >= 6.0 is needed")
            self._make_data_dir()
            if self.tls:
                assert self.data_dir is not None
                self.ca_file, self.cert_file, self.key_file = _make_tls_files(self.data_dir / "tls", self.host)
                self._ssl_context = self.client_ssl_context()
            self._plan_nodes()
            for n in self.nodes:
                self._write_config(n)
                self._spawn(n)
            for n in self.nodes:
                self._await_boot(n, deadline, may_move=self.base_port is None)
            self._write_state()
            self._form(deadline)
            self._write_state()
            self._snapshot()
        except BaseException:
            self.close()
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def close(self) -> None:
        """Kill every process this cluster started, reap them, and remove the temp dir. Idempotent."""
        with self._lock:
            if self._state == "closed":
                return
            self._state = "closed"
            for t in self._timers.values():
                t.cancel()
            self._timers.clear()
            for conns in self._conns.values():
                for c in conns:
                    c.close()
            self._conns.clear()
        self._kill_all_now()
        for n in self.nodes:
            n._paused = False
            if n._proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    n._proc.wait(timeout=10)
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if self.data_dir is not None and not self.keep:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def _kill_all_now(self) -> None:
        # Lock-free and quick: also called from the signal handler. SIGKILL works on stopped processes too.
        for n in self.nodes:
            p = n._proc
            if p is not None and p.returncode is None:
                with contextlib.suppress(OSError):
                    p.kill()
                with contextlib.suppress(Exception):
                    p.wait(timeout=5)

    def _make_data_dir(self) -> None:
        if self._data_dir_arg is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="rediscluster-lite-"))
            return
        d = self._data_dir_arg.resolve()
        d.mkdir(parents=True, exist_ok=True)
        leftovers = sorted(d.glob("node-*/nodes.conf"))
        if leftovers:
            # Old nodes.conf files would make the nodes rejoin their old cluster: refuse rather than delete.
            raise LauncherError(f"{d} already holds a cluster ({leftovers[0]}); use an empty data_dir")
        self.data_dir = d

    def _plan_nodes(self) -> None:
        assert self.data_dir is not None
        m, r = self.n_masters, self.replicas_per_master
        taken: set[int] = set()
        ports: list[int] = []
        for i in range(m * (r + 1)):
            if self.base_port is None:
                p = _pick_port(self.host, taken)
            else:
                p = self.base_port + i if i < m else self.base_port + 100 + (i - m)
                for q in (p, p + _BUS_OFFSET):
                    if not _port_free(self.host, q, reuse=True):
                        raise LauncherError(f"port {self.host}:{q} is in use; choose another base_port")
            taken.add(p)
            ports.append(p)
        for i, p in enumerate(ports):
            # replica k (k = i - m) belongs to master k % m: with base_port 6300, 6400 -> 6300, 6401 -> 6301
            shard = i if i < m else (i - m) % m
            d = self.data_dir / f"node-{p}"
            d.mkdir()
            self.nodes.append(
                Node(
                    host=self.host,
                    port=p,
                    dir=d,
                    index=i,
                    role="master" if i < m else "replica",
                    shard=shard,
                    tls=self.tls,
                )
            )

    def _write_config(self, n: Node) -> None:
        assert self.redis_version is not None
        conf: list[tuple[str, str]] = [
            ("bind", n.host),
            ("protected-mode", "no"),
            ("daemonize", "no"),
            ("dir", _quote(str(n.dir))),
            ("logfile", _quote(str(n.log_file))),
            ("loglevel", "notice"),
            ("save", '""'),
            ("dbfilename", "dump.rdb"),
            ("appendonly", "yes" if self.appendonly else "no"),
            ("cluster-enabled", "yes"),
            ("cluster-config-file", "nodes.conf"),
            ("cluster-node-timeout", str(self.node_timeout_ms)),
            ("cluster-require-full-coverage", "yes" if self.require_full_coverage else "no"),
            # Predictable chaos: a replica may always take over, and replicas never migrate.
            ("cluster-replica-validity-factor", "0"),
            ("cluster-migration-barrier", "999"),
            # Full syncs straight over the socket, without the default 5 s wait for more replicas.
            ("repl-diskless-sync", "yes"),
            ("repl-diskless-sync-delay", "0"),
        ]
        if self.redis_version >= (7, 0, 0):
            conf += [("enable-debug-command", "local"), ("shutdown-timeout", "3")]
        if self.tls:
            conf += [
                ("port", "0"),
                ("tls-port", str(n.port)),
                ("tls-cert-file", _quote(str(self.cert_file))),
                ("tls-key-file", _quote(str(self.key_file))),
                ("tls-ca-cert-file", _quote(str(self.ca_file))),
                ("tls-cluster", "yes"),
                ("tls-replication", "yes"),
                ("tls-auth-clients", "optional"),
            ]
        else:
            conf.append(("port", str(n.port)))
        if self._password is not None:
            conf += [("requirepass", _quote(self._password)), ("masterauth", _quote(self._password))]
        conf += list(self.extra_config.items())
        text = "# written by rediscluster_lite.local\n" + "".join(f"{k} {v}\n" for k, v in conf)
        fd = os.open(n.config_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)

    def _spawn(self, n: Node) -> None:
        assert self.redis_server is not None
        guard = (
            not self.persistent
            and _prctl is not None
            and threading.current_thread() is threading.main_thread()  # PDEATHSIG follows the thread
        )
        with open(n.dir / "stdout.log", "ab") as out:
            proc = subprocess.Popen(
                [self.redis_server, str(n.config_file)],
                cwd=n.dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                close_fds=True,
                start_new_session=True,  # a terminal's Ctrl-C reaches us, not the nodes; we stop them
                preexec_fn=_die_with_parent if guard else None,
            )
        n._proc, n.pid, n._paused = proc, proc.pid, False

    def _boot_failure(self, n: Node) -> str:
        text = (_tail(n.log_file) + "\n" + _tail(n.dir / "stdout.log")).strip()
        return self._redact(text)

    def _redact(self, text: str) -> str:
        if self._password:
            text = text.replace(self._password, "***")
        return text

    def _await_boot(self, n: Node, deadline: float, may_move: bool) -> None:
        """Wait until the node's own process answers PING. If its port was taken meanwhile, move it."""
        moves = 0
        while True:
            assert n._proc is not None
            if n._proc.poll() is not None:
                log = self._boot_failure(n)
                if may_move and "in use" in log and moves < 5:
                    moves += 1
                    self._move_port(n)
                    continue
                raise LauncherError(
                    f"redis-server for {n.addr} exited with status {n._proc.returncode} at startup"
                    f" (logs in {n.dir}):\n{log}"
                )
            try:
                if self._call(n, "PING", timeout=1.0) == "PONG":
                    info = info_fields(self._call(n, "INFO", "server", timeout=2.0))
                    if info.get("process_id") == str(n._proc.pid):
                        return
                    # Another process answers on our port: ours will fail to bind and exit shortly.
                    self._drop_conns(n)
            except CommandError as e:
                if e.code not in ("LOADING", "NOAUTH", "WRONGPASS", "BUSY"):
                    raise
            except NodeUnreachable:
                pass
            if time.monotonic() > deadline:
                raise LauncherError(f"{n.addr} did not answer PING in time (logs in {n.dir})")
            time.sleep(0.02)

    def _move_port(self, n: Node) -> None:
        assert self.data_dir is not None
        taken = {x.port for x in self.nodes}
        p = _pick_port(self.host, taken)
        old_dir = n.dir
        n.port, n.dir = p, self.data_dir / f"node-{p}"
        n.dir.mkdir()
        shutil.rmtree(old_dir, ignore_errors=True)
        self._write_config(n)
        self._spawn(n)

    def _form(self, deadline: float) -> None:
        nodes, m = self.nodes, self.n_masters
        masters = nodes[:m]
        for n in nodes:
            n.node_id = self._call(n, "CLUSTER", "MYID")
        # Distinct epochs up front (as redis-cli does) spare the cluster its epoch-collision dance.
        for i, n in enumerate(nodes):
            self._call(n, "CLUSTER", "SET-CONFIG-EPOCH", i + 1)
        for n, (lo, hi) in zip(masters, _split_slots(m), strict=True):
            if self.redis_version and self.redis_version >= (7, 0, 0):
                self._call(n, "CLUSTER", "ADDSLOTSRANGE", lo, hi)
            else:
                self._call(n, "CLUSTER", "ADDSLOTS", *range(lo, hi + 1))
        # Gossip paces itself by the node timeout: form with a short one, then restore the configured one
        # (the config files hold the configured value, so restarts use it).
        fast = min(self.node_timeout_ms, 1000)
        if fast != self.node_timeout_ms:
            for n in nodes:
                self._call(n, "CONFIG", "SET", "cluster-node-timeout", fast)
        # Every pair meets directly (one direction suffices) instead of waiting for gossip to spread them.
        for i, a in enumerate(nodes):
            for b in nodes[i + 1 :]:
                self._call(a, "CLUSTER", "MEET", b.host, b.port)
        self._wait(deadline, self._handshake_problem, "nodes did not all meet")
        for n in nodes[m:]:
            self._call(n, "CLUSTER", "REPLICATE", masters[n.shard].node_id)
        if nodes[m:]:
            self._wait(deadline, self._link_problem, "replicas did not sync")
            # Redis 7 leaves a replica out of CLUSTER SLOTS while its replication offset is 0, and on an
            # idle master the offset only moves with the PING it sends every 10 s. A FLUSHALL of the (new,
            # empty) masters puts a first command into the replication stream, so it moves at once.
            for n in masters:
                self._call(n, "FLUSHALL")
        self._wait(deadline, lambda: self._stability_problem(expect_replicas=True), "cluster did not converge")
        if fast != self.node_timeout_ms:
            for n in nodes:
                self._call(n, "CONFIG", "SET", "cluster-node-timeout", self.node_timeout_ms)

    def _link_problem(self) -> str | None:
        for n in self.nodes[self.n_masters :]:
            rep = info_fields(self._call(n, "INFO", "replication", timeout=2.0))
            if rep.get("master_link_status") != "up":
                return f"replica {n.addr} has no master link yet"
        return None

    def _handshake_problem(self) -> str | None:
        want = len(self.nodes)
        for n in self.nodes:
            view = _parse_cluster_nodes(self._call(n, "CLUSTER", "NODES", timeout=2.0))
            if len(view) != want:
                return f"{n.addr} knows {len(view)} of {want} nodes"
            bad = [e for e in view.values() if e.flags & {"handshake", "noaddr"}]
            if bad:
                return f"{n.addr} still in handshake with {len(bad)} nodes"
        return None

    def _write_state(self) -> None:
        """cluster.json in the data dir: ports, pids and dirs, for people (and the CLI) to inspect."""
        if self.data_dir is None:
            return
        state = {
            "masters": self.n_masters,
            "replicas_per_master": self.replicas_per_master,
            "host": self.host,
            "tls": self.tls,
            "auth": self._password is not None,
            "ca_file": str(self.ca_file) if self.ca_file else None,
            "launcher_pid": os.getpid(),
            "nodes": [
                {
                    "port": n.port,
                    "pid": n.pid,
                    "dir": str(n.dir),
                    "role": n.role,
                    "shard": n.shard,
                    "node_id": n.node_id,
                }
                for n in self.nodes
            ],
        }
        with contextlib.suppress(OSError):
            (self.data_dir / "cluster.json").write_text(json.dumps(state, indent=2) + "\n")

    # ------------------------------------------------------------------ raw access

    def command(self, node: NodeRef, *args: _Arg, timeout: float = 5.0, decode: bool = True) -> Any:
        """Send one command to one node and return the hiredis reply (``str`` when ``decode``, else bytes).

        An error reply raises :class:`CommandError`; an unreachable or silent node raises
        :class:`NodeUnreachable` / :class:`NodeTimeout`.
        """
        if not args:
            raise ValueError("no command given")
        return self._call(self.node(node), *args, timeout=timeout, decode=decode)

    def _call(self, n: Node, *args: _Arg, timeout: float = 5.0, decode: bool = True) -> Any:
        name = str(args[0]).upper() if not isinstance(args[0], bytes) else args[0].decode(errors="replace")
        with self._lock:
            pool = self._conns.get(n.port)
            conn = pool.pop() if pool else None
        try:
            if conn is None:
                conn = _Conn(n.host, n.port, timeout, self._ssl_context, self._password)
            reply = conn.call(args, timeout, decode)
        except CommandError:
            raise
        except TimeoutError as e:
            if conn is not None:
                conn.close()
            raise NodeTimeout(f"{n.addr}: {name}: no reply within {timeout}s", n.addr) from e
        except (OSError, ssl.SSLError, hiredis.ProtocolError) as e:
            if conn is not None:
                conn.close()
            raise NodeUnreachable(f"{n.addr}: {name}: {type(e).__name__}: {self._redact(str(e))}", n.addr) from e
        with self._lock:
            if self._state == "closed":
                conn.close()
            else:
                self._conns.setdefault(n.port, []).append(conn)
        if isinstance(reply, hiredis.ReplyError):
            raise CommandError(str(reply), n.addr, name)
        return reply

    def _drop_conns(self, n: Node) -> None:
        with self._lock:
            for c in self._conns.pop(n.port, []):
                c.close()

    def info(self, node: NodeRef, section: str | None = None) -> dict[str, str]:
        """``INFO [section]`` of one node, as a dict of strings."""
        args = ("INFO", section) if section else ("INFO",)
        return info_fields(self.command(node, *args))

    def cluster_info(self, node: NodeRef) -> dict[str, str]:
        return info_fields(self.command(node, "CLUSTER", "INFO"))

    def keyslot(self, key: str | bytes) -> int:
        """The key's slot, as the server computes it (``CLUSTER KEYSLOT``)."""
        return int(self._ask_any("CLUSTER", "KEYSLOT", key))

    # ------------------------------------------------------------------ live view

    def _reachable(self) -> list[Node]:
        """Nodes whose process runs and is not paused: the ones worth asking."""
        return [n for n in self.nodes if n.is_alive() and not n._paused]

    def _ask_any(self, *args: _Arg, timeout: float = 2.0) -> Any:
        errors = []
        for n in self._reachable():
            try:
                return self._call(n, *args, timeout=timeout)
            except NodeUnreachable as e:
                errors.append(str(e))
        raise LauncherError("no node answered: " + ("; ".join(errors) or "all nodes are down or paused"))

    def _view(self, node: Node | None = None) -> dict[str, _Entry]:
        text = self._call(node, "CLUSTER", "NODES", timeout=2.0) if node else self._ask_any("CLUSTER", "NODES")
        view = _parse_cluster_nodes(text)
        self._remember(view)
        return view

    def _remember(self, view: dict[str, _Entry]) -> None:
        for e in view.values():
            if e.failed:
                continue
            if e.role == "master" and e.slots:
                self._known_slots[e.node_id] = e.slots
            elif e.role == "replica":
                self._known_slots.pop(e.node_id, None)
            self._known_master[e.node_id] = e.master_id if e.role == "replica" else None

    def _snapshot(self) -> None:
        """Record who owns what right before a node goes down (for wait_for_failover)."""
        with contextlib.suppress(LauncherError):
            self._view()

    def _by_id(self, node_id: str | None) -> Node | None:
        for n in self.nodes:
            if n.node_id == node_id:
                return n
        return None

    def _live_entries(self) -> list[tuple[Node, _Entry]]:
        out = []
        for e in self._view().values():
            n = self._by_id(e.node_id)
            if n is not None and n.is_alive() and "fail" not in e.flags:
                out.append((n, e))
        return out

    def masters(self) -> list[Node]:
        """The nodes serving as masters now (asked of a live node), ordered by their first slot.

        Failed masters (killed, or flagged ``fail``) are left out.
        """
        entries = [(n, e) for n, e in self._live_entries() if e.role == "master"]
        entries.sort(key=lambda ne: (ne[1].slots[0][0] if ne[1].slots else SLOTS, ne[0].port))
        return [n for n, _ in entries]

    def replicas(self) -> list[Node]:
        """The nodes serving as replicas now, ordered by their master's first slot."""
        order = {n.node_id: i for i, n in enumerate(self.masters())}
        entries = [(n, e) for n, e in self._live_entries() if e.role == "replica"]
        entries.sort(key=lambda ne: (order.get(ne[1].master_id or "", len(order)), ne[0].port))
        return [n for n, _ in entries]

    def replicas_of(self, master: NodeRef) -> list[Node]:
        """The live replicas of ``master`` now."""
        m = self.node(master)
        return sorted(
            (n for n, e in self._live_entries() if e.role == "replica" and e.master_id == m.node_id),
            key=lambda n: n.port,
        )

    def role_of(self, node: NodeRef) -> str:
        """``"master"`` or ``"replica"``, as a live node sees ``node`` now."""
        n = self.node(node)
        e = self._view().get(n.node_id)
        if e is None:
            raise LauncherError(f"{n.addr} is not known to the cluster")
        return e.role

    def master_of_slot(self, slot: int) -> Node:
        """The node that owns ``slot`` now, as a live node sees it."""
        if not 0 <= slot < SLOTS:
            raise ValueError(f"slot {slot} is out of range 0..{SLOTS - 1}")
        for e in self._view().values():
            if "master" in e.flags and any(lo <= slot <= hi for lo, hi in e.slots):
                n = self._by_id(e.node_id)
                if n is not None:
                    return n
        raise LauncherError(f"no node owns slot {slot}")

    # ------------------------------------------------------------------ waiting

    def _wait(self, deadline: float, problem: Any, what: str) -> None:
        last = "?"
        while True:
            try:
                p = problem()
            except LauncherError as e:  # a node still restarting, a reply error mid-reconfiguration...
                p = str(e)
            if p is None:
                return
            last = p
            if time.monotonic() > deadline:
                raise LauncherError(f"{what} in time: {last}")
            time.sleep(_POLL)

    def _stability_problem(self, expect_replicas: bool = False) -> str | None:
        live = self._reachable()
        if not live:
            return "no node is running"
        tables = {}
        for n in live:
            state = info_fields(self._call(n, "CLUSTER", "INFO", timeout=2.0)).get("cluster_state")
            if state != "ok":
                return f"{n.addr} says cluster_state:{state}"
            tables[n.port] = _slot_table(self._call(n, "CLUSTER", "SLOTS", timeout=2.0))
        first = tables[live[0].port]
        for port, t in tables.items():
            if t != first:
                return f"{self.host}:{port} disagrees with {live[0].addr} on CLUSTER SLOTS"
        if sum(hi - lo + 1 for lo, hi, _, _ in first) != SLOTS and self.require_full_coverage:
            return "not all slots are covered"
        for _lo, _hi, master_id, replica_ids in first:
            if expect_replicas and len(replica_ids) < self.replicas_per_master:
                return f"master {master_id[:8]} has {len(replica_ids)} replicas in CLUSTER SLOTS"
            master = self._by_id(master_id)
            if master is None or master not in live:
                continue
            online = 0
            for rid in replica_ids:
                r = self._by_id(rid)
                if r is None or r not in live:
                    continue
                rep = info_fields(self._call(r, "INFO", "replication", timeout=2.0))
                if rep.get("master_link_status") != "up" or rep.get("master_sync_in_progress") != "0":
                    return f"replica {r.addr} is not in sync with its master yet"
                online += 1
            minfo = info_fields(self._call(master, "INFO", "replication", timeout=2.0))
            states = [v for k, v in minfo.items() if re.fullmatch(r"slave\d+", k)]
            if sum("state=online" in s for s in states) < online:
                return f"master {master.addr} does not list all its replicas as online yet"
        return None

    def wait_for_stable(self, timeout: float = 30.0) -> None:
        """Wait until every running node says ok, all agree on CLUSTER SLOTS and live replicas are in sync."""
        self._wait(time.monotonic() + timeout, self._stability_problem, f"cluster not stable after {timeout}s")

    def wait_for_state(self, state: str = "ok", timeout: float = 30.0) -> None:
        """Wait until every running (not paused) node reports ``cluster_state:<state>``."""
        if state not in ("ok", "fail"):
            raise ValueError("state must be 'ok' or 'fail'")

        def problem() -> str | None:
            live = self._reachable()
            if not live:
                return "no node is running"
            for n in live:
                got = info_fields(self._call(n, "CLUSTER", "INFO", timeout=2.0)).get("cluster_state")
                if got != state:
                    return f"{n.addr} says cluster_state:{got}"
            return None

        self._wait(time.monotonic() + timeout, problem, f"cluster_state:{state} not reached after {timeout}s")

    def wait_for_failover(self, old_master: NodeRef, timeout: float = 30.0) -> Node:
        """Wait until another node (normally a former replica of ``old_master``) is a master owning all of
        ``old_master``'s slots, as seen from every running node, and those nodes say ``cluster_state:ok``.
        Returns the promoted node.
        """
        old = self.node(old_master)
        slots = self._known_slots.get(old.node_id)
        if not slots:
            raise LauncherError(f"{old.addr} was not seen as a master owning slots")
        candidates = {nid for nid, mid in self._known_master.items() if mid == old.node_id}
        found: list[Node] = []

        def problem() -> str | None:
            live = self._reachable()
            if not live:
                return "no node is running"
            owner_ids = set()
            for n in live:
                if n is old:
                    continue  # a demoted old master may lag behind; the others decide
                view = _parse_cluster_nodes(self._call(n, "CLUSTER", "NODES", timeout=2.0))
                owners = {
                    e.node_id
                    for e in view.values()
                    for lo, hi in slots
                    if "master" in e.flags and "fail" not in e.flags and any(a <= lo and hi <= b for a, b in e.slots)
                }
                if len(owners) != 1:
                    return f"{n.addr} does not yet see one live owner of {old.addr}'s slots"
                owner_ids |= owners
                state = info_fields(self._call(n, "CLUSTER", "INFO", timeout=2.0)).get("cluster_state")
                if state != "ok":
                    return f"{n.addr} says cluster_state:{state}"
            if len(owner_ids) != 1:
                return "nodes disagree on who took over"
            (owner,) = owner_ids
            if owner == old.node_id:
                return f"{old.addr} still owns its slots"
            if candidates and owner not in candidates:
                return f"slots went to {owner[:8]}, not a replica of {old.addr}"
            promoted = self._by_id(owner)
            if promoted is None:
                return "slots went to a node this launcher does not know"
            found[:] = [promoted]
            return None

        self._wait(time.monotonic() + timeout, problem, f"no failover of {old.addr} after {timeout}s")
        self._snapshot()
        return found[0]

    # ------------------------------------------------------------------ chaos

    def _chaos(self, node: NodeRef) -> Node:
        if self._no_chaos:
            raise LauncherError(self._no_chaos)
        if self._state != "started":
            raise LauncherError(f"the cluster is {self._state}")
        return self.node(node)

    def _cancel_timer(self, n: Node) -> None:
        with self._lock:
            t = self._timers.pop(n.port, None)
        if t is not None:
            t.cancel()

    def kill(self, node: NodeRef) -> None:
        """SIGKILL the node and reap it. Its dir and nodes.conf stay, so :meth:`restart` can bring it back."""
        n = self._chaos(node)
        self._snapshot()
        self._cancel_timer(n)
        if n._proc is not None and n.is_alive():
            n._proc.kill()
            n._proc.wait()
        n._paused = False
        self._drop_conns(n)

    def stop(self, node: NodeRef, timeout: float = 15.0) -> None:
        """Stop the node cleanly (SIGTERM: redis flushes the AOF and exits); SIGKILL if it takes too long."""
        n = self._chaos(node)
        self._snapshot()
        self._cancel_timer(n)
        self._drop_conns(n)
        p = n._proc
        if p is None or not n.is_alive():
            return
        p.terminate()
        if n._paused:
            p.send_signal(signal.SIGCONT)  # a stopped process only acts on SIGTERM once it runs again
            n._paused = False
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def restart(self, node: NodeRef, timeout: float = 30.0) -> None:
        """Start the node again from its own dir and nodes.conf (stopping it first if it runs), so it keeps
        its node id and rejoins with the role the cluster gives it. Waits until it answers PING and has
        rejoined: the running nodes no longer flag it as failed and agree with it on CLUSTER SLOTS, and it
        says ``cluster_state:ok`` (unless no running node does). A replica also waits for its master link.
        """
        n = self._chaos(node)
        if n.is_alive():
            self.stop(n)
        self._drop_conns(n)
        deadline = time.monotonic() + timeout
        for q in (n.port, n.bus_port):
            if not _port_free(n.host, q, reuse=True):
                time.sleep(0.2)  # give the kernel a moment to release the old socket
                if not _port_free(n.host, q, reuse=True):
                    raise LauncherError(f"cannot restart {n.addr}: port {q} is now in use by another process")
        self._spawn(n)
        self._await_boot(n, deadline, may_move=False)
        self._write_state()
        self._wait(deadline, lambda: self._rejoin_problem(n), f"{n.addr} did not rejoin")

    def _rejoin_problem(self, n: Node) -> str | None:
        own_view = _parse_cluster_nodes(self._call(n, "CLUSTER", "NODES", timeout=2.0))
        if any(e.flags & {"handshake", "noaddr"} for e in own_view.values()):
            return f"{n.addr} is still in handshake"
        own_table = _slot_table(self._call(n, "CLUSTER", "SLOTS", timeout=2.0))
        own_owners = [(lo, hi, m) for lo, hi, m, _ in own_table]
        any_ok = False
        for peer in self._reachable():
            if peer is n:
                continue
            e = _parse_cluster_nodes(self._call(peer, "CLUSTER", "NODES", timeout=2.0)).get(n.node_id)
            if e is None or e.flags & {"fail", "fail?", "handshake", "noaddr"}:
                return f"{peer.addr} still sees {n.addr} as failed"
            peer_owners = [(lo, hi, m) for lo, hi, m, _ in _slot_table(self._call(peer, "CLUSTER", "SLOTS"))]
            if peer_owners != own_owners:
                return f"{n.addr} and {peer.addr} disagree on the slot owners"
            any_ok |= info_fields(self._call(peer, "CLUSTER", "INFO")).get("cluster_state") == "ok"
        if any_ok and info_fields(self._call(n, "CLUSTER", "INFO")).get("cluster_state") != "ok":
            return f"{n.addr} does not say cluster_state:ok yet"
        me = own_view.get(n.node_id)
        if me is not None and me.role == "replica":
            master = self._by_id(me.master_id)
            if master is not None and master.is_alive() and not master._paused:
                rep = info_fields(self._call(n, "INFO", "replication"))
                if rep.get("master_link_status") != "up" or rep.get("master_sync_in_progress") != "0":
                    return f"{n.addr} is not in sync with its master yet"
        self._remember(own_view)
        return None

    def pause(self, node: NodeRef, seconds: float | None) -> None:
        """SIGSTOP the node: it keeps its sockets but answers nothing. It gets SIGCONT after ``seconds``
        (from a timer thread; this call returns at once), or at :meth:`resume` when ``seconds`` is None.
        """
        n = self._chaos(node)
        if n._proc is None or not n.is_alive():
            raise LauncherError(f"{n.addr} is not running")
        self._snapshot()
        self._cancel_timer(n)
        self._drop_conns(n)
        n._proc.send_signal(signal.SIGSTOP)
        n._paused = True
        if seconds is not None:
            t = threading.Timer(seconds, self._resume_from_timer, args=(n, n._proc))
            t.daemon = True
            with self._lock:
                self._timers[n.port] = t
            t.start()

    def _resume_from_timer(self, n: Node, proc: subprocess.Popen) -> None:
        with self._lock:
            self._timers.pop(n.port, None)
            if n._proc is proc and proc.returncode is None and self._state == "started":
                with contextlib.suppress(OSError):
                    proc.send_signal(signal.SIGCONT)
                n._paused = False

    def resume(self, node: NodeRef) -> None:
        """SIGCONT a paused node now."""
        n = self.node(node)
        self._cancel_timer(n)
        if n._proc is not None and n.is_alive():
            n._proc.send_signal(signal.SIGCONT)
        n._paused = False
