"""Measure ``migls server`` on the largest real history (superset, 344 revisions): the time
from ``didChange`` to the ``publishDiagnostics`` of that version, over 100 edits, the
server's memory with the workspace open, and the cold start (from spawning the server to
the first diagnostics of a file opened right after ``initialize``). Not a test (no timing is
asserted anywhere); ``python -m bench --only server`` runs the same functions:

    python tests/lsp/bench_latency.py [--edits 100] [--log /tmp/migls.log]

Each edit waits for its own diagnostics before the next one is sent, so every number is one
edit's latency (the 20 ms debounce included), not a throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from corpus import ensure_corpus
from lsp_session import SERVER_COMMAND, Session, make_client
from lsprotocol import types

#: Files with findings in superset: the whole environment's first publication is complete
#: once this many files have diagnostics.
WHOLE_HISTORY_FILES = 100


@dataclass
class Latency:
    """What one server session on a copy of a history measured."""

    revisions: int
    opened: str
    start: ColdStart
    #: Milliseconds per edit, by kind of edit ("comment", "down_revision").
    edits: dict[str, list[float]] = field(default_factory=dict)
    rss_open_mb: float = float("nan")
    rss_after_mb: float = float("nan")

    @property
    def every(self) -> list[float]:
        return [value for values in self.edits.values() for value in values]


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def p95(values: Sequence[float]) -> float:
    """The nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def install_wheel(repository: Path, scratch: Path) -> Path:
    """A wheel of ``repository`` installed into a new venv in ``scratch``, its dependencies
    this interpreter's (``--system-site-packages``): migls with the ``.pyc`` files pip writes,
    as a user's install has them. Returns the venv's ``migls`` script."""
    wheels = scratch / "wheel"
    # Built as `pip install` builds (an isolated build environment with the build backend).
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(wheels), str(repository)],
                   stdout=subprocess.DEVNULL, check=True)
    (wheel,) = wheels.glob("migls-*.whl")
    home = scratch / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(home)
    python = home / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--no-deps", "--no-index", str(wheel)], stdout=subprocess.DEVNULL, check=True)
    # The venv's own site-packages comes first: check that its migls is the one imported.
    where = subprocess.run([str(python), "-c", "import migls; print(migls.__file__)"],
                           capture_output=True, text=True, check=True, cwd=home).stdout.strip()
    if not where.startswith(str(home)) or not any(
            Path(where).parent.glob("__pycache__/*.pyc")):
        raise RuntimeError(f"the scratch install's migls is not the one imported ({where})")
    return home / "bin" / "migls"


