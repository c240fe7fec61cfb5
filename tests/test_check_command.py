"""``migls check``: drift between the models and the migrations, on the example application
``examples/shop`` against a real SQLite file database, a real PostgreSQL and the temporary
SQLite database migls makes when none is configured. The oracle of each difference's code is
the revision Alembic itself writes with ``alembic revision --autogenerate``.

Every run gets a TMPDIR of its own: the temporary database must be gone after it, whatever
happened."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from test_revision_command import FIRST, SHOP, alembic, shop

from migls.check import CheckError, check
from migls.discovery import discover

CHECK_OPERATIONS = {"add_column", "create_index", "create_foreign_key"}


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of the project (no byte-code): a run must change none."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def run_check(root: Path, *args: str | Path,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m migls check ARGS`` in ``root`` with a TMPDIR of its own, which must be
    empty again afterwards; the project's files are unchanged; never a traceback."""
    temporary = Path(tempfile.mkdtemp(prefix="tmpdir-", dir=root.parent))
    before = snapshot(root)
    result = subprocess.run(
        [sys.executable, "-m", "migls", "check", "--python", sys.executable, *map(str, args)],
        cwd=root, capture_output=True, text=True, encoding="utf-8", timeout=300, check=False,
        env={**os.environ, **(env or {}), "TMPDIR": str(temporary)})
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1, 2), result.stderr
    assert list(temporary.iterdir()) == [], "the temporary database was left behind"
    temporary.rmdir()
    assert snapshot(root) == before
    return result


def copy_of_shop(tmp_path: Path, *, url: str | None = "keep") -> Path:
    """The example as it is (models unchanged), its database not created; ``url=None``
    removes sqlalchemy.url, another value replaces it."""
    root = tmp_path / "shop"
    shutil.copytree(SHOP, root, ignore=shutil.ignore_patterns("__pycache__", "shop.db"))
    if url != "keep":
        set_url(root, url)
    return root


def set_url(root: Path, url: str | None) -> None:
    ini = root / "alembic.ini"
    line = "" if url is None else "sqlalchemy.url = " + url.replace("%", "%%")
    ini.write_text(re.sub(r"^sqlalchemy\.url = .*$", line, ini.read_text(), flags=re.MULTILINE))


def change_models(root: Path, old: str, new: str) -> None:
    models = root / "shop" / "models.py"
    text = models.read_text()
    assert old in text
    models.write_text(text.replace(old, new))


