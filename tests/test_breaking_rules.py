"""MG4 (breaks running code) and MG5 (hygiene) beyond their embedded examples: the imports of
the model, MG501 on projects laid out on disk, and the edges of MG402-MG404 and MG502."""

from __future__ import annotations

import gc
import json
import textwrap
import warnings
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from migls.cli import main
from migls.config import parse_settings
from migls.engine import lint_sources, read_file, read_paths
from migls.span import Span

IMPORTS = textwrap.dedent('''\
    """Revision."""
    from __future__ import annotations
    import os, myapp.models as m
    from typing import TYPE_CHECKING
    if TYPE_CHECKING:
        from myapp.types import T
    else:
        import fallback
    from ..pkg.sub import (
        a,
        b,
    )
    from . import helpers
    from .. import x; import   y . z
    def upgrade():
        from myapp import \\
            models
        import \\
          deep.mod
''')


def test_model_reads_every_import_with_its_spans() -> None:
    file = read_file("a.py", IMPORTS.encode())
    lines = IMPORTS.splitlines()

    def text(span: Span) -> str:
        assert span.line == span.end_line
        return lines[span.line - 1][span.column:span.end_column]

    got = [(i.module, i.level, i.names, text(i.name_span), i.type_checking) for i in file.imports]
    assert got == [
        ("__future__", 0, ("annotations",), "__future__", False),
        ("os", 0, (), "os", False),
        ("myapp.models", 0, (), "myapp.models", False),
        ("typing", 0, ("TYPE_CHECKING",), "typing", False),
        ("myapp.types", 0, ("T",), "myapp.types", True),
        ("fallback", 0, (), "fallback", False),
        ("pkg.sub", 2, ("a", "b"), "..pkg.sub", False),
        ("", 1, ("helpers",), ".", False),
        ("", 2, ("x",), "..", False),
        ("y.z", 0, (), "y . z", False),
        ("myapp", 0, ("models",), "myapp", False),
        ("deep.mod", 0, (), "deep.mod", False),
    ]
    by_module = {i.module: i for i in file.imports}
    assert by_module["os"].span == by_module["myapp.models"].span == Span(3, 0, 3, 28)
    assert by_module["pkg.sub"].span == Span(9, 0, 12, 1)
    assert by_module["y.z"].span == Span(14, 18, 14, 32)
    assert by_module["myapp"].span == Span(16, 4, 17, 14)
    assert by_module["deep.mod"].name_span == Span(19, 6, 19, 14)
    assert by_module["pkg.sub"].relative and not by_module["os"].relative
    assert by_module["myapp.models"].top == "myapp"
    assert file.without_syntax_tree().imports == file.imports


def test_import_name_spans_equal_libcst_positions() -> None:
    module = cst.parse_module(IMPORTS)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    expected: list[Span] = []
    for node in _walk(module):
        if isinstance(node, cst.Import):
            for alias in node.names:
                where = positions[alias.name]
                expected.append(Span(where.start.line, where.start.column, where.end.line,
                                     where.end.column))
        elif isinstance(node, cst.ImportFrom):
            first = positions[node.relative[0] if node.relative else node.module]
            last = positions[node.module if node.module is not None else node.relative[-1]]
            expected.append(Span(first.start.line, first.start.column, last.end.line,
                                 last.end.column))
    assert [i.name_span for i in read_file("a.py", IMPORTS.encode()).imports] == expected


def _walk(node: cst.CSTNode) -> list[cst.CSTNode]:
    out = [node]
    for child in node.children:
        out.extend(_walk(child))
    return out


def test_imports_survive_worker_processes(tmp_path: Path) -> None:
    paths = []
    for i in range(70):
        path = tmp_path / f"{i:04}_r.py"
        path.write_text(IMPORTS, encoding="utf-8")
        paths.append(path)
    serial = [f.imports for f in read_paths(paths, jobs=1)]
    assert [f.imports for f in read_paths(paths, jobs=2)] == serial


# -- MG501 on projects on disk ------------------------------------------------------------

def _revision(body: str) -> str:
    return 'revision = "a1"\ndown_revision = None\n' + textwrap.dedent(body).lstrip("\n")


