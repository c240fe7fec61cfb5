"""MG312 takes env.py's lock_timeout into account (read as text, never imported)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from migls.rulekit import dialect_from_url, env_sets_lock_timeout

CONNECT_ARGS = '''
connectable = engine_from_config(config.get_section(config.config_ini_section),
                                 connect_args={"options": "-c lock_timeout=5000"})
'''
SESSION_SET = '''
with connectable.connect() as connection:
    connection.execute(text("SET lock_timeout = '5s'"))
    context.configure(connection=connection, target_metadata=None)
'''
SET_LOCAL_ONE_TRANSACTION = '''
with context.begin_transaction():
    context.execute("SET LOCAL lock_timeout = '5s'")
    context.run_migrations()
'''
SET_LOCAL_PER_MIGRATION = '''
context.configure(connection=connection, transaction_per_migration=True)
with context.begin_transaction():
    context.execute("SET LOCAL lock_timeout = '5s'")
    context.run_migrations()
'''


@pytest.mark.parametrize(("env_py", "expected"), [
    (CONNECT_ARGS, True),
    (SESSION_SET, True),
    (SET_LOCAL_ONE_TRANSACTION, True),
    (SET_LOCAL_PER_MIGRATION, False),  # only the first revision's transaction gets it
    ("context.configure(connection=connection)\n", False),
])
def test_env_py_lock_timeout(env_py: str, expected: bool) -> None:
    assert env_sets_lock_timeout(env_py) is expected


@pytest.mark.parametrize(("url", "dialect"), [
    ("postgresql+psycopg://u@h/db", "postgresql"), ("postgres://h/db", "postgresql"),
    ("sqlite:///app.db", "sqlite"), ("mysql+pymysql://h/db", "mysql"),
    ("driver://user:pass@localhost/dbname", None), ("%(DB_URL)s", None), (None, None),
])
def test_dialect_from_url(url: str | None, dialect: str | None) -> None:
    assert dialect_from_url(url) == dialect


REVISION = '''revision = "a1"
down_revision = None


def upgrade():
    op.add_column("users", sa.Column("note", sa.Text(), nullable=True))


def downgrade():
    op.drop_column("users", "note")
'''


def _codes(root: Path) -> list[str]:
    result = subprocess.run([sys.executable, "-m", "migls", "lint", "--format", "json", str(root)],
                            capture_output=True, text=True)
    assert result.returncode in (0, 1), result.stderr
    return [d["code"] for d in json.loads(result.stdout)]


@pytest.mark.parametrize(("env_py", "url", "expected"), [
    ("", "postgresql://h/db", ["MG312"]),
    (SESSION_SET, "postgresql://h/db", []),
    ("", "sqlite:///app.db", []),  # MG3 is about PostgreSQL
])
def test_environment_settings_reach_the_rules(tmp_path: Path, env_py: str, url: str,
                                              expected: list[str]) -> None:
    (tmp_path / "alembic.ini").write_text(
        f"[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = {url}\n")
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "migrations" / "env.py").write_text("raise SystemExit('env.py was run')\n" + env_py)
    (versions / "0001_a.py").write_text(REVISION)
    assert _codes(tmp_path) == expected