def differences(result: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    found: list[dict[str, object]] = json.loads(result.stdout)
    return found


def refused(result: subprocess.CompletedProcess[str], *words: str) -> str:
    """Exit 2 with one line on stderr that says ``words``, nothing on stdout."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("migls: error: "), result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert result.stdout == ""
    return lines[0]


def upgrade_body(path: Path) -> str:
    text = path.read_text()
    return text[text.index("def upgrade()"):text.index("def downgrade()")]


def assert_written_by_alembic(found: list[dict[str, object]], root: Path) -> None:
    """Each difference's code is what ``alembic revision --autogenerate`` writes for it
    (line by line, the revision indents them): the differential oracle."""
    alembic(root, "revision", "--autogenerate", "-m", "drift", "--rev-id", "d1")
    (written,) = (root / "migrations" / "versions").glob("d1_*.py")
    body = [line.strip() for line in upgrade_body(written).splitlines()]
    for difference in found:
        code = str(difference["code"])
        ast.parse(code)  # a whole statement, as written
        for line in code.splitlines():
            assert line.strip() in body, (line, body)


# -- SQLite file database ------------------------------------------------------------------------


def test_no_drift_after_upgrade_head(tmp_path: Path) -> None:
    root = copy_of_shop(tmp_path)
    alembic(root, "upgrade", "head")
    result = run_check(root)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"No differences between the models and sqlite:///{root}/shop.db.\n"
    json_result = run_check(root, "--format", "json")
    assert json_result.returncode == 0 and differences(json_result) == []


def test_drift_on_sqlite_is_the_code_alembic_writes(tmp_path: Path) -> None:
    root = shop(tmp_path)  # upgraded to head, then a column, an index and a foreign key added
    result = run_check(root)
    assert result.returncode == 1, result.stderr
    assert "alembic.ini: add_column  column customers.phone is in the models, not in the " \
           "database\n    with op.batch_alter_table('customers', schema=None) as batch_op:\n" \
           "        batch_op.add_column(sa.Column('phone', sa.String(length=32), " \
           "nullable=True))\n" in result.stdout
    assert result.stdout.endswith(
        f"Found 3 differences between the models and sqlite:///{root}/shop.db; "
        "`migls revision --autogenerate` writes them as a revision.\n")
    found = differences(run_check(root, "--format", "json"))
    assert {str(d["operation"]) for d in found} == CHECK_OPERATIONS
    by_operation = {d["operation"]: d for d in found}
    assert by_operation["create_foreign_key"] == {
        "operation": "create_foreign_key", "changes": ["add_fk"], "schema": None,
        "table": "orders", "name": "fk_orders_customer_id",
        "message": "foreign key fk_orders_customer_id on orders (customer_id) -> customers.id "
                   "is in the models, not in the database",
        "code": "with op.batch_alter_table('orders', schema=None) as batch_op:\n"
                "    batch_op.create_foreign_key('fk_orders_customer_id', 'customers', "
                "['customer_id'], ['id'])",
        "imports": [], "environment": "alembic.ini", "database": f"sqlite:///{root}/shop.db"}
    assert by_operation["create_index"]["message"] == \
        "index ix_customers_email on customers (email) is in the models, not in the database"
    assert_written_by_alembic(found, root)
    alembic(root, "upgrade", "head")
    assert run_check(root).returncode == 0


def test_changed_columns_and_removed_objects(tmp_path: Path) -> None:
    root = copy_of_shop(tmp_path)
    alembic(root, "upgrade", "head")
    change_models(root, "    name: Mapped[str] = mapped_column(String(100), nullable=False)",
                  "    name: Mapped[str | None] = mapped_column(String(200), nullable=True)")
    models = root / "shop" / "models.py"
    text = models.read_text()
    models.write_text(text[:text.index("class Order(Base):")])  # orders is gone
    found = differences(run_check(root, "--format", "json"))
    assert [(d["operation"], d["changes"], d["message"]) for d in found] == [
        ("drop_table", ["remove_table"], "table orders is in the database, not in the models"),
        ("alter_column", ["modify_type", "modify_nullable"],
         ("column customers.name: type String(length=200) in the models, VARCHAR(length=100) "
          "in the database; column customers.name is nullable in the models, NOT NULL in the "
          "database")),
    ]
    assert_written_by_alembic(found, root)


# -- PostgreSQL ----------------------------------------------------------------------------------


def test_no_drift_then_drift_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    root = copy_of_shop(tmp_path, url=pg_url)
    alembic(root, "upgrade", "head")
    shown = make_url(pg_url).render_as_string(hide_password=True)
    result = run_check(root)
    assert (result.returncode, result.stdout) == (
        0, f"No differences between the models and {shown}.\n"), result.stderr
    change_models(root, "    email: Mapped[str] = mapped_column(String(255), nullable=False)",
                  "    email: Mapped[str] = mapped_column(String(255), nullable=False, "
                  "index=True)\n    phone: Mapped[str | None] = mapped_column(String(32))")
    result = run_check(root)
    assert result.returncode == 1
    # the README's example
    assert result.stdout == (
        "alembic.ini: add_column  column customers.phone is in the models, not in the database\n"
        "    op.add_column('customers', sa.Column('phone', sa.String(length=32), "
        "nullable=True))\n\n"
        "alembic.ini: create_index  index ix_customers_email on customers (email) is in the "
        "models, not in the database\n"
        "    op.create_index(op.f('ix_customers_email'), 'customers', ['email'], unique=False)\n\n"
        f"Found 2 differences between the models and {shown}; `migls revision --autogenerate` "
        "writes them as a revision.\n")
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    example = readme[readme.index("$ migls check\n"):]
    assert result.stdout.split("Found")[0] in example
    found = differences(run_check(root, "--format", "json"))
    assert_written_by_alembic(found, root)
    alembic(root, "upgrade", "head")
    assert run_check(root).returncode == 0


def test_database_option_wins_over_the_configured_one(pg_url: str, tmp_path: Path) -> None:
    root = shop(tmp_path, pg_url)  # PostgreSQL at head, models changed
    set_url(root, "postgresql+psycopg://nobody@127.0.0.1:1/unreachable")
    # a password with a % (ignored by the trust cluster): ConfigParser must not interpolate it
    given = make_url(pg_url).set(password="p%w").render_as_string(hide_password=False)
    result = run_check(root, "--database", given, "--format", "json")
    assert result.returncode == 1, result.stderr
    found = differences(result)
    assert {str(d["operation"]) for d in found} == CHECK_OPERATIONS
    assert all("batch_op" not in str(d["code"]) for d in found)  # not batch on PostgreSQL
    assert {d["database"] for d in found} == {
        make_url(given).render_as_string(hide_password=True) + " (--database)"}
    assert "p%w" not in result.stdout


# -- the temporary SQLite database ----------------------------------------------------------------


def test_temporary_database_when_none_is_configured(tmp_path: Path) -> None:
    root = copy_of_shop(tmp_path, url=None)
    result = run_check(root)
    assert (result.returncode, result.stdout) == (
        0, ("No differences between the models and a temporary SQLite database upgraded to "
            "head.\n")), result.stderr
    change_models(root, "    name: Mapped[str] = mapped_column(String(100), nullable=False)",
                  "    name: Mapped[str] = mapped_column(String(100), nullable=False)\n"
                  "    phone: Mapped[str | None] = mapped_column(String(32))")
    result = run_check(root, "--format", "json")
    assert result.returncode == 1
    (found,) = differences(result)
    assert found["operation"] == "add_column" and found["database"] == \
        "a temporary SQLite database upgraded to head"
    assert not (root / "shop.db").exists()


def test_temporary_database_runs_every_head(tmp_path: Path) -> None:
    root = copy_of_shop(tmp_path, url=None)
    versions = root / "migrations" / "versions"
    for rev, table in (("b1", "b_one"), ("b2", "b_two")):
        (versions / f"{rev}_branch.py").write_text(
            f'from alembic import op\nimport sqlalchemy as sa\nrevision = "{rev}"\n'
            f'down_revision = "{FIRST}"\n\n\ndef upgrade():\n'
            f'    op.create_table("{table}", sa.Column("id", sa.Integer, primary_key=True))\n\n\n'
            f'def downgrade():\n    op.drop_table("{table}")\n')
    found = differences(run_check(root, "--format", "json"))
    assert sorted((d["operation"], d["table"]) for d in found) == [
        ("drop_table", "b_one"), ("drop_table", "b_two")]


def test_temporary_database_refused_when_the_history_needs_postgresql(tmp_path: Path) -> None:
    root = copy_of_shop(tmp_path, url=None)
    (root / "migrations" / "versions" / "c0ffee_trigram.py").write_text(
        f'from alembic import op\nrevision = "c0ffee"\ndown_revision = "{FIRST}"\n\n\n'
        'def upgrade():\n    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")\n\n\n'
        'def downgrade():\n    op.execute("DROP EXTENSION pg_trgm")\n')
    refused(run_check(root), "no database is configured, and the revisions cannot be applied "
            "to a temporary SQLite database: OperationalError",
            "migrations/versions/c0ffee_trigram.py:7", "give one with --database URL")


def test_env_py_with_its_own_database(tmp_path: Path) -> None:
    """env.py that ignores sqlalchemy.url: its database is the configured one; migls never
    upgrades it, never creates a version table there, and refuses --database."""
    root = copy_of_shop(tmp_path, url=None)
    env_py = root / "migrations" / "env.py"
    text = env_py.read_text()
    old = """    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )"""
    assert old in text
    env_py.write_text("import os\nfrom sqlalchemy import create_engine\n" + text.replace(
        old, '    connectable = create_engine(os.environ["SHOP_DATABASE_URL"])'))
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    own = {"SHOP_DATABASE_URL": f"sqlite:///{empty}"}
    refused(run_check(root, env=own), "alembic: Target database is not up to date.")
    assert list(sqlite3.connect(empty).execute("SELECT name FROM sqlite_master")) == []
    at_head = tmp_path / "at_head.db"
    mine = {"SHOP_DATABASE_URL": f"sqlite:///{at_head}"}
    upgraded = subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=root,
                              capture_output=True, text=True, env={**os.environ, **mine},
                              check=False)
    assert upgraded.returncode == 0, upgraded.stderr
    result = run_check(root, env=mine)
    assert (result.returncode, result.stdout) == (
        0, (f"No differences between the models and sqlite:///{at_head} (the database env.py "
            "connects to).\n")), result.stderr
    refused(run_check(root, "--database", f"sqlite:///{tmp_path / 'other.db'}", env=mine),
            f"env.py does not connect to sqlalchemy.url (it connected to sqlite:///{at_head})")
    assert not (tmp_path / "other.db").exists()


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("configured", [True, False], ids=["configured", "temporary"])
def test_env_py_that_raises(tmp_path: Path, configured: bool) -> None:
    root = shop(tmp_path)
    if not configured:
        set_url(root, None)
    env = root / "migrations" / "env.py"
    env.write_text(env.read_text().replace(
        "config = context.config", "config = context.config\nraise RuntimeError('boom from env')"))
    refused(run_check(root), "the project's env.py failed: RuntimeError: boom from env "
            "(migrations/env.py:16)")


@pytest.mark.parametrize("configured", [True, False], ids=["configured", "temporary"])
def test_models_that_do_not_import(tmp_path: Path, configured: bool) -> None:
    root = shop(tmp_path)
    if not configured:
        set_url(root, None)
    models = root / "shop" / "models.py"
    text = models.read_text() + "import not_a_module_anywhere\n"
    models.write_text(text)
    refused(run_check(root), "ModuleNotFoundError: No module named 'not_a_module_anywhere' "
            f"(shop/models.py:{text.count(chr(10))})")


def test_an_unreachable_database(tmp_path: Path) -> None:
    root = copy_of_shop(tmp_path, url="postgresql+psycopg://nobody:secret@127.0.0.1:1/nothing")
    line = refused(run_check(root), "OperationalError", "127.0.0.1", "port 1")
    assert "secret" not in line
    refused(run_check(root, "--database", "postgresql+psycopg://nobody@127.0.0.1:1/x"),
            "OperationalError", "port 1")


def test_a_database_behind_head(tmp_path: Path) -> None:
    root = shop(tmp_path)
    alembic(root, "downgrade", "base")
    refused(run_check(root), "alembic: Target database is not up to date.")


def test_a_sqlite_database_that_does_not_exist_is_not_created(tmp_path: Path) -> None:
    root = copy_of_shop(tmp_path)  # sqlalchemy.url names shop.db, never created
    refused(run_check(root), f"the SQLite database {root}/shop.db does not exist")
    assert not (root / "shop.db").exists()
    refused(run_check(root, "--database", "sqlite:///elsewhere.db"),
            f"the SQLite database {root}/elsewhere.db does not exist")


def test_bad_arguments(tmp_path: Path) -> None:
    root = copy_of_shop(tmp_path)
    line = refused(run_check(root, "--database", "not a url with a s3cret"),
                   "--database: not a SQLAlchemy URL")
    assert "s3cret" not in line
    result = subprocess.run([sys.executable, "-m", "migls", "check", "--python",
                             str(tmp_path / "nope")], cwd=root, capture_output=True, text=True,
                            check=False)
    refused(result, "cannot run the project's Python")
    without_site = tmp_path / "python-without-site-packages"
    without_site.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    without_site.chmod(0o755)
    refused(run_check(root, "--python", without_site),
            f"Alembic is not installed in {sys.executable}; use --python")
    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    refused(run_check(elsewhere), "no Alembic environment found")


def test_help_says_it_runs_project_code() -> None:
    result = subprocess.run([sys.executable, "-m", "migls", "check", "--help"],
                            capture_output=True, text=True, check=True)
    text = " ".join(result.stdout.split())
    assert "This RUNS THE PROJECT'S CODE: env.py and the models it imports" in text
    assert "(only when none is configured) a temporary SQLite database" in text
    assert "Exit 0: no drift, 1: drift, 2: the comparison could not be made." in text


def test_cancelling_removes_the_temporary_database(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    root = copy_of_shop(tmp_path, url=None)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    (env,), _ = discover([root])
    with pytest.raises(CheckError, match="cancelled"):
        check(env, python=sys.executable, cancelled=lambda: True)
    assert list(temporary.iterdir()) == []