def _project(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def _lint(paths: list[Path], capsys: pytest.CaptureFixture[str], select: str) -> list[dict[str, object]]:
    main(["lint", "--format", "json", "--select", select, *map(str, paths)])
    found: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return found


def _where(found: list[dict[str, object]]) -> list[tuple[str, int, int, int]]:
    return sorted((Path(str(d["path"])).name, int(str(d["line"])), int(str(d["column"])),
                   int(str(d["end_column"]))) for d in found)


ALEMBIC_INI = "[alembic]\nscript_location = {}\n"


def test_mg501_flat_layout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".git").mkdir()
    _project(tmp_path, {
        "pyproject.toml": "[project]\nname = 'myapp'\n",
        "alembic.ini": ALEMBIC_INI.format("migrations"),
        "myapp/__init__.py": "",
        "myapp/models.py": "",
        "settings.py": "",
        "docs/conf.py": "",
        "migrations/env.py": "",
        "migrations/helpers.py": "",
        "migrations/versions/0001_a.py": _revision('''
            import json
            import sqlalchemy as sa
            from alembic import op
            import requests
            from myapp.models import User
            import settings
            from migrations.helpers import batched

            def upgrade():
                import myapp
                from migrations import helpers
        '''),
    })
    found = _lint([tmp_path], capsys, "MG501")
    assert _where(found) == [("0001_a.py", 7, 6, 18), ("0001_a.py", 8, 8, 16),
                             ("0001_a.py", 12, 12, 17)]
    assert "imports myapp.models, the application's own code" in str(found[0]["message"])


def test_mg501_closes_every_directory_listing(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    # Looking for packages stops at a directory's first module: the listing must be closed
    # then, not left to the garbage collector (a ResourceWarning wherever it runs).
    (tmp_path / ".git").mkdir()
    _project(tmp_path, {
        "alembic.ini": ALEMBIC_INI.format("migrations"),
        "myapp/__init__.py": "", "myapp/a.py": "", "myapp/b.py": "",
        "migrations/env.py": "",
        "migrations/versions/0001_a.py": _revision('''
            from myapp.a import x
        '''),
    })
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _where(_lint([tmp_path], capsys, "MG501")) == [("0001_a.py", 3, 6, 13)]
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_mg501_src_layout_and_monorepo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".git").mkdir()
    _project(tmp_path, {
        "pyproject.toml": "[project]\nname = 'shop'\n",
        "src/shop/__init__.py": "",
        "backend/alembic.ini": ALEMBIC_INI.format("alembic"),
        "backend/service/__init__.py": "",
        "backend/alembic/env.py": "",
        "backend/alembic/versions/0001_a.py": _revision('''
            from alembic import op
            from shop.pricing import round_price
            from service import api
        '''),
    })
    found = _lint([tmp_path / "backend"], capsys, "MG501")
    assert _where(found) == [("0001_a.py", 4, 6, 18), ("0001_a.py", 5, 6, 13)]


