"""A real, throw-away PostgreSQL server for the tests marked ``postgres``.

Debian's server binaries (``apt-get install -y postgresql``) are run directly: ``initdb`` into
a fresh temporary directory, then ``postgres`` on 127.0.0.1 and a free port, its unix socket
inside that directory. Two ways in:

* the superuser ``postgres``, without a password, over the unix socket only (set-up: roles,
  databases);
* the user ``trakt`` with :data:`PASSWORD`, over TCP with ``scram-sha-256`` (what the code under
  test uses, so authentication is real).

initdb and postgres refuse to run as root, so under root both run as the ``postgres`` system
user (``nobody`` where it does not exist), the temporary directory handed to it. The server runs
in its own session; :meth:`PostgresServer.stop` ends it by its PID (fast shutdown, then
harder) and kills by PID any of its processes left (found by their working directory, the data
dir), so no process outlives the tests.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUPERUSER = "postgres"
USER = "trakt"
PASSWORD = "trakt-test-pw"  # known on purpose: authentication tests use it (and a wrong one)
DBNAME = "trakt"
HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
INSTALL_HINT = (
    "install the PostgreSQL server: `apt-get install -y --no-install-recommends postgresql` "
    "(Debian/Ubuntu; .ci/run does it), or point TRAKT_PG_BIN at a directory holding initdb "
    "and postgres; `make test-fast` runs without it (-m 'not postgres')"
)

_names = itertools.count()


class PostgresUnavailable(RuntimeError):
    """The server binaries are missing or the server would not start."""


def find_bindir() -> Path:
    """The directory of ``initdb`` and ``postgres``: $TRAKT_PG_BIN, else Debian's newest
    ``/usr/lib/postgresql/<version>/bin``, else the one on PATH."""
    wanted = os.environ.get("TRAKT_PG_BIN")
    candidates: list[Path] = []
    if wanted:
        candidates.append(Path(wanted))
    else:
        # Several major versions may be installed side by side: the newest wins.
        found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
        versions = sorted(found, key=lambda p: _version_key(Path(p).parent.parent.name))
        candidates += [Path(p).parent for p in reversed(versions)]
        on_path = shutil.which("initdb")
        if on_path:
            candidates.append(Path(on_path).parent)
    for bindir in candidates:
        if all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "postgres")):
            return bindir
    where = f"TRAKT_PG_BIN={wanted}" if wanted else "/usr/lib/postgresql/*/bin or PATH"
    raise PostgresUnavailable(
        f"PostgreSQL server binaries (initdb, postgres) not found in {where}; {INSTALL_HINT}"
    )


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", name)) or (0,)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now (the server retries if it is taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _run_as() -> pwd.struct_passwd | None:
    """The unprivileged account the server runs as under root; None when not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise PostgresUnavailable("running as root and neither a 'postgres' nor a 'nobody' user")


def _chown_tree(root: Path, account: pwd.struct_passwd | None) -> None:
    if account is None:
        return
    for path in [root, *root.rglob("*")]:
        os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name; None if no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone (or never was)
        return None
    # The command name may hold spaces and parentheses: the fields start after its last ")".
    return text[text.rindex(")") + 2 :].split()


def children(pid: int) -> list[int]:
    """PIDs of the live children of ``pid`` (from /proc)."""
    found = []
    for entry in glob.glob("/proc/[0-9]*"):
        child = int(entry.rsplit("/", 1)[1])
        fields = _stat(child)
        if fields and fields[0] != "Z" and int(fields[1]) == pid:
            found.append(child)
    return found


def working_in(directory: Path) -> list[int]:
    """PIDs of the live processes whose working directory is ``directory``: every process of
    a server has its data dir as working directory, even once its postmaster is gone."""
    found = []
    for entry in glob.glob("/proc/[0-9]*"):
        try:
            cwd = os.readlink(f"{entry}/cwd")
        except OSError:  # gone, or not ours to look at
            continue
        pid = int(entry.rsplit("/", 1)[1])
        if cwd == str(directory) and pid_alive(pid):
            found.append(pid)
    return found


