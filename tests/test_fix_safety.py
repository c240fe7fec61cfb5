"""Fixes never lose text: every fix offered on the real histories, applied and checked.

* Each fix (safe and unsafe) offered on every file of the seven real histories (all rules,
  PostgreSQL) is applied alone, and then all fixes of a file together: every line outside
  the fix's edit ranges is still there, in order and unchanged; the file still parses, and
  migls reads it without MG001.
* Files re-encoded as latin-1 with a PEP 263 cookie, UTF-8 with a BOM, and with CRLF line
  endings are fixed and written back with ``write_atomically``: the encoding, the BOM and the
  line endings are the original ones.
* ``--fix`` interrupted at any point leaves each file old or new, never a mix:
  ``write_atomically`` killed (SIGKILL) at each step of the write, failures injected in
  ``fsync``/``os.replace``, and ``migls lint --fix`` killed after its n-th file.
* ``--fix`` touches nothing outside the environment: not the target of a symlink in the
  versions directory, not a Python file beside it.
"""

from __future__ import annotations

import ast
import codecs
import functools
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from corpus import ensure_corpus, environment
from test_graph_oracle import show_counts

from migls.config import Settings
from migls.engine import fix_files, lint_files, read_file, read_paths
from migls.fixes import Fix, apply_fixes, write_atomically
from migls.model import RevisionFile
from migls.registry import all_rules
from migls.source import decode

pytestmark = pytest.mark.corpus

ALL_RULES = list(all_rules())
COUNTS: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    show_counts(request, "fixes applied and verified", COUNTS, total=COUNTS["fix applied alone"])


def _settings(root: Path) -> Settings:
    env = environment(root)
    return replace(env.settings, dialect="postgresql")


@functools.lru_cache(maxsize=None)
def _offered(root: Path) -> list[tuple[RevisionFile, list[Fix]]]:
    """Each file of the history with the fixes offered on it."""
    env = environment(root)
    files = read_paths(env.revision_paths())
    result = lint_files(files, _settings(root), rules=ALL_RULES)
    by_path: dict[str, list[Fix]] = {}
    for diagnostic in result.diagnostics:
        if diagnostic.fix is not None:
            by_path.setdefault(diagnostic.path, []).append(diagnostic.fix)
    return [(file, by_path[file.path]) for file in files if file.path in by_path]


def parses(text: str) -> bool:
    try:
        ast.parse(text)
    except SyntaxError:
        return False
    return True


def untouched_lines(text: str, fixes: list[Fix]) -> list[str]:
    """The lines of ``text`` that no edit of ``fixes`` starts, ends or spans."""
    touched: set[int] = set()
    for fix in fixes:
        for edit in fix.edits:
            touched.update(range(edit.span.line, edit.span.end_line + 1))
    return [line for number, line in enumerate(text.split("\n"), 1) if number not in touched]


def in_order(lines: list[str], text: str) -> int | None:
    """The index of the first of ``lines`` missing from ``text``'s lines (in order), or None."""
    remaining = iter(text.split("\n"))
    for index, line in enumerate(lines):
        if not any(candidate == line for candidate in remaining):
            return index
    return None


def verify(file: RevisionFile, fixes: list[Fix], label: str) -> None:
    assert file.source is not None
    text = file.source.text
    new, applied = apply_fixes(text, fixes)
    assert applied >= 1, label
    kept = untouched_lines(text, fixes)
    missing = in_order(kept, new)
    assert missing is None, f"{label}: lost line {kept[missing]!r}"
    assert parses(new), f"{label}: the fixed file does not parse"
    again = read_file(file.path, file.source.encode(new))
    assert again.syntax_error is None, (label, again.syntax_error)


@pytest.mark.parametrize("history", sorted(ensure_corpus()))
def test_every_offered_fix_keeps_every_other_line(history: str) -> None:
    root = ensure_corpus()[history]
    offered = _offered(root)
    for file, fixes in offered:
        for fix in fixes:
            verify(file, [fix], f"{Path(file.path).name}: {fix.title}")
            COUNTS["fix applied alone"] += 1
            COUNTS[f"{'safe' if fix.safe else 'unsafe'} fix applied alone"] += 1
        if len(fixes) > 1:
            # Together, overlapping fixes after the first are left for the next round: the
            # lines no applied fix touches are kept.
            assert file.source is not None
            new, applied = apply_fixes(file.source.text, fixes)
            assert parses(new), Path(file.path).name
            COUNTS["files with all their fixes applied together"] += 1
    assert offered, f"{history}: no fix offered at all"


