"""The real Alembic histories the corpus tests run on, and helpers shared by those tests.

Six projects (seven environments: Prefect ships one history per database) are taken from
pinned wheels on PyPI. :func:`ensure_corpus` reuses the cache at ``$MIGLS_CORPUS`` (default
``~/.cache/migls-corpus``) when it already holds them, and otherwise downloads the wheels with
``pip download`` and extracts only the Alembic script directory of each, writing a minimal
``alembic.ini`` (``script_location`` and ``version_locations`` only). Any failure is an error:
a missing corpus must fail the test run, never skip it.

Layout of the cache (shared with ``shared/corpus/fetch.sh``)::

    DEST/_wheels/*.whl
    DEST/<name>/alembic.ini
    DEST/<name>/alembic.ini.orig      (the project's own, when it ships one)
    DEST/<name>/migrations/{env.py,script.py.mako,<versions dirs>}
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.script.revision import Revision, RevisionMap

from migls.config import Settings
from migls.discovery import Environment, discover
from migls.engine import LintResult, lint_files, read_file
from migls.model import RevisionFile


@dataclass(frozen=True)
class Corpus:
    """One real history: where it lives in which pinned wheel."""

    name: str
    requirement: str
    #: The Alembic script directory inside the wheel.
    script_dir: str
    #: Versions directories under the script directory.
    versions: tuple[str, ...]
    #: The alembic.ini the project ships inside the wheel, if any.
    shipped_ini: str | None
    #: How many revision files the pinned version has (a sanity check of the extraction).
    revision_files: int


CORPORA: tuple[Corpus, ...] = (
    Corpus("airflow", "apache-airflow-core==3.3.2", "airflow/migrations", ("versions",),
           "airflow/alembic.ini", 124),
    Corpus("mlflow", "mlflow==3.18.0", "mlflow/store/db_migrations", ("versions",),
           "mlflow/store/db_migrations/alembic.ini", 70),
    Corpus("superset", "apache-superset==6.1.0", "superset/migrations", ("versions",),
           "superset/migrations/alembic.ini", 344),
    Corpus("prefect-postgresql", "prefect==3.9.1", "prefect/server/database/_migrations",
           ("versions/postgresql",), "prefect/server/database/alembic.ini", 120),
    Corpus("prefect-sqlite", "prefect==3.9.1", "prefect/server/database/_migrations",
           ("versions/sqlite",), "prefect/server/database/alembic.ini", 115),
    Corpus("dagster", "dagster==1.13.28", "dagster/_core/storage/alembic", ("versions",),
           None, 88),
    Corpus("zenml", "zenml==0.98.0", "zenml/zen_stores/migrations", ("versions",), None, 285),
)
CORPUS_NAMES: tuple[str, ...] = tuple(c.name for c in CORPORA)
_BY_NAME = {c.name: c for c in CORPORA}


class CorpusError(RuntimeError):
    """The corpus is not in the cache and cannot be downloaded."""


def corpus_root() -> Path:
    """``$MIGLS_CORPUS``, else ``~/.cache/migls-corpus``."""
    configured = os.environ.get("MIGLS_CORPUS")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "migls-corpus"


def _revision_count(directory: Path) -> int:
    return sum(1 for p in directory.iterdir() if p.suffix == ".py" and p.name != "__init__.py")


def is_complete(corpus: Corpus, dest: Path) -> bool:
    """Whether ``dest`` already holds this history as :func:`extract` writes it."""
    if not (dest / "alembic.ini").is_file():
        return False
    directories = [dest / "migrations" / v for v in corpus.versions]
    if not all(d.is_dir() for d in directories):
        return False
    return sum(_revision_count(d) for d in directories) == corpus.revision_files


def _wheel_for(requirement: str, wheels: Path) -> Path:
    """The pinned wheel, downloaded into ``wheels`` unless already there."""
    name, _, version = requirement.partition("==")
    pattern = f"{name.replace('-', '_')}-{version}-*.whl"
    found = sorted(wheels.glob(pattern))
    if found:
        return found[0]
    wheels.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps",
               "--only-binary=:all:", "-d", str(wheels), requirement]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = sorted(wheels.glob(pattern))
    if done.returncode != 0 or not found:
        detail = (done.stderr.strip().splitlines() or ["no wheel was downloaded"])[-1]
        raise CorpusError(f"cannot download {requirement} for the corpus tests: {detail}")
    return found[0]


def _minimal_ini(corpus: Corpus) -> str:
    locations = " ".join(f"%(here)s/migrations/{v}" for v in corpus.versions)
    return ("[alembic]\n"
            "script_location = %(here)s/migrations\n"
            f"version_locations = {locations}\n"
            "path_separator = space\n")


def extract(corpus: Corpus, wheel: Path, dest: Path) -> None:
    """Write ``dest`` from the wheel: the script directory's env.py, script.py.mako and
    versions directories (no ``__pycache__``), the shipped ini as ``alembic.ini.orig``, and a
    minimal ``alembic.ini``. Written beside ``dest`` first and renamed into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{corpus.name}-", dir=dest.parent))
    try:
        migrations = staging / "migrations"
        migrations.mkdir()
        prefix = corpus.script_dir.rstrip("/") + "/"
        with zipfile.ZipFile(wheel) as archive:
            for info in archive.infolist():
                name = info.filename
                if info.is_dir():
                    continue
                if name == corpus.shipped_ini:
                    (staging / "alembic.ini.orig").write_bytes(archive.read(info))
                    continue
                if not name.startswith(prefix):
                    continue
                relative = name[len(prefix):]
                parts = relative.split("/")
                if "__pycache__" in parts or ".." in parts:
                    continue
                if relative in ("env.py", "script.py.mako") or any(
                        relative.startswith(v + "/") for v in corpus.versions):
                    target = migrations.joinpath(*parts)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.read(info))
        for versions in corpus.versions:
            (migrations / versions).mkdir(parents=True, exist_ok=True)
        (staging / "alembic.ini").write_text(_minimal_ini(corpus), encoding="utf-8")
        if not is_complete(corpus, staging):
            raise CorpusError(f"{wheel.name}: expected {corpus.revision_files} revision files "
                              f"under {corpus.script_dir}/{', '.join(corpus.versions)}")
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


