"""The built-in benchmarks. Each suite returns rows for the table; peers run in the same
loop as migls (alternating), so that both see the same machine load."""

from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import replace
from pathlib import Path

from bench.measure import Context, Row, median, milliseconds, percentile, ratio, run, seconds

#: The histories of the corpus, in the order of the table.
HISTORIES = ("airflow", "mlflow", "superset", "prefect-postgresql", "prefect-sqlite",
             "dagster", "zenml")


def _versions(directory: Path) -> list[Path]:
    """The versions directories of a corpus history (what ``alembic-guard`` is given)."""
    from migls.discovery import discover

    (env,), _ = discover([directory])
    return sorted({path.parent for path in env.revision_paths()})


def _guard(ctx: Context, paths: list[Path]) -> list[str]:
    script = ctx.python.parent / "alembic-guard"
    command = [str(script)] if script.exists() else [str(ctx.python), "-m", "alembic_guard"]
    return [*command, *map(str, paths)]


def startup(ctx: Context) -> list[Row]:
    """The floor under every run: the interpreter, and migls's imports."""
    bare, version = [], []
    for _ in range(ctx.repeat):
        bare.append(run([str(ctx.python), "-c", "pass"]).seconds)
        version.append(run(ctx.migls("--version")).seconds)
    return [Row("python startup / `migls --version`", seconds(median(version)),
                seconds(median(bare)), ratio(median(version), median(bare)))]


def corpus(ctx: Context) -> list[Row]:
    """Cold and warm ``migls lint`` against ``alembic-guard`` on the six real histories."""
    rows: list[Row] = []
    peaks: list[float] = []
    everything = [ctx.corpus[name] for name in HISTORIES]
    guard_paths = [v for d in everything for v in _versions(d)]
    cold, warm, guard = [], [], []
    cpu: dict[str, list[float]] = {"cold": [], "warm": [], "guard": []}
    for _ in range(ctx.repeat):
        env = ctx.fresh_cache()
        first = run(ctx.migls("lint", *everything, "--exit-zero"), env=env)
        theirs = run(_guard(ctx, guard_paths))
        second = run(ctx.migls("lint", *everything, "--exit-zero"), env=env)
        cold.append(first.seconds)
        guard.append(theirs.seconds)
        warm.append(second.seconds)
        cpu["cold"].append(first.cpu)
        cpu["guard"].append(theirs.cpu)
        cpu["warm"].append(second.cpu)
        peaks += [first.peak_mb, second.peak_mb]
    files = sum(len(list(v.glob("*.py"))) for v in guard_paths)
    rows.append(Row(f"all six histories, cold ({files} files)", seconds(median(cold)),
                    seconds(median(guard)), ratio(median(cold), median(guard)),
                    "<= 1 x alembic-guard", median(cold) <= median(guard)))
    rows.append(Row("all six histories, warm (nothing changed)", seconds(median(warm)),
                    seconds(median(guard)), ratio(median(warm), median(guard)),
                    "<= 0.2 x alembic-guard", median(warm) <= median(guard) / 5))
    rows.append(Row("all six, CPU time (user + system) cold / warm",
                    f"{seconds(median(cpu['cold']))} / {seconds(median(cpu['warm']))}",
                    seconds(median(cpu["guard"])),
                    f"{ratio(median(cpu['cold']), median(cpu['guard']))} / "
                    f"{ratio(median(cpu['warm']), median(cpu['guard']))}"))
    graph_cold, graph_warm = [], []
    for _ in range(ctx.repeat):
        env = ctx.fresh_cache()
        graph_cold.append(run(ctx.migls("lint", *everything, "--select", "MG1", "--exit-zero"),
                              env=env).seconds)
        graph_warm.append(run(ctx.migls("lint", *everything, "--select", "MG1", "--exit-zero"),
                              env=env).seconds)
    rows.append(Row("all six, graph only (`--select MG1`), cold", seconds(median(graph_cold)),
                    target="< 0.5 s", met=median(graph_cold) < 0.5))
    rows.append(Row("all six, graph only, warm", seconds(median(graph_warm))))
    for name in HISTORIES:
        directory = ctx.corpus[name]
        versions = _versions(directory)
        cold, warm, guard = [], [], []
        for _ in range(ctx.repeat):
            env = ctx.fresh_cache()
            cold.append(run(ctx.migls("lint", directory, "--exit-zero"), env=env).seconds)
            guard.append(run(_guard(ctx, versions)).seconds)
            warm.append(run(ctx.migls("lint", directory, "--exit-zero"), env=env).seconds)
        count = sum(len(list(v.glob("*.py"))) for v in versions)
        rows.append(Row(f"{name} ({count}), cold / warm",
                        f"{seconds(median(cold))} / {seconds(median(warm))}",
                        seconds(median(guard)), ratio(median(cold), median(guard))))
    rows.append(Row("peak memory (largest process, any run above)", f"{max(peaks):.0f} MB",
                    target="< 300 MB", met=max(peaks) < 300))
    rows.append(_same_findings(ctx, everything))
    return rows


def _same_findings(ctx: Context, everything: list[Path]) -> Row:
    """Cold, warm and ``--no-cache`` runs print the same JSON."""
    env = ctx.fresh_cache()
    args: tuple[str | Path, ...] = ("lint", *everything, "--format", "json", "--exit-zero")
    cold = run(ctx.migls(*args), env=env).stdout
    warm = run(ctx.migls(*args), env=env).stdout
    uncached = run(ctx.migls(*args, "--no-cache"), env=env).stdout
    same = cold == warm == uncached
    count = len(json.loads(cold))
    return Row("same findings cold / warm / `--no-cache`", f"{count} findings, "
               f"{'identical' if same else 'DIFFERENT'}", target="identical", met=same)


