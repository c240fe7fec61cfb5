"""The on-disk cache: every run gives the findings an uncached run gives.

Runs the real CLI (``python -m migls``) and the engine on copies of the real histories, with
the cache in a temporary ``$MIGLS_CACHE_DIR``: cold, warm, corrupted, written by several
runs at once, after a change of a file, of the configuration, of the filesystem a rule
looks at, and with ``--no-cache``.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from corpus import CORPUS_NAMES, corpus_dirs, environment

from migls import cache as cache_module
from migls.cache import (
    Cache,
    cacheable,
    code_fingerprint,
    content_hash,
    decode_entry,
    encode_entry,
)
from migls.engine import _file_key, lint_files, read_paths
from migls.model import RevisionFile

__all__ = ["corpus_dirs"]  # the fixture, imported so that pytest finds it

ROOT = Path(__file__).resolve().parent.parent


def migls(*args: str | Path, cache: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``python -m migls ARGS`` with the cache in ``cache``; never a traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "migls", *map(str, args)], cwd=cwd, capture_output=True,
        text=True, timeout=600, check=False,
        env={**os.environ, cache_module.CACHE_VARIABLE: str(cache)})
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1), (result.returncode, result.stderr)
    return result


def entries(cache: Path, kind: str) -> list[Path]:
    return sorted(p for p in (cache / f"v{cache_module.FORMAT}" / kind).rglob("*")
                  if p.is_file())


def copy_history(corpus_dirs: dict[str, Path], name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(corpus_dirs[name], target)
    return target


@pytest.mark.corpus
def test_cold_warm_and_uncached_runs_agree_on_every_history(
        corpus_dirs: dict[str, Path], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    histories = [corpus_dirs[name] for name in CORPUS_NAMES]
    args = ("lint", *histories, "--format", "json", "--exit-zero")
    uncached = migls(*args, "--no-cache", cache=cache)
    assert not cache.exists(), "--no-cache wrote to the cache"
    cold = migls(*args, cache=cache)
    logs = {path: path.read_bytes() for path in entries(cache, "files")}
    # One record per content and name (two histories may share a file), in 16 logs.
    assert len(logs) <= 16
    assert sum(data.count(b"MGR1") for data in logs.values()) >= len(
        {(path.read_bytes(), path.name) for h in histories
         for path in environment(h).revision_paths()})
    assert len(entries(cache, "results")) == len(histories)
    warm = migls(*args, cache=cache)
    assert json.loads(uncached.stdout) == json.loads(cold.stdout) == json.loads(warm.stdout)
    assert uncached.stdout == warm.stdout
    # Nothing new: everything was reused.
    assert {path: path.read_bytes() for path in entries(cache, "files")} == logs
    text = [migls("lint", *histories, *extra, cache=cache).stdout
            for extra in ((), ("--no-cache",))]
    assert text[0] == text[1]


def test_a_warm_run_loads_no_model(corpus_dirs: dict[str, Path], tmp_path: Path) -> None:
    env = environment(corpus_dirs["mlflow"])
    store = Cache(tmp_path / "cache")
    paths = env.revision_paths()
    cold = lint_files(read_paths(paths, cache=store), env.settings, cache=store)
    files = read_paths(paths, cache=store)
    assert all(_unloaded(file) for file in files)
    warm = lint_files(files, env.settings, cache=store)
    assert warm.diagnostics == cold.diagnostics
    # Only the rule that looks at the filesystem ran, on the imports kept with the results.
    assert all(_unloaded(file) for file in files)
    assert warm.graph.heads == cold.graph.heads  # built on demand, from the cached models
    uncached = lint_files(read_paths(paths, cache=None), env.settings, cache=None)
    assert uncached.diagnostics == warm.diagnostics


def _unloaded(file: RevisionFile) -> bool:
    try:
        object.__getattribute__(file, "metadata")
    except AttributeError:
        return True
    return False


@pytest.mark.corpus
def test_corrupt_entries_are_ignored(corpus_dirs: dict[str, Path], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    history = corpus_dirs["superset"]
    args = ("lint", history, "--format", "json", "--exit-zero")
    expected = migls(*args, "--no-cache", cache=cache).stdout
    migls(*args, cache=cache)
    hostile = encode_entry(_Hostile())
    for index, entry in enumerate(entries(cache, "files") + entries(cache, "results")):
        data = entry.read_bytes()
        damage = index % 4
        if damage == 0:
            entry.write_bytes(data[: len(data) // 2])  # truncated
        elif damage == 1:
            entry.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # a flipped byte
        elif damage == 2:
            entry.write_bytes(b"")  # empty
        else:
            entry.write_bytes(hostile)  # well-formed, but would run code
    assert migls(*args, cache=cache).stdout == expected
    assert not (tmp_path / "pwned").exists()
    assert migls(*args, cache=cache).stdout == expected  # and again, from healed entries
    (tmp_path / "not-a-directory").write_text("")
    assert migls(*args, cache=tmp_path / "not-a-directory").stdout == expected


class _Hostile:
    """A pickle that calls ``os.system`` when loaded."""

    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, (f"touch {Path.cwd() / 'pwned'}",))


def test_entries_hold_only_migls_data() -> None:
    assert decode_entry(encode_entry({"a": (1, 2.5, None, frozenset({"x"}))})) == {
        "a": (1, 2.5, None, frozenset({"x"}))}
    assert decode_entry(pickle.dumps(1)) is None  # not an entry
    assert decode_entry(encode_entry(_Hostile())) is None


@pytest.mark.corpus
def test_overlapping_runs_share_one_cache(corpus_dirs: dict[str, Path], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    history = corpus_dirs["zenml"]
    args = [sys.executable, "-m", "migls", "lint", str(history), "--format", "json",
            "--exit-zero"]
    env = {**os.environ, cache_module.CACHE_VARIABLE: str(cache)}
    expected = migls(*args[3:], "--no-cache", cache=cache).stdout
    for _ in range(2):  # the first round races on an empty cache, the second on a full one
        runs = [subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(4)]
        outputs = [run.communicate(timeout=600) for run in runs]
        for out, err in outputs:
            assert "Traceback" not in err, err
            assert out == expected
    assert not [p for p in cache.rglob(".tmp-*")], "a temporary file was left behind"
    # Four runs appended to the same logs at once: every record still reads.
    store = Cache(cache)
    for path in environment(history).revision_paths():
        digest = content_hash(path.read_bytes())
        assert store.has("files", _file_key(digest, path.name))
        assert store.load("files", _file_key(digest, path.name)) is not None


@pytest.mark.corpus
def test_a_changed_file_is_read_again(corpus_dirs: dict[str, Path], tmp_path: Path) -> None:
    history = copy_history(corpus_dirs, "mlflow", tmp_path)
    cache = tmp_path / "cache"
    args = ("lint", history, "--format", "json", "--exit-zero")
    migls(*args, cache=cache)
    victim = environment(history).revision_paths()[-1]
    victim.write_text(victim.read_text() + "\n\ndef upgrade():\n    op.drop_table('users')\n")
    assert migls(*args, cache=cache).stdout == migls(*args, "--no-cache", cache=cache).stdout
    assert "MG" in migls(*args, cache=cache).stdout


CONFIGURATIONS = [
    '[tool.migls]\nignore = ["MG2"]\n',
    '[tool.migls]\nseverity = { MG108 = "error" }\n',
    '[tool.migls]\ndowngrade = "optional"\n',
    '[tool.migls]\ndialect = "sqlite"\n',
    '[tool.migls.per-file-ignores]\n"migrations/versions/*" = ["MG1"]\n',
    '[tool.migls]\nrequire-reason = true\n',
]


@pytest.mark.corpus
def test_a_configuration_change_invalidates_the_results(
        corpus_dirs: dict[str, Path], tmp_path: Path) -> None:
    history = copy_history(corpus_dirs, "airflow", tmp_path)
    cache = tmp_path / "cache"
    args = ("lint", history, "--format", "json", "--exit-zero")
    outputs = {migls(*args, cache=cache).stdout}
    for configuration in CONFIGURATIONS:
        (history / "pyproject.toml").write_text(configuration)
        cached = migls(*args, cache=cache).stdout
        assert cached == migls(*args, "--no-cache", cache=cache).stdout, configuration
        outputs.add(cached)
    (history / "pyproject.toml").unlink()
    assert migls(*args, cache=cache).stdout == migls(*args, "--no-cache", cache=cache).stdout
    assert len(outputs) > 3  # the configurations do change the findings
    selected = migls(*args, "--select", "MG1", cache=cache).stdout
    assert selected == migls(*args, "--select", "MG1", "--no-cache", cache=cache).stdout


def test_rules_that_read_the_filesystem_run_every_time(tmp_path: Path) -> None:
    project = tmp_path / "project"
    versions = project / "migrations" / "versions"
    versions.mkdir(parents=True)
    (project / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\n")
    (project / "migrations" / "env.py").write_text("")
    (versions / "0001_a.py").write_text(textwrap.dedent('''
        from alembic import op
        from shop.models import Order

        revision = "a1"
        down_revision = None

        def upgrade():
            op.execute("SELECT 1")

        def downgrade():
            pass
    '''))
    cache = tmp_path / "cache"
    args = ("lint", project, "--format", "json", "--exit-zero")
    before = json.loads(migls(*args, cache=cache).stdout)
    assert "MG501" not in [d["code"] for d in before]  # no package `shop` in the project
    (project / "shop").mkdir()
    (project / "shop" / "__init__.py").write_text("")
    (project / "shop" / "models.py").write_text("Order = None\n")
    after = json.loads(migls(*args, cache=cache).stdout)
    assert "MG501" in [d["code"] for d in after]
    assert after == json.loads(migls(*args, "--no-cache", cache=cache).stdout)


def test_the_code_fingerprint_follows_the_rule_packages(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "extra_rules"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    __import__("extra_rules")
    try:
        before = code_fingerprint(["extra_rules"])
        (package / "helpers.py").write_text("X = 22\n")
        cache_module._fingerprints.clear()
        assert code_fingerprint(["extra_rules"]) != before
    finally:
        sys.modules.pop("extra_rules", None)
        cache_module._fingerprints.clear()


def test_which_rules_are_cacheable() -> None:
    from migls.registry import all_rules
    by_code = {rule.CODE: rule for rule in all_rules()}
    assert not cacheable(by_code["MG501"])  # looks at the project's packages on disk
    assert cacheable(by_code["MG101"])

    class ThirdParty:
        CODE = "XX1"

    assert not cacheable(ThirdParty)  # unknown code: run every time

    class Declared:
        CODE = "XX2"
        CACHEABLE = True

    assert cacheable(Declared)


def test_old_results_are_pruned(tmp_path: Path) -> None:
    store = Cache(tmp_path)
    for index in range(600):  # results written long ago, the oldest first
        target = store.path("results", f"{index:040x}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(encode_entry(index))
        os.utime(target, (1_000_000 + index, 1_000_000 + index))
    assert store.load("results", f"{5:040x}") == 5  # used now: kept
    store.store("results", "f" * 40, "new")
    store.flush()
    left = {p.name for p in entries(tmp_path, "results")}
    assert len(left) == 256
    assert "f" * 40 in left and f"{5:040x}" in left and f"{6:040x}" not in left
    assert Cache(tmp_path).load("results", "f" * 40) == "new"
