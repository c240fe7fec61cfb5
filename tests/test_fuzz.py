"""Fuzzing the parser path: mutated real revision files through the engine and the CLI.

Real revision files of the corpus are mutated (truncated, lines deleted or repeated, tokens
swapped, deleted or inserted, random bytes, broken line endings and encodings, odd Unicode,
deep nesting, enormous literals, odd metadata values and ``op.*`` calls; one to three
mutations stacked) and each result goes through what ``migls lint`` does to a file, with both
readers (the fast ``ast`` one and LibCST): ``read_file``, every rule (the opt-in ones too, on
PostgreSQL) and ``fix_files`` with the unsafe fixes. Then:

* no exception escapes;
* no input hangs: each runs in a worker process under a watchdog
  (``faulthandler.dump_traceback_later(exit=True)``), so a hang (or a crash of a native
  parser) ends the worker, and the test names the input and keeps a copy of it;
* a file that CPython cannot parse (or that cannot be decoded) gets MG001, exactly once, with
  a position inside the file: CPython's own position (Alembic, importing the file with the
  same interpreter, would fail there);
* a file that CPython parses gets no MG001 from the fast reader, and its fixes (safe and
  unsafe) leave a file CPython still parses.

The inputs come from a fixed seed in every run (``FAST_INPUTS`` of them); the long run
draws ``LONG_INPUTS`` (or ``MIGLS_FUZZ_INPUTS``) from a random seed (or ``MIGLS_FUZZ_SEED``),
printed at the end with the count of inputs by mutation::

    HYPOTHESIS_PROFILE=long python -m pytest tests/test_fuzz.py

A failing input is kept in pytest's temporary directory and named in the failure.

A few inputs also go through the ``migls lint`` command itself (and ``--fix``).
"""

from __future__ import annotations

import ast
import faulthandler
import io
import json
import os
import random
import re
import subprocess
import sys
import tokenize
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from corpus import ensure_corpus, iter_revision_paths
from test_graph_oracle import show_counts

from migls.config import Settings
from migls.engine import fix_files, lint_files, read_file
from migls.model import READER_VARIABLE
from migls.registry import all_rules
from migls.source import UndecodableSource, decode

pytestmark = pytest.mark.corpus

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
FAST_INPUTS = 240
LONG_INPUTS = int(os.environ.get("MIGLS_FUZZ_INPUTS") or 20_000)
SEED = int(os.environ.get("MIGLS_FUZZ_SEED") or (random.randrange(1 << 32) if LONG else 20240501))
#: Seconds one input may take before the watchdog calls it a hang (not a speed limit: the
#: slowest inputs, megabytes of literal through both readers on a loaded machine, take a
#: few seconds).
LIMIT = 120.0
#: Inputs per worker process (a fresh process now and then keeps memory in check).
CHUNK = 120
#: Largest literal the mutations write (bytes of source).
HUGE = 4_000_000 if LONG else 600_000

COUNTS: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    inputs = COUNTS.pop("inputs", 0)
    show_counts(request, f"fuzz inputs run through both readers (seed {SEED}), by mutation",
                COUNTS, total=inputs)


# -- mutations ---------------------------------------------------------------------------------

Mutation = Callable[[random.Random, bytes], bytes]
MUTATIONS: dict[str, Mutation] = {}


def mutation(function: Mutation) -> Mutation:
    MUTATIONS[function.__name__] = function
    return function


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogateescape")