def relint(ctx: Context) -> list[Row]:
    """The editor's path: one file of superset edited 100 times, each edit re-read and the
    environment linted again with :func:`migls.engine.relint` (in this process)."""
    from migls.discovery import discover
    from migls.engine import read_paths
    from migls.engine import relint as relint_one
    from migls.registry import select_rules
    from migls.rulekit import dialect_from_url, env_sets_lock_timeout

    (env,), _ = discover([ctx.corpus["superset"]])
    settings = env.settings
    if settings.dialect is None:
        settings = replace(settings, dialect=dialect_from_url(env.sqlalchemy_url))
    rules = select_rules(settings)
    lock = env_sets_lock_timeout(env.env_py_text())
    files = {file.path: file for file in read_paths(env.revision_paths(), cache=None)}
    # The edited file: one that adds columns, as a developer writing a migration would.
    path = next(p for p, f in reversed(files.items())
                if f.source is not None and "op.add_column" in f.source.text)
    text = files[path].source.text  # type: ignore[union-attr]
    edits = 20 if ctx.quick else 100
    latencies: list[float] = []
    for index in range(edits):
        # Alternate edits that change the findings (NOT NULL on and off) and ones that do
        # not (a comment), as typing does.
        edited = (re.sub(r"nullable=True", "nullable=False", text, count=1) if index % 2
                  else text + f"\n# edit {index}\n")
        started = time.perf_counter()
        files, _ = relint_one(files, path, edited, settings, rules=rules,
                              lock_timeout_in_env=lock)
        latencies.append(time.perf_counter() - started)
    p95 = percentile(latencies, 0.95)
    return [Row(f"re-lint one edited superset file ({edits} edits), median / p95",
                f"{milliseconds(median(latencies))} / {milliseconds(p95)}",
                target="p95 < 50 ms", met=p95 < 0.05)]


def alembic(ctx: Context) -> list[Row]:
    """Alembic's own graph load (``ScriptDirectory.walk_revisions``, which imports every
    revision file) on a generated history it can load, against migls on the same files."""
    from migls._synthetic import generate

    size = 300 if ctx.quick else 1000
    directory = generate(ctx.scratch / f"alembic-{size}", size, seed=1)
    load = ("from alembic.config import Config\n"
            "from alembic.script import ScriptDirectory\n"
            f"script = ScriptDirectory.from_config(Config({str(directory / 'alembic.ini')!r}))\n"
            "assert len(list(script.walk_revisions())) > 0\n")
    theirs, graph, full = [], [], []
    for _ in range(ctx.repeat):
        theirs.append(run([str(ctx.python), "-c", load]).seconds)
        graph.append(run(ctx.migls("lint", directory, "--select", "MG1", "--exit-zero"),
                         env=ctx.fresh_cache()).seconds)
        full.append(run(ctx.migls("lint", directory, "--exit-zero"),
                        env=ctx.fresh_cache()).seconds)
    return [
        Row(f"generated history ({size}): graph (`--select MG1`) vs Alembic walk_revisions",
            seconds(median(graph)), seconds(median(theirs)), ratio(median(graph), median(theirs))),
        Row(f"generated history ({size}): every rule, cold vs Alembic walk_revisions",
            seconds(median(full)), seconds(median(theirs)), ratio(median(full), median(theirs))),
    ]


def scale(ctx: Context) -> list[Row]:
    """Cold lint of generated histories from 100 to 10,000 revisions: time and memory must
    grow linearly (the marginal cost of a revision stays the same)."""
    from migls._synthetic import generate

    sizes = tuple(n for n in ctx.sizes if not ctx.quick or n <= 3000)
    points: list[tuple[int, float, float]] = []
    rows: list[Row] = []
    for size in sizes:
        directory = generate(ctx.scratch / f"scale-{size}", size, seed=size)
        times, peaks = [], []
        for _ in range(max(1, ctx.repeat if size <= 1000 else ctx.repeat // 2)):
            done = run(ctx.migls("lint", directory, "--exit-zero"), env=ctx.fresh_cache())
            times.append(done.seconds)
            peaks.append(done.peak_mb)
        points.append((size, median(times), max(peaks)))
        rows.append(Row(f"generated history, {size} revisions, cold",
                        f"{seconds(median(times))}, {max(peaks):.0f} MB",
                        f"{median(times) / size * 1000:.2f} ms/revision"))
    if len(points) >= 3:
        marginal = [((b[1] - a[1]) / (b[0] - a[0]), (b[2] - a[2]) / (b[0] - a[0]))
                    for a, b in itertools.pairwise(points)]
        # Compare the steps past 1,000 revisions (below, start-up still weighs in).
        late = [m for (size, _, _), m in zip(points, marginal) if size >= 1000]
        first, last = (late[0], late[-1]) if len(late) >= 2 else (marginal[1], marginal[-1])
        growth = last[0] / first[0] if first[0] > 0 else float("nan")
        rows.append(Row(
            "marginal cost of a revision, first -> last step from 1,000 on",
            f"{first[0] * 1000:.2f} -> {last[0] * 1000:.2f} ms, "
            f"{first[1] * 1024:.0f} -> {last[1] * 1024:.0f} KB",
            target="linear (ratio < 1.5)", ratio=f"{growth:.2f}", met=growth < 1.5))
    return rows


#: The built-in suites, in the order of the table.
SUITES = {"startup": startup, "corpus": corpus, "relint": relint, "alembic": alembic,
          "scale": scale}
