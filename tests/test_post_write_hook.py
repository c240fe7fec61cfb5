"""The README's Alembic post-write hook configurations, as written, with a real ``alembic
revision --autogenerate`` on the example application against a real PostgreSQL: the file
Alembic writes gets migls' safe fixes at once, what is left is printed, and ``alembic
revision`` succeeds whatever migls' exit status (Alembic does not look at it)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from test_revision_command import alembic, heads, lint, shop

README = Path(__file__).resolve().parent.parent / "README.md"

#: An index the models ask to build concurrently (Alembic renders it outside
#: autocommit_block: MG304, whose fix is safe) and a foreign key on an existing table
#: (MG305, whose fix is unsafe: it stays, reported).
MODELS = {
    '    email: Mapped[str] = mapped_column(String(255), nullable=False)':
    '    email: Mapped[str] = mapped_column(String(255), nullable=False)\n'
    '    __table_args__ = (Index("ix_customers_email", "email", postgresql_concurrently=True),)',
    '    customer_id: Mapped[int] = mapped_column(Integer, nullable=False)':
    '    customer_id: Mapped[int] = mapped_column(\n'
    '        Integer, ForeignKey("customers.id", name="fk_orders_customer_id"), nullable=False)',
    "from sqlalchemy import DateTime,": "from sqlalchemy import DateTime, ForeignKey, Index,",
}


def readme_hooks() -> list[tuple[str, str]]:
    """The ``(language, text)`` of each configuration block of the README's hook section."""
    text = README.read_text(encoding="utf-8")
    start = text.index("## Alembic post-write hook\n")
    section = text[start:text.index("\n## ", start + 1)]
    blocks = re.findall(r"^( *)```(ini|toml)\n(.*?)^\1```", section, re.MULTILINE | re.DOTALL)
    return [(language, textwrap.dedent(body)) for _, language, body in blocks]


def project(tmp_path: Path, pg_url: str) -> Path:
    """The shop on PostgreSQL at head, its models changed (the other helper's ``shop``
    changes them its own way first; these changes come on top of the original file)."""
    root = shop(tmp_path, pg_url)
    models = root / "shop" / "models.py"
    original = (Path(__file__).resolve().parent.parent / "examples" / "shop" / "shop" /
                "models.py").read_text()
    for old, new in MODELS.items():
        assert old in original
        original = original.replace(old, new)
    models.write_text(original)
    return root


def revision(root: Path, *args: str, path: str | None = None) -> tuple[str, Path]:
    """``alembic revision ARGS``, which must succeed; its output and the new file."""
    versions = root / "migrations" / "versions"
    before = set(versions.glob("*.py"))
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = path
    result = subprocess.run([sys.executable, "-m", "alembic", "revision", *args], cwd=root,
                            capture_output=True, text=True, env=env, timeout=300, check=False)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    (new,) = set(versions.glob("*.py")) - before
    return result.stdout + result.stderr, new


def findings_printed(output: str) -> list[str]:
    return re.findall(r"\.py:\d+:\d+: (MG\d{3}) ", output)


def assert_fixed(root: Path, output: str, path: Path) -> None:
    """MG304's safe fix is in the file; MG305 (unsafe fix) is left and was printed."""
    assert "Running post write hook 'migls'" in output
    assert findings_printed(output) == ["MG305"], output
    text = path.read_text()
    upgrade = text[text.index("def upgrade()"):text.index("def downgrade()")]
    assert re.search(r"with op\.get_context\(\)\.autocommit_block\(\):\n +op\.create_index\("
                     r"'ix_customers_email'", upgrade), upgrade
    assert [d["code"] for d in lint(root)] == ["MG305"]


def test_console_scripts_hook_in_alembic_ini(pg_url: str, tmp_path: Path) -> None:
    (language, hook), *_ = readme_hooks()
    assert language == "ini" and "migls.type = console_scripts" in hook
    root = project(tmp_path, pg_url)
    ini = root / "alembic.ini"
    ini.write_text(ini.read_text() + "\n" + hook)
    output, path = revision(root, "--autogenerate", "-m", "email index, order fk")
    assert_fixed(root, output, path)
    assert heads(root) == {path.name.split("_")[0]}
    # The fixed upgrade runs on PostgreSQL (unfixed, PostgreSQL refuses CREATE INDEX
    # CONCURRENTLY in the migration's transaction). Not the downgrade: MG304 does not look
    # at downgrade(), whose drop_index(..., postgresql_concurrently=True) fails alike.
    alembic(root, "upgrade", "head")
    # A plain revision goes through the hook too: nothing to fix there.
    output, path = revision(root, "-m", "empty")
    assert "All checks passed (1 revision file)." in output and findings_printed(output) == []


def test_hook_in_pyproject_toml(pg_url: str, tmp_path: Path) -> None:
    ((_, hook),) = [block for block in readme_hooks() if block[0] == "toml"]
    assert "[[tool.alembic.post_write_hooks]]" in hook
    root = project(tmp_path, pg_url)
    (root / "pyproject.toml").write_text(hook)  # alembic.ini has no [post_write_hooks]
    output, path = revision(root, "--autogenerate", "-m", "email index, order fk")
    assert_fixed(root, output, path)


def test_exec_hook_and_the_exit_status(pg_url: str, tmp_path: Path) -> None:
    """The ``exec`` runner finds ``migls`` on the PATH. Without ``--exit-zero`` migls exits
    1 for what is left, and ``alembic revision`` still succeeds: Alembic ignores it."""
    (hook,) = [text for language, text in readme_hooks() if "migls.type = exec" in text]
    bindir = Path(sys.executable).parent
    assert (bindir / "migls").is_file(), "the migls console script is not installed"
    path_variable = os.pathsep.join([str(bindir), os.environ.get("PATH", "")])
    for exit_zero in (True, False):
        root = project(tmp_path / ("exit-zero" if exit_zero else "status"), pg_url)
        configured = hook if exit_zero else hook.replace(" --exit-zero", "")
        assert ("--exit-zero" in configured) is exit_zero
        ini = root / "alembic.ini"
        ini.write_text(ini.read_text() + "\n" + configured)
        output, path = revision(root, "--autogenerate", "-m", "email index, order fk",
                                path=path_variable)
        assert_fixed(root, output, path)
        again = subprocess.run([sys.executable, "-m", "migls", "lint", "--format", "json",
                                str(path)], cwd=root, capture_output=True, text=True,
                               check=False)
        assert again.returncode == 1 and [d["code"] for d in json.loads(again.stdout)] == \
            ["MG305"]
        alembic(root, "downgrade", "base")  # the next project uses a fresh schema
