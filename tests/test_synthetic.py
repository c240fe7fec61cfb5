"""Generated histories (``migls._synthetic``): valid for Alembic, read alike by both readers,
linted alike with and without the cache."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from migls._synthetic import generate
from migls.cache import Cache
from migls.discovery import discover
from migls.engine import lint_files, read_file, read_paths, relint
from migls.model import read_revision_libcst
from migls.schema import Layers
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


def test_relint_gives_what_a_full_lint_of_the_edited_text_gives(history: Path) -> None:
    (env,), _ = discover([history])
    files = {f.path: f for f in read_paths(env.revision_paths(), cache=None)}
    path = next(p for p, f in files.items()
                if f.source is not None and "op.add_column" in f.source.text)
    text = files[path].source.text  # type: ignore[union-attr]
    edited = text.replace("nullable=True", "nullable=False", 1) + "\n# edited\n"
    updated, result = relint(files, path, edited, env.settings)
    assert list(updated) == list(files)
    fresh = [read_file(p, (edited if p == path else Path(p).read_text()).encode())
             for p in files]
    expected = lint_files(fresh, env.settings, report=lambda f: f.path == path, cache=None,
                          fixes=False)
    assert result.diagnostics == expected.diagnostics
    assert {d.path for d in result.diagnostics} <= {path}


def test_layers_behave_as_dicts() -> None:
    rng = random.Random(5)
    plain: dict[str, int] = {}
    layered: Layers[int] = Layers()
    keep: list[tuple[dict[str, int], Layers[int]]] = []
    for step in range(3000):
        key = f"k{rng.randrange(40)}"
        action = rng.random()
        if action < 0.5:
            plain[key] = step
            layered[key] = step
        elif action < 0.7:
            assert plain.pop(key, None) == layered.pop(key, None)
        elif action < 0.8:
            keep.append((dict(plain), layered))  # history keeps it: frozen from now on
            layered = layered.derive()
        elif action < 0.9:
            copy = layered.fork()
            keep.append((dict(plain), copy))
        else:
            assert plain.setdefault(key, -step) == layered.setdefault(key, -step)
        assert list(layered.items()) == list(plain.items())
        assert (key in layered) == (key in plain) and layered.get(key) == plain.get(key)
    for expected, frozen in keep:
        assert list(frozen.items()) == list(expected.items())
        for index in range(40):  # lookups too (they remember what they found)
            key = f"k{index}"
            assert frozen.get(key) == expected.get(key) and (key in frozen) == (key in expected)


def test_graph_rules_leave_the_operations_unread(history: Path) -> None:
    (env,), _ = discover([history])
    files = read_paths(env.revision_paths(), cache=None)
    graph_only = lint_files(files, env.settings, select=["MG1"], cache=None)
    unread = [f for f in files if "upgrade" not in _set_fields(f)]
    assert len(unread) == len(files)  # --select MG1: the functions were not read
    reference = read_paths(env.revision_paths(), cache=None)
    assert files[0].upgrade == reference[0].upgrade  # read on use, as a full read gives
    assert all("upgrade" in _set_fields(f) for f in files)  # (the whole batch at once)
    assert files == reference
    again = lint_files(read_paths(env.revision_paths(), cache=None), env.settings,
                       select=["MG1"], cache=None)
    assert graph_only.diagnostics == again.diagnostics
    everything = lint_files(files, env.settings, cache=None)
    assert [d for d in everything.diagnostics if d.code.startswith("MG1")] == \
        graph_only.diagnostics


def _set_fields(file: object) -> set[str]:
    names = set()
    for name in ("metadata", "upgrade", "downgrade"):
        try:
            object.__getattribute__(file, name)
            names.add(name)
        except AttributeError:
            pass
    return names
