"""A throwaway PostgreSQL cluster for the tests: initdb in a temp dir, started on loopback.

Uses the server binaries of Debian's ``postgresql`` package (``/usr/lib/postgresql/<major>/bin``,
not on PATH; ``bash .ci/run`` installs the package). PostgreSQL refuses to run as root, so
when the tests run as root the cluster belongs to the ``postgres`` system user (created by
the Debian package) and every server command runs through ``runuser``.

Set ``MIGLS_PG_BINDIR`` to use other server binaries (a directory holding initdb, pg_ctl,
pg_isready).
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    # No background VACUUM/ANALYZE: its ShareUpdateExclusive lock on the fixture table
    # would make lock observations depend on timing.
    "autovacuum": "off",
    "max_connections": "50",
}
RUN_AS = "postgres"  # when running as root
START_TIMEOUT_S = 60


class ClusterError(RuntimeError):
    """PostgreSQL is missing or the throwaway cluster could not be started."""


def find_bindir() -> Path:
    """The newest server binaries: MIGLS_PG_BINDIR, /usr/lib/postgresql/*/bin, or PATH."""
    override = os.environ.get("MIGLS_PG_BINDIR")
    candidates: list[Path] = []
    if override:
        candidates.append(Path(override))
    else:
        found = glob.glob("/usr/lib/postgresql/*/bin/initdb")

        def major(path: str) -> tuple[int, ...]:
            return tuple(int(x) for x in re.findall(r"\d+", Path(path).parent.parent.name))

        candidates += [Path(p).parent for p in sorted(found, key=major, reverse=True)]
        on_path = shutil.which("initdb")
        if on_path:
            candidates.append(Path(on_path).parent)
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "pg_isready")):
            return bindir
    raise ClusterError(
        "PostgreSQL server binaries (initdb, pg_ctl, pg_isready) not found"
        + (f" in MIGLS_PG_BINDIR={override}" if override else " under /usr/lib/postgresql/*/bin")
        + ". The tests under tests/pg need a real PostgreSQL: install Debian's `postgresql`"
        " package (`apt-get install postgresql`; `bash .ci/run` does it)."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _traversable_by_others(path: Path) -> bool:
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


class Cluster:
    """One throwaway cluster. ``start()`` then ``dsn``; ``stop()`` removes every file."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.user: str | None = None
        self.root: Path | None = None
        self.port: int | None = None
        self.version: str | None = None

    # -- helpers -----------------------------------------------------------------------

    def _run(self, *args: str, timeout: float = START_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        assert self.root is not None
        return subprocess.run(
            cmd, cwd=self.root, capture_output=True, text=True, timeout=timeout, check=False
        )

    def _check(self, proc: subprocess.CompletedProcess[str], what: str) -> None:
        if proc.returncode != 0:
            log = ""
            if self.root is not None and (self.root / "server.log").exists():
                log = (self.root / "server.log").read_text(errors="replace")[-3000:]
            raise ClusterError(
                f"{what} failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
                + (f"\n--- server.log ---\n{log}" if log else "")
            )

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> str:
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam(RUN_AS)
            except KeyError:
                raise ClusterError(
                    f"running as root, and there is no `{RUN_AS}` user to run PostgreSQL as "
                    "(PostgreSQL refuses to run as root; Debian's `postgresql` package creates it)"
                ) from None
            self.user = RUN_AS
            base = Path(tempfile.gettempdir())
            if not _traversable_by_others(base):
                base = Path("/tmp")
            self.root = Path(tempfile.mkdtemp(prefix="migls-pg-", dir=base))
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        else:
            self.root = Path(tempfile.mkdtemp(prefix="migls-pg-"))
        data = self.root / "data"
        self._check(
            self._run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres",
                      "-E", "UTF8", "--no-locale", "--no-sync"),
            "initdb",
        )
        last: ClusterError | None = None
        for _attempt in range(3):  # a free port can be taken between probing and binding
            self.port = _free_port()
            options = " ".join(
                [f"-p {self.port}", f"-k {self.root}"]
                + [f"-c {k}={v}" for k, v in SERVER_SETTINGS.items()]
            )
            proc = self._run("pg_ctl", "-D", str(data), "-l", str(self.root / "server.log"),
                             "-o", options, "-w", "-t", str(START_TIMEOUT_S), "start")
            try:
                self._check(proc, "pg_ctl start")
            except ClusterError as exc:
                last = exc
                continue
            ready = self._run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port),
                              "-U", "postgres", "-d", "postgres", "-t", str(START_TIMEOUT_S))
            self._check(ready, "pg_isready")
            found = re.search(r"\d+(\.\d+)+", self._run("pg_ctl", "--version").stdout)
            self.version = found.group(0) if found else None
            return self.dsn
        assert last is not None
        raise last

    @property
    def dsn(self) -> str:
        """libpq URL of the ``postgres`` database, as the superuser ``postgres`` (trust)."""
        assert self.port is not None
        return self.url("postgres")

    def url(self, dbname: str, driver: str = "postgresql") -> str:
        assert self.port is not None
        return f"{driver}://postgres@127.0.0.1:{self.port}/{dbname}"

    def stop(self) -> None:
        if self.root is None:
            return
        try:
            if (self.root / "data" / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate",
                          "-w", "-t", "30", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
