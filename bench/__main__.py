"""``python -m bench [--repeat N] [--quick] [--only SUITE ...]``: run the benchmarks and
print the table (Markdown, as in the README)."""

from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.metadata
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench.measure import Context, Row
from bench.suites import SUITES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer edits and smaller generated histories (a smoke run)")
    parser.add_argument("--only", nargs="+", metavar="SUITE",
                        help=f"run only these suites ({', '.join(SUITES)}, or plug-ins)")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("alembic_guard") is None:
        print("bench: alembic-guard is not installed (pip install -e '.[bench]')",
              file=sys.stderr)
        return 2
    from corpus import ensure_corpus  # type: ignore[import-not-found]  # tests/corpus.py

    suites = dict(SUITES)
    for plugin in sorted((ROOT / "bench").glob("suite_*.py")):
        module = importlib.import_module(f"bench.{plugin.stem}")
        suites[plugin.stem.removeprefix("suite_")] = module.run
    chosen = args.only or list(suites)
    unknown = [name for name in chosen if name not in suites]
    if unknown:
        parser.error(f"unknown suite(s): {', '.join(unknown)}")
    scratch = Path(tempfile.mkdtemp(prefix="migls-bench-"))
    print("bench: installing migls and alembic-guard into a new venv ...", file=sys.stderr,
          flush=True)
    ctx = Context(repeat=max(1, args.repeat), quick=args.quick, scratch=scratch, root=ROOT,
                  corpus=ensure_corpus(), python=_install(scratch))
    _wait_for_a_quiet_machine()
    load_before = os.getloadavg()
    started = time.perf_counter()
    rows: list[Row] = []
    try:
        for name in chosen:
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            rows.extend(suites[name](ctx))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    load_after = os.getloadavg()
    print(_table(rows))
    print()
    print(f"{datetime.date.today().isoformat()}, {platform.python_implementation()} "
          f"{platform.python_version()}, {os.cpu_count()} cores, median of {ctx.repeat} "
          f"runs, {time.perf_counter() - started:.0f} s in all; load average "
          f"{load_before[0]:.1f} before, {load_after[0]:.1f} after.")
    return 0


def _install(scratch: Path) -> Path:
    """A new venv holding a wheel of this tree and the installed version of alembic-guard,
    with their dependencies: what `pip install` gives a user (bytecode written, no editable
    paths, nothing else this machine's site-packages runs at start-up). Returns its Python."""
    def pip(*args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True,
                              text=True)
        if done.returncode != 0:
            raise SystemExit(f"bench: pip {args[0]} failed:\n{done.stderr}")

    wheels = scratch / "wheels"
    pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(ROOT))
    (wheel,) = wheels.glob("migls-*.whl")
    home = scratch / "venv"
    venv.EnvBuilder(with_pip=False).create(home)
    python = home / "bin" / "python"
    guard = f"alembic-guard=={importlib.metadata.version('alembic-guard')}"
    pip("--python", str(python), "install", "--quiet", str(wheel), guard)
    return python


def _wait_for_a_quiet_machine(below: float = 1.0, patience: float = 180.0) -> None:
    """Wait (a while) for the load of earlier work to fade: timings on a busy machine say
    little, and migls starts worker processes only on idle cores (the one-minute load)."""
    deadline = time.monotonic() + patience
    while os.getloadavg()[0] >= below and time.monotonic() < deadline:
        print(f"bench: waiting for the load average ({os.getloadavg()[0]:.1f}) to fall "
              f"below {below}", file=sys.stderr, flush=True)
        time.sleep(15)


def _table(rows: list[Row]) -> str:
    lines = ["| benchmark | migls | peer | ratio | target | met |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(f"| {row.name} | {row.migls} | {row.peer} | {row.ratio} | {row.target} "
                     f"| {met} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
