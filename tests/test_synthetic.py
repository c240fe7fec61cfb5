"""Generated histories (``migls._synthetic``): valid for Alembic, read alike by both readers,
linted alike with and without the cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from migls._synthetic import generate
from migls.cache import Cache
from migls.discovery import discover
from migls.engine import lint_files, read_paths
from migls.model import read_revision_libcst
from migls.source import decode


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("synthetic"), 300, seed=7)


def test_alembic_loads_it_and_migls_sees_the_same_graph(history: Path) -> None:
    script = ScriptDirectory.from_config(Config(str(history / "alembic.ini")))
    walked = list(script.walk_revisions())
    assert len(walked) == 300
    merges = [r for r in walked if isinstance(r.down_revision, tuple)]
    labelled = [r for r in walked if r.branch_labels]
    assert merges and labelled
    assert any(r.dependencies for r in walked)
    (env,), _ = discover([history])
    result = lint_files(read_paths(env.revision_paths(), cache=None), env.settings, cache=None)
    assert set(result.graph.heads) == set(script.get_heads())
    assert set(result.graph.bases) == set(script.get_bases())


def test_both_readers_agree_on_every_file(history: Path) -> None:
    for path in sorted((history / "migrations" / "versions").glob("*.py")):
        source = decode(path.read_bytes())
        fast = read_paths([path], cache=None)[0]
        assert fast == read_revision_libcst(str(path), source).without_syntax_tree(), path


def test_the_same_seed_writes_the_same_files(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", 40, seed=3)
    second = generate(tmp_path / "b", 40, seed=3)
    other = generate(tmp_path / "c", 40, seed=4)

    def contents(root: Path) -> dict[str, str]:
        return {p.name: p.read_text() for p in (root / "migrations" / "versions").glob("*.py")}

    assert contents(first) == contents(second) != contents(other)


def test_cached_findings_equal_uncached_findings(history: Path, tmp_path: Path) -> None:
    (env,), _ = discover([history])
    paths = env.revision_paths()
    uncached = lint_files(read_paths(paths, cache=None), env.settings, cache=None)
    store = Cache(tmp_path / "cache")
    for _ in range(2):  # cold, then warm
        cached = lint_files(read_paths(paths, cache=store), env.settings, cache=store)
        assert cached.diagnostics == uncached.diagnostics
    assert uncached.diagnostics  # the generated operations do get findings
