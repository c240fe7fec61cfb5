"""Measure ``migls server`` on the largest real history (superset, 344 revisions): the time
from ``didChange`` to the ``publishDiagnostics`` of that version, over 100 edits, and the
server's memory with the workspace open. Not a test (no timing is asserted anywhere):

    python tests/lsp/bench_latency.py [--edits 100] [--log /tmp/migls.log]

Each edit waits for its own diagnostics before the next one is sent, so every number is one
edit's latency (the 20 ms debounce included), not a throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from corpus import ensure_corpus
from lsp_session import Session, make_client
from lsprotocol import types


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure(edits: int, log: str | None) -> None:
    root = Path(tempfile.mkdtemp(prefix="migls-bench-")) / "superset"
    shutil.copytree(ensure_corpus()["superset"], root)
    versions = sorted((root / "migrations" / "versions").glob("2*.py"))
    target = versions[len(versions) // 2]
    command = [sys.executable, "-m", "migls", "server"] + (["--log-file", log] if log else [])
    client = make_client()
    started = time.perf_counter()
    await client.start_io(*command)
    session = await Session.start(client, "visual-studio-code", root)
    uri = session.open(target.as_uri())
    await session.diagnostics(uri, version=1)
    opened = time.perf_counter() - started

    async def everything() -> None:  # the whole history's findings are out
        while len(client.latest) < 100:
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    await everything()
    pid = client._server.pid  # type: ignore[union-attr]
    memory_open = rss_mb(pid)

    text = session.texts[uri]
    parent_line = next(i for i, line in enumerate(text.split("\n"))
                       if line.startswith("down_revision"))
    parent_column = text.split("\n")[parent_line].index('"') + 1
    comment_line = next(i for i, line in enumerate(text.split("\n"))
                        if line.startswith("revision"))
    comment_column = len(text.split("\n")[comment_line])
    timings: dict[str, list[float]] = {"comment": [], "down_revision": []}
    for index in range(edits):
        if index % 2 == 0:  # type, then delete, a character at the end of a line
            kind = "comment"
            column = comment_column + (index // 2) % 2
            position = types.Position(line=comment_line, character=column)
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
            original = text.split("\n")[parent_line][parent_column]
            replacement = "z" if current == original else original
            edit = types.TextEdit(range=types.Range(start=start, end=end), new_text=replacement)
        sent = time.perf_counter()
        version = session.edit(uri, [edit])
        await session.diagnostics(uri, version=version)
        timings[kind].append(1000 * (time.perf_counter() - sent))
    memory_after = rss_mb(pid)
    await client.shutdown_session()
    await client.stop()
    shutil.rmtree(root.parent, ignore_errors=True)

    every = timings["comment"] + timings["down_revision"]
    print(f"superset: {len(versions)} revision files; opened {target.name}")
    print(f"start + first diagnostics of the opened file: {opened:.2f} s")
    for name, values in (("all edits", every), *timings.items()):
        ordered = sorted(values)
        p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
        print(f"{name:>14}: n={len(values):3d}  median {statistics.median(values):6.1f} ms  "
              f"p95 {p95:6.1f} ms  max {max(values):6.1f} ms")
    print(f"server RSS: {memory_open:.0f} MiB with the workspace open, "
          f"{memory_after:.0f} MiB after the edits")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=100)
    parser.add_argument("--log", help="the server's debug log (per-lint timings)")
    args = parser.parse_args()
    asyncio.run(measure(args.edits, args.log))


if __name__ == "__main__":
    main()