def _tokens(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the tokens Python's tokenizer finds before it gives up."""
    starts = [0]
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    out: list[tuple[int, int]] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.string.strip() and token.start[0] <= len(starts) - 1:
                start = starts[token.start[0] - 1] + token.start[1]
                end = starts[token.end[0] - 1] + token.end[1]
                out.append((start, end))
    except (tokenize.TokenError, SyntaxError, IndentationError, ValueError):
        pass
    return out or [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]


def _line_offset(rng: random.Random, text: str, inside: str = "def upgrade") -> int:
    """The start of a random line, after ``inside`` when the file has it."""
    begin = text.find(inside)
    begin = 0 if begin < 0 else text.find("\n", begin) + 1
    lines = [m.start() + 1 for m in re.finditer("\n", text[begin:])]
    return begin + rng.choice(lines) if lines else len(text)


@mutation
def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[:rng.randrange(len(data) + 1)]


@mutation
def delete_lines(rng: random.Random, data: bytes) -> bytes:
    lines = data.split(b"\n")
    for _ in range(rng.randint(1, 4)):
        if lines:
            del lines[rng.randrange(len(lines))]
    return b"\n".join(lines)


@mutation
def repeat_or_move_line(rng: random.Random, data: bytes) -> bytes:
    lines = data.split(b"\n")
    line = lines[rng.randrange(len(lines))]
    if rng.random() < 0.5:
        lines.remove(line)
    lines.insert(rng.randrange(len(lines) + 1), line)
    return b"\n".join(lines)


@mutation
def swap_tokens(rng: random.Random, data: bytes) -> bytes:
    text = _text(data)
    tokens = _tokens(text)
    if len(tokens) < 2:
        return data
    first, second = sorted(rng.sample(tokens, 2))
    if first[1] > second[0]:
        return data
    return _bytes(text[:first[0]] + text[second[0]:second[1]] + text[first[1]:second[0]]
                  + text[first[0]:first[1]] + text[second[1]:])


TOKENS = ["(", ")", "[", "]", "{", "}", ":", ",", "=", "==", ".", "\\", "'", '"', '"""',
          "'''", "#", "@", "*", "**", "->", ":=", "def", "class", "lambda", "yield", "await",
          "async", "return", "if", "else", "elif", "with", "as", "import", "from", "global",
          "nonlocal", "del", "pass", "None", "op", "op.", "sa.", "revision", "down_revision",
          "f'", "b'", "r'", "u'", "0x", "1e", "_", "\n", "\t", "    ", ";", "match", "case",
          "type", "print", "exec", "`", "$", "?", "!", "<>"]


@mutation
def delete_or_insert_token(rng: random.Random, data: bytes) -> bytes:
    text = _text(data)
    tokens = _tokens(text)
    start, end = rng.choice(tokens) if tokens else (0, 0)
    if rng.random() < 0.4:
        return _bytes(text[:start] + text[end:])
    at = rng.choice((start, end))
    return _bytes(text[:at] + rng.choice(TOKENS) + text[at:])


BYTES = [b"\x00", b"\xff", b"\xfe", b"\xc3", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
         b"\r", b"\r\n", b"\x0c", b"\t", b"\x0b", b"\\", b"\xef\xbb\xbf", b"\x1b[31m", b"\x7f",
         b"\x85", b"\xe2\x80\xa8", b"\xe2\x80\xae", b"\xc2\xa0"]


@mutation
def random_bytes(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(out) + 1)
        piece = rng.choice(BYTES) if rng.random() < 0.7 else bytes(
            rng.randrange(256) for _ in range(rng.randint(1, 8)))
        if rng.random() < 0.5:
            out[at:at] = piece
        else:
            out[at:at + len(piece)] = piece
    return bytes(out)


@mutation
def indentation(rng: random.Random, data: bytes) -> bytes:
    lines = data.split(b"\n")
    index = rng.randrange(len(lines))
    change = rng.choice([b" ", b"\t", b"  ", b"        ", b"\x0c", b" \t"])
    if rng.random() < 0.5:
        lines[index] = change + lines[index]
    else:
        lines[index] = lines[index].lstrip()
    return b"\n".join(lines)


@mutation
def line_endings(rng: random.Random, data: bytes) -> bytes:
    choice = rng.randrange(4)
    if choice == 0:
        return data.replace(b"\n", b"\r")
    if choice == 1:
        return data.replace(b"\n", b"\r\n", rng.randint(1, 20))
    if choice == 2:
        return data.rstrip(b"\n")
    lines = data.split(b"\n")
    return b"".join(line + rng.choice([b"\n", b"\r\n", b"\r"]) for line in lines)


@mutation
def encoding(rng: random.Random, data: bytes) -> bytes:
    choice = rng.randrange(7)
    cookies = [b"# -*- coding: latin-1 -*-\n", b"# coding: bogus-codec\n",
               b"# vim: set fileencoding=utf-16 :\n", b"#!/usr/bin/env python\n# coding=cp1252\n",
               b"# coding: utf-8\n# coding: latin-1\n"]
    if choice < len(cookies):
        return cookies[choice] + data
    if choice == 5:
        return b"\xef\xbb\xbf# coding: latin-1\n" + data  # a BOM that contradicts the cookie
    return _text(data).encode("utf-16", errors="surrogatepass")


ODD_TEXT = ["\u202e", "\u200b", "\U0001f600", "\ufeff", "\ufb01", "\u00a0", "\u2028", "\u0085",
            "\u00e9", "e\u0301", "\U00010000", "\u3000", "\ud800", "\u0000", "\u2126"]


@mutation
def odd_unicode(rng: random.Random, data: bytes) -> bytes:
    text = _text(data)
    tokens = _tokens(text)
    for _ in range(rng.randint(1, 3)):
        start, end = rng.choice(tokens) if tokens else (0, 0)
        at = rng.randint(start, end)
        text = text[:at] + rng.choice(ODD_TEXT) + text[at:]
    return text.encode("utf-8", errors="surrogatepass")


def _nested(rng: random.Random) -> str:
    depth = rng.choice([10, 50, 99, 100, 101, 150, 199, 200, 201, 500, 1000, 5000, 20000])
    shapes = [
        lambda n: "(" * n + "1" + ")" * n,
        lambda n: "[" * n + "]" * n,
        lambda n: "{" * n + "}" * n if n < 2 else "{'a': " * n + "1" + "}" * n,
        lambda n: "(" * n,
        lambda n: "]" * n,
        lambda n: "not " * n + "x",
        lambda n: "-" * n + "1",
        lambda n: "a." * n + "b",
        lambda n: "f(" * n + ")" * n,
        lambda n: "lambda: " * n + "1",
        lambda n: "x if y else " * n + "z",
        lambda n: "a + " * n + "a",
        lambda n: "'a' " * n,
        lambda n: "op.execute(" * n + "'x'" + ")" * n,
        lambda n: "sa.Column('c', " * n + "sa.Integer()" + ")" * n,
    ]
    return rng.choice(shapes)(depth)


@mutation
def deep_nesting(rng: random.Random, data: bytes) -> bytes:
    text = _text(data)
    if rng.random() < 0.15:  # nested blocks
        depth = rng.choice([20, 99, 100, 101, 150, 500])
        block = "".join(" " * (4 * i + 4) + "if x:\n" for i in range(depth)) + " " * (
            4 * depth + 4) + "op.drop_table('t')\n"
        at = _line_offset(rng, text)
        return _bytes(text[:at] + block + text[at:])
    at = _line_offset(rng, text, rng.choice(["def upgrade", "def downgrade", "\n"]))
    indent = "    " if "def " in text[:at] else ""
    target = rng.choice(["x = ", "op.execute(", "down_revision = ", ""])
    closing = ")" if target.endswith("(") else ""
    return _bytes(text[:at] + indent + target + _nested(rng) + closing + "\n" + text[at:])


@mutation
def enormous_literal(rng: random.Random, data: bytes) -> bytes:
    text = _text(data)
    size = rng.choice([5_000, 100_000, HUGE])
    kind = rng.randrange(8)
    if kind == 0:
        literal = '"' + "x" * size + '"'
    elif kind == 1:
        literal = "1" * rng.choice([4300, 4301, 20_000, size // 10 or 1])
    elif kind == 2:  # fix_files re-reads the file each round: ~20 s at 120000 lines
        literal = '"""' + "line\n" * min(size // 5, 20_000) + '"""'
    elif kind == 3:
        literal = "b'" + "\\x00" * (size // 4) + "'"
    elif kind == 4:  # LibCST's time grows faster than the element count: ~2 s at 20000
        literal = "(" + ", ".join(["'a1'"] * min(size // 6, 20_000)) + ")"
    elif kind == 5:
        literal = "0x" + "f" * (size // 10) + " + 1e" + "9" * 400
    elif kind == 6:
        return _bytes(text + "\n#" + "c" * size + "\n" + " " * size + "\n")
    else:
        literal = "'" + "\u00e9\U0001f600" * (size // 8) + "'"
    where = rng.choice(["revision", "down_revision", "op.execute", "x"])
    if where in ("revision", "down_revision"):
        match = re.search(rf"^{where}\s*(:[^=\n]*)?=\s*(.*)$", text, re.MULTILINE)
        if match:
            return _bytes(text[:match.start(2)] + literal + text[match.end(2):])
    at = _line_offset(rng, text)
    call = f"op.execute({literal})" if where == "op.execute" else f"x = {literal}"
    return _bytes(text[:at] + "    " + call + "\n" + text[at:])


ODD_VALUES = ["f'{x}'", "b'a1'", "('a1', *rest)", "1", "[]", "{}", "'a' 'b'", "None,", "...",
              "lambda: 'a'", "('a', ('b',))", "'a' if x else 'b'", "r'a1'", "u'a1'",
              "'''a\nb'''", "'\\x00'", "''", "' '", "'None'", "('a', None)", "{'a1'}",
              "['a1', 1]", "str('a1')", "os.environ['REV']", "'a1' + 'b'", "(('a1'))",
              "'a1'  # comment", "\\\n'a1'", "'a\\\nb'", "'a1'; down_revision = 'x'"]


@mutation
def odd_metadata(rng: random.Random, data: bytes) -> bytes:
    text = _text(data)
    name = rng.choice(["revision", "down_revision", "branch_labels", "depends_on"])
    value = rng.choice(ODD_VALUES)
    match = re.search(rf"^{name}\s*(:[^=\n]*)?=\s*(.*)$", text, re.MULTILINE)
    if match is None or rng.random() < 0.2:
        prefix = rng.choice(["", "if x:\n    ", "try:\n    ", "class C:\n    ", "def f():\n    "])
        suffix = "\nexcept Exception:\n    pass" if prefix.startswith("try") else ""
        return _bytes(text + f"\n{prefix}{name} = {value}{suffix}\n")
    return _bytes(text[:match.start(2)] + value + text[match.end(2):])


ODD_CALLS = [
    "op.add_column()", "op.add_column(*args, **kwargs)", "op.add_column('t')",
    "op.add_column('t', sa.Column())", "op.add_column('t', sa.Column(nullable=False))",
    "op.add_column('t', sa.Column('c', sa.Integer(), nullable=False, server_default=x))",
    "op.create_index(None, None, None)", "op.create_index('ix', 't', [], unique=1)",
    "op.create_index('ix', 't', ['c'], postgresql_concurrently=maybe)",
    "op.alter_column('t', 'c', nullable=False, type_=sa.String(length=-1))",
    "op.alter_column(table_name='t', column_name='c', new_column_name=None)",
    "op.execute()", "op.execute(sa.text('ALTER TABLE t ADD COLUMN c int NOT NULL'))",
    "op.execute('ALTER TABLE ' + name + ' ADD COLUMN c int')", "op.execute(b'DROP TABLE t')",
    "op.execute(f'DROP TABLE {t}')", "op.execute('SELECT 1; DROP TABLE t; ALTER TABLE')",
    "op.execute('CREATE INDEX CONCURRENTLY ix ON t (c)')", "op.execute('\\x00')",
    "op.drop_table()", "op.drop_table(*tables)", "op.rename_table('a', 'a')",
    "op.create_foreign_key(None, 't', 'u', [], [])", "op.drop_constraint(None, None)",
    "op.create_check_constraint('ck', 't', 'c > 0', postgresql_not_valid=True)",
    "op.bulk_insert(t, [{'a': 1}] * 3)", "op.get_bind().execute(x)",
    "op.get_context().autocommit_block()", "op.f('ix_' * 3)", "op.batch_alter_table('t')",
    "with op.batch_alter_table() as b:\n        b.drop_column()",
    "with op.batch_alter_table('t') as b, op.get_context().autocommit_block():\n        "
    "b.add_column(sa.Column('c', sa.Integer(), nullable=False))",
    "with op.get_context().autocommit_block():\n        pass",
    "if op.get_bind().dialect.name == 'postgresql':\n        op.drop_column('t', 'c')\n    "
    "else:\n        op.drop_column()",
    "op.sync_enum_values('public', 'e', ['a'], [])", "op.unknown_operation(1, 2, x=3)",
    "op = None", "del op", "op.add_column('t', sa.Column('c', sa.Enum(*values)))",
    "op.create_table('t', *columns)", "op.create_table('t', sa.Column('id', primary_key=True))",
    "helper()", "upgrade()", "downgrade()",
]


@mutation
def odd_operation(rng: random.Random, data: bytes) -> bytes:
    text = _text(data)
    at = _line_offset(rng, text, rng.choice(["def upgrade", "def downgrade"]))
    lines = "".join(f"    {rng.choice(ODD_CALLS)}\n" for _ in range(rng.randint(1, 3)))
    if rng.random() < 0.2:
        lines += "    # migls: ignore[MG301, MG999, nonsense] -- why\n    op.drop_column('t', 'c')\n"
    return _bytes(text[:at] + lines + text[at:])


# -- inputs ------------------------------------------------------------------------------------

def seed_files() -> list[Path]:
    """A fixed sample of the corpus: every history, every size."""
    paths = sorted(p for directory in ensure_corpus().values()
                   for p in iter_revision_paths(directory))
    sample = paths[::max(1, len(paths) // 80)]
    largest = sorted(paths, key=lambda p: p.stat().st_size)[-3:]
    return sample + [p for p in largest if p not in sample]


def make_inputs(count: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """(label, data) of ``count`` mutated files, the same for the same seed."""
    rng = random.Random(seed)
    seeds = seed_files()
    originals = {p: p.read_bytes() for p in seeds}
    names = sorted(MUTATIONS)
    for index in range(count):
        path = rng.choice(seeds)
        data = originals[path]
        applied = [rng.choice(names) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
        for name in applied:
            data = MUTATIONS[name](rng, data)
        yield f"{index}:{path.parent.parent.parent.name}/{path.name}:{'+'.join(applied)}", data


# -- the worker: one process runs many inputs, each under the watchdog -------------------------

ALL_RULES = list(all_rules())
SETTINGS = Settings(dialect="postgresql")


def cpython_verdict(text: str) -> tuple[int, int] | None:
    """Where CPython stops parsing ``text`` (line, column), or ``None`` if it parses."""
    try:
        compile(text, "<fuzz>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        return error.lineno or 1, max((error.offset or 1) - 1, 0)
    except (ValueError, MemoryError, RecursionError):
        return 1, 0
    return None


def run_one(path: str, data: bytes) -> dict[str, object]:
    """Everything ``migls lint --fix --unsafe-fixes`` does to one file, with each reader."""
    out: dict[str, object] = {}
    try:
        text: str | None = decode(data).text
    except UndecodableSource:
        text = None
    cpython = cpython_verdict(text) if text is not None else (1, 0)
    out["cpython"] = cpython
    out["lines"] = text.split("\n") if text is not None and len(text) < 100_000 else None
    for reader in ("fast", "libcst"):
        os.environ[READER_VARIABLE] = reader
        file = read_file(path, data)
        result = lint_files([file], SETTINGS, rules=ALL_RULES)
        fixed = fix_files([file], SETTINGS, rules=ALL_RULES, report=lambda f: True, unsafe=True)
        out[reader] = {
            "mg001": [(d.span.line, d.span.column) for d in result.diagnostics
                      if d.code == "MG001"],
            "codes": sorted({d.code for d in result.diagnostics}),
            "fixes": fixed.applied,
            "fixed_parses": all(cpython_verdict(t) is None for t in fixed.texts.values()),
        }
    os.environ.pop(READER_VARIABLE, None)
    return out


def worker() -> None:
    """Run the inputs named on stdin (a JSON list of paths); one JSON line per input, with a
    "begin" line first, so that the parent knows which input a hang or a crash was."""
    jobs = json.loads(sys.stdin.read())
    for index, path in enumerate(jobs):
        print(json.dumps({"begin": index}), flush=True)
        faulthandler.dump_traceback_later(LIMIT, exit=True)
        try:
            outcome = run_one(path, Path(path).read_bytes())
        except BaseException:  # noqa: BLE001 -- reported, with its traceback, by the parent
            outcome = {"error": traceback.format_exc()}
        faulthandler.cancel_dump_traceback_later()
        print(json.dumps({"done": index, **outcome}), flush=True)


def run_worker(paths: list[Path]) -> list[dict[str, object]]:
    """Run ``paths`` in a worker; fails naming the input that hung or crashed it."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "import test_fuzz; test_fuzz.worker()")
    process = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent)],
        input=json.dumps([str(p) for p in paths]), capture_output=True, text=True,
        timeout=LIMIT * len(paths) + 120)
    results: dict[int, dict[str, object]] = {}
    begun = -1
    for line in process.stdout.splitlines():
        record = json.loads(line)
        if "begin" in record:
            begun = record["begin"]
        else:
            results[record.pop("done")] = record
    if process.returncode != 0 or len(results) != len(paths):
        culprit = paths[begun] if 0 <= begun < len(paths) else None
        pytest.fail(f"the worker died on {culprit} (exit {process.returncode}: a hang past "
                    f"{LIMIT:.0f} s or a crash):\n{process.stderr[-4000:]}", pytrace=False)
    return [results[i] for i in range(len(paths))]


# -- the properties ----------------------------------------------------------------------------

def check(label: str, path: Path, outcome: dict[str, object]) -> list[str]:
    """What is wrong with one input's outcome (empty when nothing)."""
    if "error" in outcome:
        return [f"{label}: an exception escaped\n{outcome['error']}"]
    problems: list[str] = []
    cpython = tuple(outcome["cpython"]) if outcome["cpython"] else None  # type: ignore[arg-type]
    lines: list[str] | None = outcome["lines"]  # type: ignore[assignment]
    for reader in ("fast", "libcst"):
        seen: dict[str, object] = outcome[reader]  # type: ignore[assignment]
        mg001 = [tuple(p) for p in seen["mg001"]]  # type: ignore[attr-defined]
        if cpython is not None:  # unparsable (Alembic could not import it either)
            if len(mg001) != 1:
                problems.append(f"{label} [{reader}]: {len(mg001)} MG001 on an unparsable file")
            elif lines is not None:
                line, column = mg001[0]
                if not (1 <= line <= len(lines) + 1 and 0 <= column <= len(
                        lines[line - 1] if line <= len(lines) else "") + 1):
                    problems.append(f"{label} [{reader}]: MG001 at {line}:{column}, outside "
                                    "the file")
                if cpython != (1, 0) and (line, column) != cpython:
                    problems.append(f"{label} [{reader}]: MG001 at {line}:{column}, CPython "
                                    f"stops at {cpython[0]}:{cpython[1]}")
        if cpython is None and reader == "fast" and mg001:
            problems.append(f"{label} [fast]: MG001 on a file CPython parses")
        if cpython is None and not seen["fixed_parses"]:
            problems.append(f"{label} [{reader}]: a fix made a parsable file unparsable")
    return problems


def fuzz(count: int, seed: int, keep: Path) -> None:
    problems: list[str] = []
    inputs = list(make_inputs(count, seed))
    keep.mkdir(parents=True, exist_ok=True)
    for begin in range(0, len(inputs), CHUNK):
        chunk = inputs[begin:begin + CHUNK]
        paths = []
        for label, data in chunk:
            index = label.split(":", 1)[0]
            path = keep / f"input_{index}.py"
            path.write_bytes(data)
            paths.append(path)
        for (label, _), path, outcome in zip(chunk, paths, run_worker(paths)):
            found = check(label, path, outcome)
            problems.extend(f"{p}\n    (kept as {path})" for p in found)
            for name in label.rsplit(":", 1)[1].split("+"):
                COUNTS[name] += 1
            COUNTS["inputs"] += 1
            COUNTS["unparsable (MG001 expected)"] += bool(outcome.get("cpython"))
            if not found:
                path.unlink()
    assert not problems, f"seed {seed}:\n" + "\n".join(problems[:30])


def test_mutated_revision_files(tmp_path: Path) -> None:
    fuzz(LONG_INPUTS if LONG else FAST_INPUTS, SEED, tmp_path / "inputs")


# -- regressions the fuzzing found, and the command line ---------------------------------------

REGRESSIONS: dict[str, bytes] = {
    # libcst crashed (a segfault) on a long chain of unary minus; CPython refuses it.
    "unary chain": b'revision = "a1"\ndown_revision = None\nx = ' + b"-" * 20000 + b"1\n",
    "lambda chain": b'revision = "a1"\ndown_revision = None\nx = ' + b"lambda: " * 5000 + b"1\n",
    # libcst took minutes over a broken file with a 20000-term sum in it.
    "long sum in a broken call": (b'revision = "a1"\ndown_revision = None\n\n\ndef upgrade():\n'
                                  b"    op.drop_column(\n    " + b"a + " * 20000
                                  + b"a\n        't', 'c'\n    )\n"),
    # int() refused to convert a 5000-digit literal (ValueError out of the LibCST reader).
    "huge integer": b'revision = "a1"\ndown_revision = None\n\n\ndef upgrade():\n'
                    b"    op.execute(" + b"7" * 5000 + b")\n",
    # Lone CR line endings: ast counted lines the rules (splitting at LF) did not see.
    "old Mac line endings": (b'"""m\r\rRevision ID: a1\rRevises:\r"""\rrevision = "a1"\r'
                             b"down_revision = None\r\r\rdef upgrade():\r"
                             b"    op.add_column('t', sa.Column('c', sa.Integer(), nullable=False))\r"
                             b"\r\rdef downgrade():\r    pass\r"),
}


def test_regressions(tmp_path: Path) -> None:
    paths = []
    for number, data in enumerate(REGRESSIONS.values()):
        path = tmp_path / f"regression_{number}.py"
        path.write_bytes(data)
        paths.append(path)
    problems = [p for name, path, outcome in zip(REGRESSIONS, paths, run_worker(paths))
                for p in check(name, path, outcome)]
    assert not problems, "\n".join(problems)


def test_lone_carriage_returns_are_line_breaks(tmp_path: Path) -> None:
    """The same findings, at the same places, as with LF endings; a fix keeps the CRs."""
    data = REGRESSIONS["old Mac line endings"]
    with_lf = lint_files([read_file("0001_a1.py", data.replace(b"\r", b"\n"))], SETTINGS,
                         rules=ALL_RULES)
    with_cr = lint_files([read_file("0001_a1.py", data)], SETTINGS, rules=ALL_RULES)
    assert [(d.code, d.span) for d in with_cr.diagnostics] == [
        (d.code, d.span) for d in with_lf.diagnostics]
    assert {"MG202", "MG301"} <= {d.code for d in with_cr.diagnostics}
    from migls.fixes import write_atomically
    (file,) = with_cr.files
    fixed = fix_files([file], SETTINGS, rules=ALL_RULES, report=lambda f: True, unsafe=True)
    assert fixed.texts and file.source is not None
    target = tmp_path / "0001_a1.py"
    target.write_bytes(data)
    write_atomically(target, file.source, fixed.texts["0001_a1.py"])
    written = target.read_bytes()
    assert b"\n" not in written and written.count(b"\r") > data.count(b"\r")
    assert cpython_verdict(decode(written).text) is None


def test_suppressions_in_a_file_that_does_not_tokenize_count_lines_as_python() -> None:
    """A form feed (or \\x85, \\u2028) does not end a line: the comment is on line 4."""
    from migls.suppress import find_suppressions
    text = "x = 1\x0c\ny = '\u2028'\nz = '\x85'\nop.drop_column('t', 'c')  # migls: ignore[MG301]\n'''"
    (suppression,) = find_suppressions(text, [])
    assert suppression.span.line == 4


INI = "[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = postgresql://h/db\n"


def test_the_command_line_on_mutated_files(tmp_path: Path) -> None:
    """`migls lint` and `migls lint --fix --unsafe-fixes` on a project of mutated files (and
    the regressions): no traceback, exit 0 or 1, MG001 where CPython stops, and the files
    that do not parse left as they were."""
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "alembic.ini").write_text(INI)
    entries = [data for _, data in make_inputs(12, SEED + 1)] + list(REGRESSIONS.values())
    expected: dict[str, tuple[int, int] | None] = {}
    for number, data in enumerate(entries):
        name = f"{number:03d}_mutated.py"
        (versions / name).write_bytes(data)
        try:
            expected[name] = cpython_verdict(decode(data).text)
        except UndecodableSource:
            expected[name] = (-1, -1)  # MG001 somewhere
    before = {p.name: p.read_bytes() for p in versions.iterdir()}

    def migls(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "migls", "lint", *args, "."], cwd=tmp_path,
                                capture_output=True, text=True, encoding="utf-8",
                                errors="replace", timeout=LIMIT * len(entries))
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode in (0, 1), (result.returncode, result.stderr)
        return result

    found = json.loads(migls("--format", "json").stdout)
    for name, where in expected.items():
        mg001 = [(d["line"], d["column"] - 1) for d in found
                 if d["code"] == "MG001" and Path(d["path"]).name == name]
        if where is None:
            assert mg001 == [], name
        else:
            assert len(mg001) == 1 and (where == (-1, -1) or mg001[0] == where), (name, mg001)
    COUNTS["through the command line"] += len(entries)

    migls("--fix", "--unsafe-fixes")
    for name, where in expected.items():
        after = (versions / name).read_bytes()
        if where is not None:
            assert after == before[name], name
        else:
            assert cpython_verdict(decode(after).text) is None, name
