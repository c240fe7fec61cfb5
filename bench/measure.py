"""Running things and recording what they cost: wall time and peak memory of a process,
medians over repetitions, rows of the result table."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Run:
    """One process: how long it took, its peak resident memory, what it printed."""

    seconds: float
    peak_mb: float
    returncode: int
    stdout: str
    #: CPU time (user and system) of the process and the children it waited for.
    cpu: float = 0.0


def run(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """Run ``argv`` to completion; its peak memory comes from ``wait4`` (the largest of the
    process and the children it waited for, such as worker processes)."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, cwd=cwd,
                                   env={**os.environ, **(env or {})})
        assert process.stdout is not None
        stdout = process.stdout.read().decode("utf-8", "replace")
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        process.stdout.close()
        if process.returncode not in (0, 1):
            err.seek(0)
            detail = err.read().decode("utf-8", "replace").strip().splitlines()[-3:]
            raise RuntimeError(f"{' '.join(argv[:6])} failed ({process.returncode}): {detail}")
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    peak = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return Run(seconds, peak, process.returncode, stdout, usage.ru_utime + usage.ru_stime)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (``0.95``: the 95th)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class Row:
    """One line of the result table."""

    name: str
    migls: str
    peer: str = ""
    ratio: str = ""
    target: str = ""
    #: Whether the target is met (``None``: no target).
    met: bool | None = None


@dataclass
class Context:
    """What every suite gets: the options, a scratch directory, the corpus, where the
    repository is."""

    repeat: int
    quick: bool
    scratch: Path
    root: Path
    corpus: dict[str, Path] = field(default_factory=dict)
    sizes: tuple[int, ...] = (100, 300, 1000, 3000, 10000)
    #: The Python of the venv migls and the peers are installed in (see ``__main__``).
    python: Path = Path(sys.executable)

    def migls(self, *args: str | Path) -> list[str]:
        """The command line of ``migls``, as installed in :attr:`python`'s venv (its script:
        ``python -m`` would import the checkout in the current directory instead)."""
        script = self.python.parent / "migls"
        if script.exists():
            return [str(script), *map(str, args)]
        return [str(self.python), "-m", "migls", *map(str, args)]

    def fresh_cache(self) -> dict[str, str]:
        """An environment whose cache directory is new and empty."""
        return {"MIGLS_CACHE_DIR": tempfile.mkdtemp(prefix="cache-", dir=self.scratch)}


def seconds(value: float) -> str:
    return f"{value:.2f} s" if value >= 0.1 else f"{value * 1000:.0f} ms"


def milliseconds(value: float) -> str:
    return f"{value * 1000:.1f} ms"


def ratio(mine: float, theirs: float) -> str:
    return f"{mine / theirs:.2f}" if theirs else ""
