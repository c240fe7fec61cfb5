"""The fast reader (``ast``) gives exactly the model the LibCST reader gives.

Every file the fast reader reads must come out equal, field for field, to LibCST's reading
(``MIGLS_READER=libcst``); where it declines, :func:`read_revision` falls back to LibCST.
Checked on layouts chosen to differ between the two parsers, on every rule example, on the
six real histories (models and findings), and in tests/test_synthetic.py on generated
histories.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from corpus import CORPUS_NAMES, corpus_dirs, environment

from migls import engine
from migls.ast_model import read_fast
from migls.engine import PARALLEL_THRESHOLD, _read_heads, lint_files, read_file, read_paths
from migls.model import READER_VARIABLE, RevisionFile, read_revision, read_revision_libcst
from migls.registry import all_rules
from migls.source import SourceText, decode

__all__ = ["corpus_dirs"]  # the fixture, imported so that pytest finds it


def both(path: str, text: str) -> tuple[RevisionFile, RevisionFile]:
    """(what ``read_revision`` gives, LibCST's reading), without syntax trees."""
    source = decode(text.encode("utf-8"))
    return (read_revision(path, source).without_syntax_tree(),
            read_revision_libcst(path, source).without_syntax_tree())


#: Layouts where ast's and LibCST's ranges, texts or statements differ.
LAYOUTS = {
"parens_args": '''
from alembic import op
import sqlalchemy as sa
def upgrade():
    op.add_column(("t"), (sa.Column("c", (sa.String(50)), nullable = (False))) , )
    op.create_index( ( "ix" ) , "t", [ "a" , "b" ] , unique=True )
    op.execute( ("SELECT 1"
                 "; SELECT 2") )
''',
"tuples": '''
revision = ("abc")
down_revision = ( "a" , "b" , )
branch_labels = ()
depends_on = ( )
''',
"tuples2": '''
revision = "x"
down_revision = (("a", "b"))
branch_labels = "l1", "l2",
depends_on = ["d1",
    "d2",  # c
]
''',
"tuple_dynamic": '''
revision = "x"
down_revision = ("a", b)
branch_labels = (*x, "a")
depends_on = f"x"
''',
"empty_tuple_comment": '''
revision = "x"
down_revision = (  # hello
)
''',
"suite_and_semicolons": '''
revision = "a"; down_revision = None
def upgrade(): op.drop_table("t"); op.drop_table("u")
def downgrade():
    x = 1; op.create_table("t",
        sa.Column("id", sa.Integer, primary_key=True)); y = 2
    if x: op.drop_table("z")
    else: op.drop_table("w")
''',
"decorators_async": '''
"""Doc

Revision ID: abc
Revises: def
"""
revision: str = "abc"
down_revision: str | None = "def"
@decorator(op.f("x"))
def helper():
    op.drop_column("t", "c")
@other
async def upgrade() -> None:
    helper()
    async with op.get_context().autocommit_block():
        op.execute("CREATE INDEX CONCURRENTLY ix ON t (c)")
class C:
    @staticmethod
    def m(): pass
''',
"guards": '''
from alembic import op as alembic_op
def upgrade():
    bind = alembic_op.get_bind()
    if bind.dialect.name == "postgresql":
        alembic_op.execute("SELECT 1")
    elif (bind.dialect.name) in ("mysql", "sqlite"):
        alembic_op.drop_index("ix")
    else:
        if bind.engine.name != "mssql":
            alembic_op.create_index("ix", "t", ["c"])
    with alembic_op.batch_alter_table("t", schema=None) as b:
        b.alter_column("c", existing_type=sa.VARCHAR(length=10), type_=sa.Text(), nullable=False)
        with alembic_op.batch_alter_table("u") as b:
            b.drop_column("x")
        b.add_column(sa.Column("y", sa.Integer(), sa.ForeignKey("o.id"), server_default=sa.text("0")))
''',
"imports": '''
from __future__ import annotations
import os, sys as system
import a.b.c as d
from . import x
from .. import y
from ...pkg.mod import (z,
    w)
from .mod import *
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from myapp.models import User
    import myapp.other
elif typing.TYPE_CHECKING:
    import other
def upgrade():
    import myapp.inner
    from myapp import helpers
''',
"unicode": '''
"""Ünïcödé message — ✓

Revision ID: ñ1
Revises:
"""
revision = "ñ1"  # ✓✓
down_revision = None
def upgrade():
    op.add_column("tâble", sa.Column("çol", sa.String(), server_default="é", nullable=False))
    op.execute("UPDATE tâble SET çol = 'x'")
''',
"execute_variants": '''
def upgrade():
    op.execute(sa.text("SELECT 1"))
    op.execute(text("SELECT '\\\\n'"))
    op.execute("""
        CREATE TABLE x (
            id int
        )
    """)
    op.execute(r"SELECT '\\d'" 'x' u"y")
    op.execute(b"SELECT 1")
    op.execute(f"SELECT {x}")
    op.execute(sqltext="SELECT 2")
    op.execute(*args)
    op.execute(**kwargs)
''',
"guarded_metadata": '''
try:
    revision = "a"
except Exception:
    revision: str
if x:
    down_revision = "b"
    def f():
        depends_on = "c"
branch_labels = None
''',
"body_kinds": '''
def upgrade():
    """Doc."""
    ...
def downgrade():
    pass
    raise NotImplementedError()
''',
"body_kinds2": '''
def upgrade():
    True
def downgrade():
    f"x"
''',
"weird_calls": '''
def upgrade():
    (op.drop_table)("t")
    op.create_table("t", *cols, **kw)
    op.create_table("t", sa.Column(name="id", type_=sa.Integer()), k=1, *rest)
    op.add_column(column=sa.Column("c", sa.Integer(), nullable=False), table_name="t")
    op.alter_column("t", "c", type_=sa.Numeric(10, 2), existing_type=sa.ARRAY(sa.String(length=5)))
    op.bulk_insert(tbl, [{"id": 1}, {"id": -2.5, "x": -True}])
    getattr(op, "drop_table")("t")
    op.f("x")(y)
    lambda: op.drop_table("lam")
    [op.drop_table(t) for t in ("a", "b")]
    op.create_foreign_key(None, "a", "b", ["x"], ["id"], ondelete="CASCADE")
    op.create_check_constraint("ck", "t", sa.text("x > 0"))
    op.add_column("t", sa.Column("d", sa.Integer(), sa.Identity(start=1), sa.Computed("a + b")))
''',
"comments_in_calls": '''
def upgrade():
    op.add_column(  # comment (with parens)
        "t",  # another "quote
        # full line
        sa.Column(
            "c",  # x
            sa.String(),
        ),
    )
    op.create_index(
        "ix",
        "t",
        ["c"],
        postgresql_where=sa.text(
            "c IS NOT NULL"
        ),
    )
''',
"tabs": '''
def upgrade():
\top.add_column("t",
\t\tsa.Column("c", sa.Integer()))
\tif True:
\t\top.drop_column("t",
\t\t\t"c")
''',
"continuation": '''
revision = \\
    "abc"
def upgrade():
    op.drop_table("t")
''',
"nested_functions": '''
def upgrade():
    def inner():
        op.drop_table("inner")
    for t in tables:
        op.drop_table(t)
    while False:
        op.drop_table("w")
    try:
        op.drop_table("x")
    except Exception:
        op.drop_table("y")
    finally:
        op.drop_table("z")
    match x:
        case 1:
            op.drop_table("m")
''',
"legacy_name": '''
down_revision = None
def upgrade():
    pass
''',
"docstring_concat": '''
"Doc " "more"
revision = "x"
''',
"docstring_bytes": '''
b"Doc"
revision = "x"
''',
"docstring_single": '''
'Revision ID: abc'
revision = "abc"
''',
"numbers": '''
def upgrade():
    op.bulk_insert(t, [(0x1F, 0o7, 0b1, 1_000, 1e3, 1.5j, -0, --5, +3, None, ...)])
    op.alter_column("t", "c", server_default=sa.text("1"), existing_server_default="0", nullable=True)
''',
"keyword_spacing": '''
def upgrade():
    op.alter_column( "t" , "c" , nullable = False , existing_type = sa.Integer ( ) )
''',
"op_alias_relative": '''
from .alembic import op as myop
def upgrade():
    myop.drop_table("t")
''',
"empty": '',
"only_comment": '# nothing\n',
}
LAYOUTS["match_try"] = '''
def upgrade():
    match x:
        case 1:
            match y:
                case 2: pass
                case 3:
                    try:
                        pass
                    except* ValueError:
                        match z:
                            case _: pass
    if a:
        match q:
            case 1: pass
    else:
        match r:
            case 1: pass
    if b:
        pass
    elif c:
        match s:
            case 1: pass
    for i in x:
        match t:
            case 1: pass
    else:
        pass
    try:
        match u:
            case 1: pass
    except E:
        match v:
            case 1: pass
    finally:
        match w:
            case 1: pass
            case 2:
                match ww:
                    case 3: pass
        x = 1
        match w2:
            case 1: pass
class C:
    match m:
        case 1: pass
    x = 1
    match n:
        case 1: pass
match top:
    case 1:
        match inner:
            case 2: pass
'''


#: Layouts the fast reader declines (LibCST reads them).
DECLINED = {"empty_tuple_comment"}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_layouts_read_alike(name: str) -> None:
    text = LAYOUTS[name].lstrip("\n")
    path = "versions/abc123_x.py" if name == "legacy_name" else f"versions/{name}.py"
    fast, reference = both(path, text)
    assert fast == reference
    declined = read_fast(path, decode(text.encode("utf-8"))) is None
    assert declined == (name in DECLINED)


def test_rule_examples_read_alike() -> None:
    checked = 0
    for rule in all_rules():
        for example in [*rule.VALID, *rule.INVALID]:
            for name, code in example.sources().items():
                fast, reference = both(name, code)
                assert fast == reference, (rule.CODE, name)
                checked += 1
    assert checked > 200


def test_the_fast_reader_declines_what_it_cannot_match() -> None:
    # Python 2 syntax: CPython refuses it, so LibCST reads it (and reports MG001).
    source = decode(b"revision = 'a'\nprint 'x'\n")
    assert read_fast("a.py", source) is None
    assert read_revision("a.py", source).syntax_error is not None


@pytest.mark.corpus
@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_corpus_files_read_alike(corpus_dirs: dict[str, Path], name: str) -> None:
    for path in environment(corpus_dirs[name]).revision_paths():
        source = decode(path.read_bytes())
        fast = read_fast(str(path), source)
        assert fast is not None, f"the fast reader declined {path}"
        assert fast == read_revision_libcst(str(path), source).without_syntax_tree(), path


@pytest.mark.corpus
@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_corpus_findings_equal(corpus_dirs: dict[str, Path], name: str,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    env = environment(corpus_dirs[name])
    paths = env.revision_paths()

    def findings() -> list[object]:
        files = [read_file(str(p), p.read_bytes()) for p in paths]
        return lint_files(files, env.settings).diagnostics

    fast = findings()
    monkeypatch.setenv(READER_VARIABLE, "libcst")
    assert findings() == fast


@pytest.mark.corpus
def test_type_codes_read_alike(corpus_dirs: dict[str, Path]) -> None:
    """``read_type_code`` (MG308 peels ``with_variant`` off column types with it) gives what
    ``libcst.parse_expression`` and ``migls.ops.read_type`` give, on every type of the
    corpus and a few layouts."""
    import libcst as cst

    from migls.ast_model import read_type_code
    from migls.ops import read_type

    def with_libcst(code: str) -> tuple[bool, object]:
        try:
            node = cst.parse_expression(code)
        except cst.ParserSyntaxError:
            return False, None
        while (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
               and node.func.attr.value == "with_variant"):
            node = node.func.value
        return True, read_type(node)

    codes = {'(sa.Text()).with_variant(x, "y")', 'sa.String(\n    50\n).with_variant(\n  a, "b")',
             '((sa.Text())).with_variant(x, "y").with_variant(z, "w")', "x(", "a.with_variant",
             "sa.ARRAY(sa.String(length=(5)))", "sa.Numeric(10, 2, asdecimal=False)"}
    for name in CORPUS_NAMES:
        for path in environment(corpus_dirs[name]).revision_paths():
            file = read_revision(str(path), decode(path.read_bytes()))
            for function in (file.upgrade, file.downgrade):
                for op in function.ops if function is not None else ():
                    codes.update(t.code for t in op.types.values())
                    codes.update(c.type.code for c in op.columns if c.type is not None)
    assert len(codes) > 100
    for code in sorted(codes):
        assert read_type_code(code, "with_variant") == with_libcst(code), code


def _read_in_two_steps(paths: list[Path]) -> list[RevisionFile]:
    """The engine's graph-only path: the revision facts of every file first (with a batch
    size that takes the worker processes too), then, on first use of another field, all."""
    files = read_paths(paths, jobs=2, cache=None)
    _read_heads(files)
    assert all(file.metadata is not None for file in files)
    for file in files:
        file.statements  # noqa: B018 - the first use of a body field reads the batch whole
    return files


def test_layouts_read_in_two_steps_as_at_once(tmp_path: Path) -> None:
    paths = []
    for name, text in sorted(LAYOUTS.items()):
        path = tmp_path / ("abc123_x.py" if name == "legacy_name" else f"{name}.py")
        path.write_text(text.lstrip("\n"))
        paths.append(path)
    once = [read_file(str(p), p.read_bytes()) for p in paths]
    assert [f.without_syntax_tree() for f in _read_in_two_steps(paths)] \
        == [f.without_syntax_tree() for f in once]


@pytest.mark.corpus
def test_corpus_read_in_two_steps_as_at_once(corpus_dirs: dict[str, Path]) -> None:
    # Function-level imports and statement lines are left out of the first step: the second
    # must still give them, as a single read does.
    paths = [p for name in CORPUS_NAMES for p in environment(corpus_dirs[name]).revision_paths()]
    assert len(paths) > PARALLEL_THRESHOLD
    twice = _read_in_two_steps(paths)
    for file, path in zip(twice, paths):
        once = read_file(str(path), path.read_bytes())
        assert (file.statements, file.imports, file.metadata, file.upgrade, file.downgrade) \
            == (once.statements, once.imports, once.metadata, once.upgrade, once.downgrade), path


def _corpus_texts(corpus_dirs: dict[str, Path]) -> list[tuple[str, SourceText]]:
    return [(str(p), decode(p.read_bytes())) for name in CORPUS_NAMES
            for p in environment(corpus_dirs[name]).revision_paths()]


@pytest.mark.corpus
@pytest.mark.parametrize("jobs", [2, 3])
@pytest.mark.parametrize("bodies", [True, False])
def test_workers_read_what_one_process_reads(corpus_dirs: dict[str, Path], jobs: int,
                                             bodies: bool) -> None:
    texts = _corpus_texts(corpus_dirs)
    alone = engine._parse_texts(texts, True, bodies)
    shared = engine._parse_all(texts, jobs, True, bodies)
    assert [model for model, _ in shared] == [model for model, _ in alone]
    assert [entry for _, entry in shared] == [entry for _, entry in alone]  # the cache's too


@pytest.mark.corpus
def test_a_worker_that_dies_loses_nothing(corpus_dirs: dict[str, Path],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def take_a_chunk_and_die(chunks: object, queue: int, sending: int, bodies: bool) -> None:
        os.read(queue, 4)  # the next chunk is this worker's now, and is never sent
        os._exit(3)

    monkeypatch.setattr(engine, "_work", take_a_chunk_and_die)
    texts = _corpus_texts(corpus_dirs)
    shared = engine._parse_all(texts, 2, False, True)
    assert [model for model, _ in shared] == [model for model, _ in engine._parse_texts(
        texts, False, True)]
