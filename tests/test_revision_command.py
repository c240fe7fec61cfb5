"""``migls revision``: a new revision from the environment's template (no project code), and
``--autogenerate`` through the project's own Alembic, ``env.py`` and models in a subprocess,
on the example application ``examples/shop`` against a real SQLite file database and a real
PostgreSQL. Alembic's ``ScriptDirectory`` is the oracle of the graph; the generated
revisions are run up, down and up again."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from migls.discovery import discover
from migls.revisions import RevisionCommandError, new_revision, project_python

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "examples" / "shop"
BLOG = ROOT / "examples" / "blog"
FIRST = "0a1b2c3d4e5f"


def migls(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m migls ARGS`` as a user runs it; never a traceback from migls."""
    result = subprocess.run([sys.executable, "-m", "migls", *map(str, args)], cwd=cwd,
                            capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1, 2), result.stderr
    return result


def alembic(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The project's own ``alembic`` command; it must succeed."""
    result = subprocess.run([sys.executable, "-m", "alembic", *args], cwd=root,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def heads(root: Path) -> set[str]:
    return set(ScriptDirectory.from_config(Config(str(root / "alembic.ini"))).get_heads())


def versions(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "migrations" / "versions").iterdir()
                  if p.name != "__pycache__")


def leftovers(root: Path) -> list[Path]:
    """Staging directories or temporary files that a run must never leave behind."""
    return [p for p in root.rglob("*") if p.name.startswith(".migls") or p.suffix == ".migls"
            or (p.name.startswith(".") and p.parent.name == "versions")]


# -- without --autogenerate: the template only ------------------------------------------------


def test_revision_is_what_alembic_revision_writes(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    shutil.copytree(SHOP, ours)
    shutil.copytree(SHOP, theirs)
    result = migls("revision", "-m", "add a thing", "--rev-id", "f00d", cwd=ours)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Wrote migrations/versions/f00d_add_a_thing.py"
    alembic(theirs, "revision", "-m", "add a thing", "--rev-id", "f00d")
    date = re.compile(r"^Create Date: .*$", re.MULTILINE)
    mine, expected = ((root / "migrations" / "versions" / "f00d_add_a_thing.py").read_text()
                      for root in (ours, theirs))
    assert date.sub("", mine) == date.sub("", expected)
    assert heads(ours) == {"f00d"}
    assert not (ours / "shop.db").exists()  # env.py never ran
    assert leftovers(ours) == []


def test_several_heads_are_refused_with_the_choices(tmp_path: Path) -> None:
    shutil.copytree(BLOG, tmp_path / "blog")
    root = tmp_path / "blog"
    before = versions(root)
    result = migls("revision", "-m", "more", cwd=root)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        "migls: error: the history has 2 heads: 6e8b3d5f2a97 (create comments table), "
        "7f4a6c2e9b18 (create tags and post_tags tables); choose the parent with --head REV "
        "(e.g. --head 6e8b3d5f2a97), or merge them first with `migls merge`")
    assert versions(root) == before
    made = migls("revision", "-m", "more", "--head", "7f4a", "--rev-id", "abc", cwd=root)
    assert made.returncode == 0, made.stderr
    assert heads(root) == {"6e8b3d5f2a97", "abc"}
    not_head = migls("revision", "-m", "x", "--head", "5d2f9a4c1e83", cwd=root)
    assert not_head.returncode == 2 and "is not a head" in not_head.stderr


def test_a_first_revision_and_odd_messages(tmp_path: Path) -> None:
    shutil.copytree(SHOP, tmp_path / "shop")
    root = tmp_path / "shop"
    for path in (root / "migrations" / "versions").iterdir():
        path.unlink()
    assert migls("revision", "-m", "Ünïcode 'q' \"dq\" ${x} 100%", "--rev-id", "b0",
                 cwd=root).returncode == 0
    script = ScriptDirectory.from_config(Config(str(root / "alembic.ini")))
    assert script.get_bases() == ["b0"] and script.get_revision("b0").doc == (
        "Ünïcode 'q' \"dq\" ${x} 100%")
    for message in ('"""', "\\N{nope"):
        result = migls("revision", "-m", message, cwd=root)
        assert result.returncode == 2 and "nothing was written" in result.stderr
    assert len(versions(root)) == 1 and leftovers(root) == []


def test_help_says_which_commands_run_project_code() -> None:
    def help_of(command: str) -> str:
        return " ".join(migls(command, "--help", cwd=ROOT).stdout.split())

    revision = help_of("revision")
    assert "With --autogenerate, this RUNS THE PROJECT'S CODE" in revision
    # without it only the project's Mako template is rendered, whose <% %> blocks are Python
    assert "Without --autogenerate" in revision and "env.py is not run" in revision
    assert "<% %> blocks" in revision
    merge = help_of("merge")
    assert "env.py is not run" in merge and "the project's Mako template is rendered" in merge
    assert "<% %> blocks" in merge
    assert "Runs no project code" in help_of("rebase")
    assert "Runs no project code" in help_of("graph")


def test_project_python_prefers_the_projects_venv(tmp_path: Path) -> None:
    shutil.copytree(SHOP, tmp_path / "shop")
    root = tmp_path / "shop"
    (root / ".git").mkdir()
    (env,), _ = discover([root])
    assert project_python(env) == sys.executable
    venv_python = root / ".venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.symlink_to(sys.executable)
    assert project_python(env) == str(venv_python)


# -- --autogenerate on the shop, SQLite and PostgreSQL ------------------------------------------

CHANGED_MODELS = {
    # an index
    '    email: Mapped[str] = mapped_column(String(255), nullable=False)':
    '    email: Mapped[str] = mapped_column(String(255), nullable=False, index=True)',
    # a column
    '    name: Mapped[str] = mapped_column(String(100), nullable=False)':
    '    name: Mapped[str] = mapped_column(String(100), nullable=False)\n'
    '    phone: Mapped[str | None] = mapped_column(String(32))',
    # a foreign key
    '    customer_id: Mapped[int] = mapped_column(Integer, nullable=False)':
    '    customer_id: Mapped[int] = mapped_column(\n'
    '        Integer, ForeignKey("customers.id", name="fk_orders_customer_id"), nullable=False)',
    "from sqlalchemy import DateTime,": "from sqlalchemy import DateTime, ForeignKey,",
}


def shop(tmp_path: Path, url: str | None = None) -> Path:
    """A copy of the example, upgraded to head, with its models changed."""
    root = tmp_path / "shop"
    shutil.copytree(SHOP, root, ignore=shutil.ignore_patterns("__pycache__", "shop.db"))
    if url is not None:
        ini = root / "alembic.ini"
        text = ini.read_text()
        ini.write_text(re.sub(r"^sqlalchemy\.url = .*$", "sqlalchemy.url = "
                              + url.replace("%", "%%"), text, flags=re.MULTILINE))
    alembic(root, "upgrade", "head")
    models = root / "shop" / "models.py"
    text = models.read_text()
    for old, new in CHANGED_MODELS.items():
        assert old in text
        text = text.replace(old, new)
    models.write_text(text)
    return root


def autogenerate(root: Path, *options: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    before = set(versions(root))
    result = migls("revision", "--autogenerate", "-m", "phone, email index, order fk",
                   "--python", sys.executable, *options, cwd=root)
    assert result.returncode == 0, result.stderr
    (new,) = set(versions(root)) - before
    assert result.stdout.strip().endswith(f"Wrote migrations/versions/{new}")
    assert leftovers(root) == []
    return result, root / "migrations" / "versions" / new


def lint(root: Path) -> list[dict[str, object]]:
    result = migls("lint", "--format", "json", ".", cwd=root)
    found: list[dict[str, object]] = json.loads(result.stdout)
    return found


def round_trip(root: Path) -> None:
    alembic(root, "upgrade", "head")
    alembic(root, "downgrade", "-1")
    alembic(root, "upgrade", "head")


def test_autogenerate_on_sqlite(tmp_path: Path) -> None:
    root = shop(tmp_path)
    result, path = autogenerate(root, "--fix")
    text = path.read_text()
    assert "batch_op.add_column(sa.Column('phone'" in text
    assert "create_index(batch_op.f('ix_customers_email')" in text
    assert "create_foreign_key('fk_orders_customer_id'" in text
    assert f"down_revision: Union[str, Sequence[str], None] = '{FIRST}'" in text
    assert "Detected added column 'customers.phone'" in result.stderr  # Alembic's own report
    assert ".migls-revision" not in result.stderr
    assert lint(root) == []
    assert heads(root) == {path.name.split("_")[0]}
    round_trip(root)
    db = sqlite3.connect(root / "shop.db")
    assert "phone" in [r[1] for r in db.execute("PRAGMA table_info(customers)")]
    assert ("ix_customers_email",) in list(db.execute("SELECT name FROM sqlite_master WHERE type = 'index'"))
    assert [r[2] for r in db.execute("PRAGMA foreign_key_list(orders)")] == ["customers"]


def pg_facts(url: str) -> tuple[bool, bool, bool]:
    """(phone column exists, ix_customers_email is valid, fk_orders_customer_id validated)."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        phone = conn.execute("SELECT count(*) FROM information_schema.columns WHERE "
                             "table_name = 'customers' AND column_name = 'phone'").fetchone()
        index = conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = "
                             "'ix_customers_email'::regclass").fetchone()
        fk = conn.execute("SELECT convalidated FROM pg_constraint WHERE conname = "
                          "'fk_orders_customer_id'").fetchone()
    return bool(phone and phone[0]), bool(index and index[0]), bool(fk and fk[0])


def test_autogenerate_on_postgresql_with_unsafe_fixes_lints_clean(pg_url: str, tmp_path: Path) -> None:
    root = shop(tmp_path, pg_url)
    result, path = autogenerate(root, "--unsafe-fixes")
    text = path.read_text()
    assert "Fixed 2 problems." in result.stderr
    assert "postgresql_concurrently=True" in text and "autocommit_block()" in text
    assert "postgresql_not_valid=True" in text
    assert "VALIDATE CONSTRAINT fk_orders_customer_id" in text
    assert lint(root) == []
    round_trip(root)
    assert pg_facts(pg_url) == (True, True, True)


def test_autogenerate_on_postgresql_with_safe_fixes_prints_what_is_left(
        pg_url: str, tmp_path: Path) -> None:
    root = shop(tmp_path, pg_url)
    result, path = autogenerate(root, "--fix")
    shown = re.findall(r": (MG\d{3}) ", result.stdout)
    assert sorted(shown) == ["MG303", "MG305"]  # unsafe fixes: only offered
    assert sorted(d["code"] for d in lint(root)) == ["MG303", "MG305"]
    assert path.name in result.stdout
    round_trip(root)
    assert pg_facts(pg_url) == (True, True, True)


# -- bad input ----------------------------------------------------------------------------------


def refused(root: Path, *words: str, options: tuple[str, ...] = ()) -> None:
    """Exit 2 with the project's own error on one line, and nothing written."""
    before = versions(root)
    result = migls("revision", "--autogenerate", "-m", "x", "--python", sys.executable,
                   *options, cwd=root)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("migls: error: "), result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert versions(root) == before and leftovers(root) == []


def test_env_py_that_raises(tmp_path: Path) -> None:
    root = shop(tmp_path)
    env = root / "migrations" / "env.py"
    env.write_text(env.read_text().replace("config = context.config",
                                           "config = context.config\nraise RuntimeError('boom from env')"))
    refused(root, "env.py failed", "RuntimeError: boom from env", "migrations/env.py:16")


def test_models_that_do_not_import(tmp_path: Path) -> None:
    root = shop(tmp_path)
    models = root / "shop" / "models.py"
    text = models.read_text() + "import not_a_module_anywhere\n"
    models.write_text(text)
    refused(root, "ModuleNotFoundError: No module named 'not_a_module_anywhere'",
            f"shop/models.py:{text.count(chr(10))}")


def test_an_unreachable_database(tmp_path: Path) -> None:
    root = shop(tmp_path)
    ini = root / "alembic.ini"
    ini.write_text(re.sub(r"^sqlalchemy\.url = .*$",
                          "sqlalchemy.url = postgresql+psycopg://nobody@127.0.0.1:1/nothing",
                          ini.read_text(), flags=re.MULTILINE))
    refused(root, "OperationalError", "127.0.0.1", "port 1")


def test_a_database_behind_head(tmp_path: Path) -> None:
    root = shop(tmp_path)
    alembic(root, "downgrade", "base")
    refused(root, "alembic: Target database is not up to date.")


def test_a_message_that_breaks_python_and_a_missing_interpreter(tmp_path: Path) -> None:
    root = shop(tmp_path)
    before = versions(root)
    result = migls("revision", "--autogenerate", "-m", 'triple """ quotes', "--python",
                   sys.executable, cwd=root)
    assert result.returncode == 2 and "not valid Python" in result.stderr
    assert versions(root) == before and leftovers(root) == []
    result = migls("revision", "--autogenerate", "-m", "x", "--python", tmp_path / "nope", cwd=root)
    assert result.returncode == 2 and "cannot run the project's Python" in result.stderr
    assert leftovers(root) == []


def test_several_heads_are_refused_before_running_anything(tmp_path: Path) -> None:
    root = shop(tmp_path)
    (root / "migrations" / "versions" / "0002_other.py").write_text(
        f'revision = "0002"\ndown_revision = "{FIRST}"\n')
    (root / "migrations" / "versions" / "0003_more.py").write_text(
        f'revision = "0003"\ndown_revision = "{FIRST}"\n')
    env = root / "migrations" / "env.py"
    env.write_text("raise RuntimeError('env.py must not run')\n")
    refused(root, "the history has 2 heads", "--head REV", "migls merge")


def test_cancelling_leaves_nothing(tmp_path: Path) -> None:
    root = shop(tmp_path)
    (env,), _ = discover([root])
    with pytest.raises(RevisionCommandError, match="cancelled"):
        new_revision(env, "x", autogenerate=True, python=sys.executable, cancelled=lambda: True)
    assert versions(root) == [f"{FIRST}_create_customers_and_orders.py"]
    assert leftovers(root) == []