def pid_alive(pid: int) -> bool:
    """Whether a process (not a zombie) with this PID exists."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


@dataclass
class PostgresServer:
    """A running server; :meth:`start` makes one, :meth:`stop` ends it and removes its files."""

    root: Path
    bindir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    host: str = HOST
    user: str = USER
    password: str = PASSWORD
    dbname: str = DBNAME
    superuser: str = SUPERUSER
    _created: list[str] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def pid(self) -> int:
        """The postmaster's PID."""
        assert self.process is not None, "server not started"
        return self.process.pid

    @property
    def url(self) -> str:
        """``postgresql://trakt:<password>@127.0.0.1:<port>/trakt``."""
        return self.url_for(self.dbname)

    def url_for(self, dbname: str, *, password: str | None = None, driver: str = "") -> str:
        """The URL of ``dbname`` as ``trakt``; ``driver="psycopg"`` gives SQLAlchemy's
        ``postgresql+psycopg://`` (plain ``postgresql://`` means psycopg2 to SQLAlchemy)."""
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        secret = self.password if password is None else password
        return f"{scheme}://{self.user}:{secret}@{self.host}:{self.port}/{dbname}"

    @property
    def version(self) -> str:
        """The server's major version, as ``PG_VERSION`` in the data dir says."""
        return (self.data_dir / "PG_VERSION").read_text().strip()

    @classmethod
    def start(cls, bindir: Path | None = None, tries: int = 3) -> PostgresServer:
        """initdb into a new temporary directory and start a server on a free port."""
        bindir = bindir or find_bindir()
        account = _run_as()
        # Not pytest's tmp_path: that lives under a 0700 directory of root's, which the
        # unprivileged server user could not enter.
        root = Path(tempfile.mkdtemp(prefix="trakt-pg-"))
        server = cls(root=root, bindir=bindir, port=0)
        try:
            server._initdb(account)
            for attempt in range(tries):
                server.port = free_port()
                try:
                    server._launch(account)
                    break
                except PostgresUnavailable:
                    # Another process may have taken the port between free_port() and bind.
                    if attempt == tries - 1 or "could not bind" not in server.log_tail():
                        raise
            server._set_up()
        except BaseException:
            server.stop()
            raise
        return server

    def _popen_args(self, account: pwd.struct_passwd | None) -> dict[str, Any]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
        args: dict[str, Any] = {"env": env, "cwd": self.root}
        if account is not None:
            env["HOME"] = str(self.root)
            args.update(user=account.pw_uid, group=account.pw_gid, extra_groups=[])
        return args

    def _initdb(self, account: pwd.struct_passwd | None) -> None:
        self.socket_dir.mkdir()
        _chown_tree(self.root, account)
        command = [
            str(self.bindir / "initdb"),
            "--pgdata",
            str(self.data_dir),
            "--username",
            self.superuser,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",  # a throw-away cluster: durability is not needed, speed is
        ]
        done = subprocess.run(
            command, capture_output=True, check=False, **self._popen_args(account)
        )
        if done.returncode != 0:
            raise PostgresUnavailable(
                f"initdb failed (exit {done.returncode}):\n"
                + (done.stdout + done.stderr).decode(errors="replace")
            )
        # Only the unix socket lets anyone in without a password; TCP is scram-sha-256 only.
        (self.data_dir / "pg_hba.conf").write_text(
            "local all all trust\n"
            f"host all {self.user} {self.host}/32 scram-sha-256\n"
            f"host all all {self.host}/32 scram-sha-256\n"
        )
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# trakt test server\n"
                "password_encryption = 'scram-sha-256'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                # Containers often have a tiny /dev/shm; mmap keeps segments in the data dir.
                "dynamic_shared_memory_type = mmap\n"
                "shared_buffers = 32MB\nmax_connections = 50\n"
            )

    def _launch(self, account: pwd.struct_passwd | None) -> None:
        command = [
            str(self.bindir / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-k",
            str(self.socket_dir),
            "-c",
            f"listen_addresses={self.host}",
        ]
        with self.log_file.open("ab") as log:
            # Its own session: a Ctrl-C meant for pytest does not reach it before stop() does.
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **self._popen_args(account),
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        pidfile = self.data_dir / "postmaster.pid"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PostgresUnavailable(
                    f"postgres exited with {self.process.returncode} while starting:\n"
                    + self.log_tail()
                )
            # postmaster.pid's 8th line is the server's state; "ready" once it takes connections.
            with contextlib.suppress(OSError):
                lines = pidfile.read_text().splitlines()
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    with contextlib.suppress(OSError):
                        socket.create_connection((self.host, self.port), timeout=1).close()
                        return
            time.sleep(0.05)
        raise PostgresUnavailable(
            f"postgres did not become ready within {START_TIMEOUT_S:.0f}s:\n{self.log_tail()}"
        )

    def _set_up(self) -> None:
        with self.admin() as conn:
            conn.execute(f"CREATE ROLE {self.user} LOGIN CREATEDB PASSWORD '{self.password}'")
            conn.execute(f"CREATE DATABASE {self.dbname} OWNER {self.user}")

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's log."""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def admin(self, dbname: str = "postgres") -> Any:
        """A psycopg connection as the superuser over the unix socket (autocommit)."""
        import psycopg

        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user=self.superuser,
            dbname=dbname,
            autocommit=True,
        )

    def connect(self, dbname: str | None = None, **kwargs: Any) -> Any:
        """A psycopg connection as ``trakt`` over TCP with the password (real scram auth)."""
        import psycopg

        return psycopg.connect(self.url_for(dbname or self.dbname), **kwargs)

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database owned by ``trakt``; returns its name."""
        name = f"{prefix}_{os.getpid()}_{next(_names)}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" OWNER {self.user}')
        self._created.append(name)
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, ending any session still connected to it."""
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        with contextlib.suppress(ValueError):
            self._created.remove(name)

    def processes(self) -> list[int]:
        """PIDs of the server's processes: the postmaster and its children (backends,
        checkpointer...), found by their working directory, the data dir."""
        return working_in(self.data_dir)

    def stop(self) -> None:
        """Fast shutdown by PID, harder if it hangs; nothing of it is left; files removed."""
        process = self.process
        if process is not None and process.poll() is None:
            pid = self._pid_from_file() or process.pid
            # SIGINT is postgres's "fast" shutdown (pg_ctl stop -m fast): clients are
            # disconnected; SIGTERM ("smart") would wait for them. SIGQUIT is "immediate".
            for sig, wait in ((signal.SIGINT, STOP_TIMEOUT_S), (signal.SIGQUIT, 5.0)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(wait)
                    break
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                process.wait()
        # A postmaster that exits normally has waited for its children; one that crashed or
        # was killed leaves them to notice and exit (backends call setsid(), so no process
        # group holds them): wait for that, then kill what is left by PID.
        deadline = time.monotonic() + 5.0
        while (left := self.processes()) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)

    def _pid_from_file(self) -> int | None:
        """The PID postmaster.pid names, when it is our child (it always should be)."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        assert self.process is not None
        return pid if pid == self.process.pid else None


@contextlib.contextmanager
def running_server(bindir: Path | None = None) -> Iterator[PostgresServer]:
    """A server for the block's duration, stopped however the block ends."""
    server = PostgresServer.start(bindir)
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class PostgresDatabase:
    """One empty database of the server, owned by ``trakt``, for one test."""

    server: PostgresServer
    name: str

    @property
    def url(self) -> str:
        """``postgresql://trakt:<password>@127.0.0.1:<port>/<name>``."""
        return self.server.url_for(self.name)

    @property
    def sqlalchemy_url(self) -> str:
        """The same URL naming psycopg 3 for SQLAlchemy (``postgresql+psycopg://``)."""
        return self.server.url_for(self.name, driver="psycopg")

    def connect(self, **kwargs: Any) -> Any:
        """A psycopg connection to this database as ``trakt`` (password over TCP)."""
        return self.server.connect(self.name, **kwargs)