def copy_history(name: str, scratch: Path) -> tuple[Path, Path]:
    """A copy of a corpus history in ``scratch`` and the revision file in its middle."""
    root = Path(tempfile.mkdtemp(prefix="migls-bench-", dir=scratch)) / name
    shutil.copytree(ensure_corpus()[name], root)
    versions = sorted((root / "migrations" / "versions").glob("2*.py"))
    return root, versions[len(versions) // 2]


@dataclass
class ColdStart:
    """Seconds from spawning the server to the answer to ``initialize``, and to the first
    ``publishDiagnostics`` of the file opened right after it."""

    initialized: float
    diagnostics: float


async def _start(command: Sequence[str], root: Path, target: Path, cwd: Path | None,
                 env: dict[str, str] | None = None) -> tuple[Session, str, ColdStart]:
    """Spawn the server, initialize it on ``root`` as VS Code, open ``target`` and wait
    for its first diagnostics."""
    client = make_client()
    started = time.perf_counter()
    await client.start_io(*command, cwd=str(cwd) if cwd else None,
                          env={**os.environ, **(env or {})})
    session = await Session.start(client, "visual-studio-code", root)
    initialized = time.perf_counter() - started
    uri = session.open(target.as_uri())
    await session.diagnostics(uri, version=1)
    return session, uri, ColdStart(initialized, time.perf_counter() - started)


async def _stop(session: Session) -> None:
    await session.client.shutdown_session()
    await session.client.stop()


async def cold_start(command: Sequence[str], root: Path, target: Path,
                     cwd: Path | None = None, env: dict[str, str] | None = None) -> ColdStart:
    """From spawning ``command`` to the first ``publishDiagnostics`` of ``target`` (opened
    right after ``initialize``); ``cwd``: where the server runs (not the repository, whose
    ``migls`` would shadow an installed one under ``python -m``); ``env``: variables to
    set (``MIGLS_CACHE_DIR``: an empty cache makes it the first start on this history)."""
    session, _, timings = await _start(command, root, target, cwd, env)
    await _stop(session)
    return timings


async def measure(root: Path, target: Path, edits: int,
                  command: Sequence[str] = SERVER_COMMAND,
                  env: dict[str, str] | None = None) -> Latency:
    """Open ``target``, wait for the whole history's diagnostics, then time ``edits``
    edits of it (alternately a comment and the parent id, broken and repaired)."""
    session, uri, opened = await _start(command, root, target, None, env)
    client = session.client
    while len(client.latest) < WHOLE_HISTORY_FILES:  # type: ignore[attr-defined]
        await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    pid = client._server.pid  # type: ignore[union-attr]
    result = Latency(len(list((root / "migrations" / "versions").glob("*.py"))), target.name,
                     opened, {"comment": [], "down_revision": []}, rss_mb(pid))

    text = session.texts[uri]
    lines = text.split("\n")
    parent_line = next(i for i, line in enumerate(lines) if line.startswith("down_revision"))
    parent_column = lines[parent_line].index('"') + 1
    comment_line = next(i for i, line in enumerate(lines) if line.startswith("revision"))
    comment_column = len(lines[comment_line])
    for index in range(edits):
        if index % 2 == 0:  # type, then delete, a character at the end of a line
            kind = "comment"
            position = types.Position(line=comment_line,
                                      character=comment_column + (index // 2) % 2)
            edit = (types.TextEdit(range=types.Range(start=position, end=position), new_text="#")
                    if (index // 2) % 2 == 0 else
                    types.TextEdit(range=types.Range(
                        start=types.Position(line=comment_line, character=comment_column),
                        end=types.Position(line=comment_line, character=comment_column + 1)),
                        new_text=""))
        else:  # break the parent id (a dangling down_revision), then repair it
            kind = "down_revision"
            start = types.Position(line=parent_line, character=parent_column)
            end = types.Position(line=parent_line, character=parent_column + 1)
            current = session.texts[uri].split("\n")[parent_line][parent_column]
            original = lines[parent_line][parent_column]
            replacement = "z" if current == original else original
            edit = types.TextEdit(range=types.Range(start=start, end=end), new_text=replacement)
        sent = time.perf_counter()
        version = session.edit(uri, [edit])
        await session.diagnostics(uri, version=version)
        result.edits[kind].append(1000 * (time.perf_counter() - sent))
    result.rss_after_mb = rss_mb(pid)
    await _stop(session)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=100)
    parser.add_argument("--log", help="the server's debug log (per-lint timings)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="migls-bench-"))
    try:
        root, target = copy_history("superset", scratch)
        command = SERVER_COMMAND + (["--log-file", args.log] if args.log else [])
        cache = {"MIGLS_CACHE_DIR": tempfile.mkdtemp(prefix="cache-", dir=scratch)}
        cold = asyncio.run(cold_start(command, root, target, env=cache))
        warm = asyncio.run(cold_start(command, root, target, env=cache))
        result = asyncio.run(measure(root, target, args.edits, command, cache))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"superset: {result.revisions} revision files; opened {result.opened}")
    for name, start in (("empty", cold), ("warm", warm)):
        print(f"cold start, {name} cache: initialize answered after {start.initialized:.2f} s,"
              f" first diagnostics of the opened file after {start.diagnostics:.2f} s")
    for name, values in (("all edits", result.every), *result.edits.items()):
        print(f"{name:>14}: n={len(values):3d}  median {statistics.median(values):6.1f} ms  "
              f"p95 {p95(values):6.1f} ms  max {max(values):6.1f} ms")
    print(f"server RSS: {result.rss_open_mb:.0f} MiB with the workspace open, "
          f"{result.rss_after_mb:.0f} MiB after the edits")


if __name__ == "__main__":
    main()
