"""The language server (``migls server``) on superset, the largest real history: the
latency of an edit (``didChange`` -> ``publishDiagnostics`` of that version), the server's
memory with the workspace open, and its cold start (spawn -> first diagnostics of a file
opened right after ``initialize``).

The measuring is ``tests/lsp/bench_latency.py``'s (a real LSP client, pytest-lsp). The cold
start runs the server from a wheel of this tree installed into a scratch virtual environment,
so that its modules have the ``.pyc`` files pip writes at install time, as a user's install
has them (the editable install of a checkout under ``PYTHONDONTWRITEBYTECODE`` compiles
migls from source at every start, which no user pays).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bench.measure import Context, Row, median, milliseconds, percentile, seconds

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "lsp"))

from bench_latency import cold_start, copy_history, install_wheel, measure


def installed_server(ctx: Context) -> tuple[list[str], Path]:
    """``migls server`` as installed for the suite (a wheel of this tree in a new venv, see
    ``bench.__main__``; else one installed here), and where to run it."""
    script = ctx.python.parent / "migls"
    if not script.exists():
        script = install_wheel(ctx.root, ctx.scratch)
    return [str(script), "server"], script.parent.parent


def run(ctx: Context) -> list[Row]:
    edits = 20 if ctx.quick else 100
    root, target = copy_history("superset", ctx.scratch)
    command, home = installed_server(ctx)
    # First start on the history (an empty parse cache), then starts whose cache an earlier
    # session (or `migls lint`) filled; one start before, not counted, as in the other
    # suites' loops (the first start of a new install reads its files from disk).
    asyncio.run(cold_start(command, root, target, cwd=home, env=ctx.fresh_cache()))
    starts = [asyncio.run(cold_start(command, root, target, cwd=home, env=ctx.fresh_cache()))
              for _ in range(ctx.repeat)]
    warm_cache = ctx.fresh_cache()
    asyncio.run(cold_start(command, root, target, cwd=home, env=warm_cache))
    warm = [asyncio.run(cold_start(command, root, target, cwd=home, env=warm_cache))
            for _ in range(ctx.repeat)]
    first = median([s.diagnostics for s in starts])
    again = median([s.diagnostics for s in warm])
    result = asyncio.run(measure(root, target, edits, command, ctx.fresh_cache()))
    latencies = [ms / 1000 for ms in result.every]
    p95 = percentile(latencies, 0.95)
    return [
        Row("server cold start: spawn -> first diagnostics of an opened superset file "
            "(wheel install, .pyc present; empty parse cache)", seconds(first),
            target="< 1 s", met=first < 1.0),
        Row("server cold start, parse cache filled by an earlier session or `migls lint`",
            seconds(again), target="< 1 s", met=again < 1.0),
        Row("server start: spawn -> `initialize` answered (same install)",
            seconds(median([s.initialized for s in starts + warm]))),
        Row(f"server `didChange` -> `publishDiagnostics`, superset ({edits} edits), "
            "median / p95", f"{milliseconds(median(latencies))} / {milliseconds(p95)}",
            target="p95 < 50 ms", met=p95 < 0.05),
        Row(f"server RSS with superset open ({result.revisions} files) / after the edits",
            f"{result.rss_open_mb:.0f} MB / {result.rss_after_mb:.0f} MB", target="< 300 MB",
            met=max(result.rss_open_mb, result.rss_after_mb) < 300),
    ]