_LOCK = threading.Lock()


def ensure_corpus(root: Path | None = None) -> dict[str, Path]:
    """Name -> directory of every history, downloading what the cache lacks."""
    root = root or corpus_root()
    result: dict[str, Path] = {}
    with _LOCK:
        for corpus in CORPORA:
            dest = root / corpus.name
            if not is_complete(corpus, dest):
                extract(corpus, _wheel_for(corpus.requirement, root / "_wheels"), dest)
            result[corpus.name] = dest
    return result


# -- reading and linting -----------------------------------------------------------------------

#: File content -> parsed file, so that copies of a history (with one file broken) are not
#: parsed again: parsing dominates the cost of linting a history.
_PARSED: dict[bytes, RevisionFile] = {}


def read_files(paths: Sequence[Path]) -> list[RevisionFile]:
    """Read and parse revision files as the CLI does (one ``read_file`` per path, in order)."""
    files: list[RevisionFile] = []
    for path in paths:
        data = path.read_bytes()
        parsed = _PARSED.get(data)
        if parsed is None:
            parsed = _PARSED[data] = read_file(str(path), data)
        files.append(parsed if parsed.path == str(path) else dataclasses.replace(parsed, path=str(path)))
    return files


def environment(directory: Path) -> Environment:
    """The single Alembic environment found under ``directory``."""
    environments, _ = discover([directory])
    assert len(environments) == 1, [e.name for e in environments]
    return environments[0]


def lint_directory(directory: Path, select: list[str] | None = None) -> LintResult:
    """Discover the environment under ``directory``, read its files and lint them."""
    env = environment(directory)
    files = read_files(env.revision_paths())
    return lint_files(files, env.settings, select=select)


def lint_paths(paths: Sequence[Path], select: list[str] | None = None) -> LintResult:
    """Lint revision files given directly (already in Alembic's order)."""
    return lint_files(read_files(paths), Settings(), select=select)


def alembic_map(files: Sequence[RevisionFile]) -> RevisionMap:
    """Alembic's own ``RevisionMap`` of the statically read facts of ``files`` (files whose
    id cannot be read are left out, as Alembic could not load them either). Not loaded yet:
    reading ``.heads`` loads it, and may warn or raise as Alembic does."""
    revisions: list[Revision] = []
    for file in files:
        if file.revision_id is None:
            continue
        revisions.append(Revision(
            file.revision_id, file.parents() or None,
            dependencies=file.dependencies() or None,
            branch_labels=file.branch_labels() or None))
    return RevisionMap(lambda: revisions)


# -- fixtures (imported by the test modules that use them) ------------------------------------

@pytest.fixture(scope="session")
def corpus_dirs() -> dict[str, Path]:
    """Name -> directory of each real history (downloaded on first use; never skipped)."""
    return ensure_corpus()


def corpus_by_name(name: str) -> Corpus:
    """The :class:`Corpus` called ``name``."""
    return _BY_NAME[name]


def iter_revision_paths(directory: Path) -> Iterator[Path]:
    """The revision files of the environment under ``directory``, in Alembic's order."""
    yield from environment(directory).revision_paths()