# -- encodings and line endings --------------------------------------------------------------

VARIANTS = {
    "latin-1 with a cookie, CRLF": lambda text: (
        "# -*- coding: latin-1 -*-\n# Caf\u00e9 cr\u00e8me\n" + text).replace("\n", "\r\n").encode(
        "latin-1"),
    "UTF-8 with a BOM": lambda text: codecs.BOM_UTF8 + ("# caf\u00e9 \u2713\n" + text).encode(),
    "UTF-8 with a BOM, CRLF": lambda text: codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode(),
    "CRLF": lambda text: text.replace("\n", "\r\n").encode(),
}


def _fixable_texts() -> list[tuple[str, str]]:
    """(name, text) of a sample of real files with fixes, latin-1 encodable."""
    out: list[tuple[str, str]] = []
    for history, root in sorted(ensure_corpus().items()):
        chosen = [(file, fixes) for file, fixes in _offered(root)
                  if file.source is not None and _latin1(file.source.text)]
        for file, _ in chosen[:: max(1, len(chosen) // 6)]:
            assert file.source is not None
            out.append((f"{history}/{Path(file.path).name}", file.source.text))
    return out


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_fixes_keep_encoding_bom_and_line_endings(variant: str, tmp_path: Path) -> None:
    settings = Settings(dialect="postgresql")
    for name, text in _fixable_texts():
        data = VARIANTS[variant](text)
        path = tmp_path / Path(name).name
        path.write_bytes(data)
        file = read_file(str(path), data)
        assert file.syntax_error is None and file.source is not None, name
        fixed = fix_files([file], settings, rules=ALL_RULES, report=lambda f: True, unsafe=True)
        new_text = fixed.texts.get(str(path))
        if new_text is None:
            continue  # fixes that needed the rest of the history
        write_atomically(path, file.source, new_text)
        written = path.read_bytes()
        crlf = b"\r\n" in data
        assert written.startswith(codecs.BOM_UTF8) == data.startswith(codecs.BOM_UTF8), name
        if crlf:
            assert b"\n" not in written.replace(b"\r\n", b""), f"{name}: a bare LF"
        else:
            assert b"\r" not in written, name
        assert decode(written).encoding == file.source.encoding, name
        if variant.startswith("latin-1"):
            assert written.startswith(b"# -*- coding: latin-1 -*-\r\n# Caf\xe9 cr\xe8me\r\n"), name
        assert decode(written).text == new_text, name
        assert parses(new_text), name
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".migls")]
        COUNTS[f"files fixed and written as {variant}"] += 1
    assert COUNTS[f"files fixed and written as {variant}"] >= 5


# -- interruptions -----------------------------------------------------------------------------

OLD = "revision = 'a1'\ndown_revision = None\n" + "# the old text\n" * 20000
NEW = "revision = 'a1'\ndown_revision = None\n" + "# the new text, longer\n" * 30000

#: A child that writes NEW over the file with write_atomically and kills itself (SIGKILL, no
#: cleanup runs) at one step of the write.
KILLER = r"""
import os, signal, sys
from pathlib import Path
from migls.fixes import write_atomically
from migls.source import decode

path, step, new = Path(sys.argv[1]), sys.argv[2], sys.argv[3]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

real_fdopen, real_fsync, real_chmod, real_replace = os.fdopen, os.fsync, os.chmod, os.replace

class HalfWriter:
    def __init__(self, handle):
        self.handle = handle
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return self.handle.__exit__(*exc)
    def write(self, data):
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        die()
    def __getattr__(self, name):
        return getattr(self.handle, name)

if step == "mid-write":
    os.fdopen = lambda *a, **k: HalfWriter(real_fdopen(*a, **k))
elif step == "before-fsync":
    os.fsync = lambda fd: die()
elif step == "before-chmod":
    os.chmod = lambda *a, **k: die()
elif step == "before-replace":
    os.replace = lambda *a, **k: die()
elif step == "after-replace":
    os.replace = lambda *a, **k: (real_replace(*a, **k), die())
write_atomically(path, decode(path.read_bytes()), Path(new).read_text())
print("not killed")
"""

STEPS = ["mid-write", "before-fsync", "before-chmod", "before-replace", "after-replace"]