def test_mg501_migrations_inside_the_package(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _project(tmp_path, {
        "alembic.ini": ALEMBIC_INI.format("myapp/migrations"),
        "myapp/__init__.py": "",
        "myapp/migrations/env.py": "",
        "myapp/migrations/utils.py": "",
        "myapp/migrations/versions/0001_a.py": _revision('''
            from myapp.migrations.utils import batched
            from myapp import models
            from . import sibling
            from ..utils import chunks
            from ...models import User
        '''),
    })
    found = _lint([tmp_path], capsys, "MG501")
    assert _where(found) == [("0001_a.py", 4, 6, 11), ("0001_a.py", 7, 6, 15)]
    assert "...models, which lies outside the migrations directory" in str(found[1]["message"])


def test_mg501_application_packages_setting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _project(tmp_path, {
        "pyproject.toml": "[tool.migls]\napplication-packages = ['corp.billing']\n",
        "alembic.ini": ALEMBIC_INI.format("migrations"),
        "migrations/env.py": "",
        "migrations/versions/0001_a.py": _revision('''
            from corp.billing.plans import DEFAULT
            from corp import billing
            from corp import auth
        '''),
    })
    found = _lint([tmp_path], capsys, "MG501")
    assert _where(found) == [("0001_a.py", 3, 6, 24), ("0001_a.py", 4, 6, 10)]


# -- MG4 and MG502 edges -----------------------------------------------------------------

def _found(code: str, body: str, **settings: object) -> list[tuple[int, int, str]]:
    source = 'revision = "a1"\ndown_revision = None\n\n' + textwrap.dedent(body).lstrip("\n")
    result = lint_sources({"0001_a.py": source}, parse_settings(dict(settings), None, "test"))
    return [(d.span.line - 3, d.span.column + 1, d.message) for d in result.diagnostics
            if d.code == code]


def test_mg4_follows_helpers_dynamic_names_and_dialect_guards() -> None:
    assert [(line, column) for line, column, _ in _found("MG401", '''
        def _cleanup():
            op.drop_column(TABLE, "email")

        def upgrade():
            _cleanup()
            if op.get_context().dialect.name == "sqlite":
                op.drop_column("users", "legacy")
    ''')] == [(2, 27)]
    [(_, _, message)] = _found("MG401", '''
        def upgrade():
            op.drop_column("users", COLUMN)
    ''')
    assert message.startswith("drops a column,")


def test_mg404_the_view_must_follow_in_the_same_function() -> None:
    assert len(_found("MG404", '''
        def upgrade():
            op.execute('CREATE OR REPLACE VIEW "users" AS SELECT * FROM accounts')
            op.rename_table("users", "accounts")
    ''')) == 1
    assert _found("MG404", '''
        def upgrade():
            op.rename_table("users", "accounts")
            op.execute("-- compatibility\\nCREATE OR REPLACE VIEW public.users AS SELECT * FROM accounts")
    ''') == []
    assert _found("MG404", '''
        def upgrade():
            op.rename_table("users", "accounts")
            op.execute("CREATE OR REPLACE VIEW public.users AS SELECT * FROM accounts")
    ''') == []


@pytest.mark.parametrize("body, expected", [
    # a COMMIT ends the DDL's transaction
    ('''
        def upgrade():
            op.add_column("users", sa.Column("active", sa.Boolean()))
            op.execute("COMMIT")
            op.execute("UPDATE users SET active = true")
    ''', []),
    # VALIDATE CONSTRAINT blocks neither reads nor writes
    ('''
        def upgrade():
            op.execute("ALTER TABLE users VALIDATE CONSTRAINT ck_users_age")
            op.execute("UPDATE users SET age = 0 WHERE age IS NULL")
    ''', []),
    # DDL inside autocommit_block() is committed at once
    ('''
        def upgrade():
            with op.get_context().autocommit_block():
                op.create_index("ix_users_email", "users", ["email"], postgresql_concurrently=True)
            op.execute("UPDATE users SET email = lower(email)")
    ''', []),
    # a table created by raw SQL in this revision is new
    ('''
        def upgrade():
            op.execute("CREATE TABLE tags (name text); CREATE INDEX ix_tags ON tags (name)")
            op.execute("INSERT INTO tags (name) SELECT DISTINCT tag FROM posts")
    ''', []),
    # a table in a variable is not followed
    ('''
        def upgrade():
            op.add_column("roles", sa.Column("level", sa.Integer()))
            op.bulk_insert(roles_table, [{"name": "admin"}])
    ''', []),
    # another schema is another table
    ('''
        def upgrade():
            op.add_column("users", sa.Column("active", sa.Boolean()), schema="app")
            op.execute("UPDATE audit.users SET active = true")
    ''', []),
    # DDL and data change in one literal; quoted, schema-qualified names
    ('''
        def upgrade():
            op.execute('ALTER TABLE app."Users" ADD COLUMN active boolean; '
                       'UPDATE app."Users" SET active = true')
    ''', [(2, 5, 'UPDATE on Users runs after ALTER TABLE on Users (line 5)')]),
    # renaming a table locks both names; a foreign key locks the referenced table (writes)
    ('''
        def upgrade():
            op.rename_table("users", "accounts")
            op.execute("DELETE FROM accounts WHERE deleted")
            op.create_foreign_key("fk_orders_user", "orders", "plans", ["plan_id"], ["id"])
            op.execute("UPDATE plans SET price = 0 WHERE price IS NULL")
    ''', [(3, 5, "reads and writes of accounts are blocked for the whole DELETE"),
          (5, 5, "writes to plans are blocked for the whole UPDATE")]),
])
def test_mg502_transactions_and_tables(body: str, expected: list[tuple[int, int, str]]) -> None:
    found = _found("MG502", body)
    assert [(line, column) for line, column, _ in found] == [(l, c) for l, c, _ in expected]
    for (_, _, message), (_, _, part) in zip(found, expected):
        assert part in message, message


def test_mg502_falls_back_to_keywords_for_other_dialects() -> None:
    body = '''
        def upgrade():
            op.alter_column("users", "email", type_=sa.Unicode(320))
            op.execute("UPDATE [dbo].[users] SET email = LOWER(email) WHERE email <> ''")
            op.execute("INSERT INTO users (email) VALUES ('a@b.c')")
            op.execute("/* copy */ INSERT INTO users (email) SELECT email FROM legacy")
    '''
    assert [line for line, _, _ in _found("MG502", body, dialect="mssql")] == [3, 5]
    assert _found("MG502", body, dialect="oracle") == []