@pytest.mark.parametrize("step", STEPS)
def test_a_write_killed_at_any_step_leaves_the_old_or_the_new_file(step: str,
                                                                    tmp_path: Path) -> None:
    path = tmp_path / "versions" / "0001_a1.py"
    path.parent.mkdir()
    path.write_text(OLD)
    new = tmp_path / "new.txt"
    new.write_text(NEW)
    done = subprocess.run([sys.executable, "-c", KILLER, str(path), step, str(new)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, (done.returncode, done.stdout, done.stderr)
    assert path.read_text() == (NEW if step == "after-replace" else OLD)
    # What a kill leaves behind is a temporary file that neither Alembic nor migls reads.
    for left in path.parent.iterdir():
        assert left == path or (left.name.startswith(".") and left.name.endswith(".migls")), left
    COUNTS["writes killed mid-way"] += 1


@pytest.mark.parametrize("failing", ["os.fsync", "os.replace", "os.fdopen"])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(failing: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "0001_a1.py"
    path.write_text(OLD)

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing.split(".")[1], fail)
    with pytest.raises(OSError):
        write_atomically(path, decode(path.read_bytes()), NEW)
    monkeypatch.undo()
    assert path.read_text() == OLD
    assert [p.name for p in tmp_path.iterdir()] == ["0001_a1.py"]


#: ``migls lint --fix --unsafe-fixes`` that kills itself as it is about to replace its n-th
#: revision file.
KILL_AFTER = r"""
import os, signal, sys
real_replace = os.replace
count = 0
def replace(source, target, *args, **kwargs):
    global count
    count += str(target).endswith(".py")  # a revision file (not migls' cache)
    if count == int(sys.argv[1]):
        os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(source, target, *args, **kwargs)
os.replace = replace
from migls.cli import main
sys.exit(main(["lint", "--fix", "--unsafe-fixes", "--exit-zero", sys.argv[2]]))
"""


@pytest.mark.parametrize("nth", [1, 4, 25])
def test_fix_killed_after_some_files_leaves_each_file_old_or_new(nth: int, tmp_path: Path) -> None:
    source = ensure_corpus()["mlflow"]
    reference, interrupted = tmp_path / "reference", tmp_path / "interrupted"
    shutil.copytree(source, reference)
    shutil.copytree(source, interrupted)
    old = {p.relative_to(reference): p.read_bytes() for p in reference.rglob("*.py")}
    subprocess.run([sys.executable, "-m", "migls", "lint", "--fix", "--unsafe-fixes",
                    "--exit-zero", str(reference)], check=True, capture_output=True, timeout=600)
    new = {p.relative_to(reference): p.read_bytes() for p in reference.rglob("*.py")}
    changed = [p for p in old if old[p] != new[p]]
    assert len(changed) > 25, len(changed)
    done = subprocess.run([sys.executable, "-c", KILL_AFTER, str(nth), str(interrupted)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == -9, done.stderr
    now = {p.relative_to(interrupted): p.read_bytes() for p in interrupted.rglob("*.py")}
    assert set(now) == set(old)
    assert all(now[p] in (old[p], new[p]) for p in now)
    assert sum(now[p] == new[p] != old[p] for p in now) == nth - 1
    COUNTS["--fix runs killed mid-way"] += 1


# -- never outside the environment -------------------------------------------------------------

def test_fix_touches_nothing_outside_the_environment(tmp_path: Path) -> None:
    """A revision in the versions directory that is a symlink to a file outside, a Python file
    beside the versions directory, and one in another directory: --fix --unsafe-fixes
    changes none of them (the symlink itself is replaced by the fixed file)."""
    root = tmp_path / "project"
    shutil.copytree(ensure_corpus()["mlflow"], root)
    env = environment(root)
    (versions,) = env.version_locations
    offered = _offered(root)
    fixable = Path(offered[len(offered) // 2][0].path)
    outside = tmp_path / "elsewhere" / fixable.name
    outside.parent.mkdir()
    shutil.move(fixable, outside)
    fixable.symlink_to(outside)
    beside = root / "migrations" / "helper.py"
    beside.write_bytes(fixable.read_bytes())
    stray = tmp_path / "elsewhere" / "0001_stray.py"
    stray.write_bytes(outside.read_bytes())
    watched = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (outside, beside, stray)}

    subprocess.run([sys.executable, "-m", "migls", "lint", "--fix", "--unsafe-fixes",
                    "--exit-zero", str(root)], check=True, capture_output=True, timeout=600)
    for path, (data, mtime) in watched.items():
        assert (path.read_bytes(), path.stat().st_mtime_ns) == (data, mtime), path
    assert not fixable.is_symlink() and fixable.read_bytes() != watched[outside][0]
    assert not [p for p in tmp_path.rglob("*.migls")]
