"""Suppression comments: ``# migls: ignore[...]`` on the line or above a statement,
``# migls: ignore``, ``# migls: file-ignore[...]``, reasons, and MG004 for the ones that
suppress nothing, name no rule, or (with ``require-reason``) give no reason."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from migls.config import parse_settings
from migls.engine import lint_sources
from migls.suppress import find_suppressions

BASE = 'revision = "a1"\ndown_revision = None\n'


def lint(code: str, **settings: object) -> list[tuple[int, str, str]]:
    """(line, code, message) of each finding in ``0002_b.py``, which follows a base ``a1``."""
    sources = {"0001_a.py": BASE, "0002_b.py": textwrap.dedent(code).lstrip("\n")}
    result = lint_sources(sources, parse_settings(dict(settings), None, "test"))
    return [(d.span.line, d.code, d.message) for d in result.diagnostics
            if d.path == "0002_b.py"]


def codes(code: str, **settings: object) -> list[tuple[int, str]]:
    return [(line, rule) for line, rule, _ in lint(code, **settings)]


DANGLING = '''
    revision = "b2"
    down_revision = "zz"{comment}
'''


def test_without_a_suppression() -> None:
    assert codes(DANGLING.format(comment="")) == [(2, "MG101")]


@pytest.mark.parametrize("comment", [
    "# migls: ignore[MG101]",
    "# migls: ignore[dangling-down-revision]",           # by name
    "# migls: ignore[MG1]",                              # by prefix
    "# migls: ignore[MG10]",
    "# migls: ignore[MG108, MG101]",                    # several (MG108 runs: judged below)
    "# migls: ignore",                                   # everything on the line
    "#migls:ignore[MG101]",                              # spacing is free
    "# migls: ignore[MG101] -- the parent lives in another repository",
])
def test_on_the_reported_line(comment: str) -> None:
    found = codes(DANGLING.format(comment="  " + comment))
    assert (2, "MG101") not in found
    if "MG108" in comment:  # it suppresses nothing for MG108
        assert found == [(2, "MG004")]
    else:
        assert found == []


def test_after_another_tools_pragma() -> None:
    assert codes(DANGLING.format(comment="  # type: ignore  # migls: ignore[MG101]")) == []


def test_a_suppression_for_another_rule_does_not_suppress() -> None:
    found = lint(DANGLING.format(comment="  # migls: ignore[MG102]"))
    assert [(line, code) for line, code, _ in found] == [(2, "MG101"), (2, "MG004")]
    assert "MG102" in found[1][2]


def test_a_comment_above_a_multi_line_statement_covers_all_of_it() -> None:
    code = '''
        revision = "b2"
        {comment}
        down_revision = (
            "a1",
            "zz",
        )
    '''
    assert codes(code.format(comment="x = 0")) == [(5, "MG101")]
    assert codes(code.format(comment="# migls: ignore[MG101] -- merged from the plugin repo")) == []


def test_a_comment_above_covers_only_the_next_statement() -> None:
    code = '''
        # migls: ignore[MG101]
        revision = "b2"
        down_revision = "zz"
    '''
    assert codes(code) == [(1, "MG004"), (3, "MG101")]


def test_a_trailing_comment_on_the_first_line_covers_the_statement() -> None:
    code = '''
        revision = "b2"
        down_revision = (  # migls: ignore[MG101]
            "a1",
            "zz",
        )
    '''
    assert codes(code) == []


def test_a_trailing_comment_on_another_line_covers_only_that_line() -> None:
    code = '''
        revision = "b2"
        down_revision = (
            "a1",  # migls: ignore[MG101]
            "zz",
        )
    '''
    assert codes(code) == [(3, "MG004"), (4, "MG101")]


def test_the_comment_must_be_a_comment() -> None:
    code = '''
        revision = "b2"
        down_revision = "zz"; note = "# migls: ignore[MG101]"
    '''
    assert codes(code) == [(2, "MG101")]


EMPTY_DOWNGRADE = textwrap.dedent('''
    revision = "b2"
    down_revision = "a1"


    def upgrade():
        op.execute("SET LOCAL lock_timeout = '5s'")  # keeps MG312 out of these cases
        op.add_column("users", sa.Column("x", sa.Text()))


    def downgrade():
        pass
''') + "{comment}\n"


@pytest.mark.parametrize("comment", [
    "# migls: file-ignore[MG202]",
    "# migls: file-ignore[empty-downgrade] -- we never downgrade this one",
    "# migls: file-ignore[MG2]",
    "# migls: file-ignore",
])
def test_file_ignore(comment: str) -> None:
    assert codes(EMPTY_DOWNGRADE.format(comment="")) == [(10, "MG202")]
    assert codes(EMPTY_DOWNGRADE.format(comment=comment)) == []
    # anywhere in the file
    assert codes(comment + "\n" + textwrap.dedent(EMPTY_DOWNGRADE.format(comment=""))) == []


def test_file_ignore_only_its_rules() -> None:
    code = EMPTY_DOWNGRADE.format(comment="# migls: file-ignore[MG202]").replace('"a1"', '"zz"')
    assert codes(code) == [(2, "MG101")]


@pytest.mark.parametrize(("comment", "selectors", "reason", "file_level"), [
    ("# migls: ignore[MG401] -- column unused since 4.2", ("MG401",), "column unused since 4.2", False),
    ("# migls: ignore[MG401]: unused", ("MG401",), "unused", False),
    ("# migls: ignore[MG401] \u2014 unused", ("MG401",), "unused", False),
    ("# migls: ignore[MG401]", ("MG401",), None, False),
    ("# migls: ignore[ MG401 , drop-table ,MG3 ]", ("MG401", "drop-table", "MG3"), None, False),
    ("# migls: ignore -- it is fine", (), "it is fine", False),
    ("# migls: ignore", (), None, False),
    ("# migls: file-ignore[MG3] -- data-only project", ("MG3",), "data-only project", True),
    ("# migls: ignore[MG401] --   ", ("MG401",), None, False),
])
def test_parsing(comment: str, selectors: tuple[str, ...], reason: str | None,
                 file_level: bool) -> None:
    [found] = find_suppressions(f"x = 1  {comment}\n", [(1, 1)])
    assert found.selectors == selectors
    assert found.reason == reason
    assert found.file_level == file_level
    assert (found.span.line, found.span.column) == (1, 7)


def test_not_suppressions() -> None:
    text = "x = 1  # migls is great\ny = '# migls: ignore'\n# see migls: ignore docs\n"
    assert find_suppressions(text, [(1, 1), (2, 2)]) == []


# -- MG004 -----------------------------------------------------------------------------------

def test_unused_suppression() -> None:
    found = lint('''
        revision = "b2"
        down_revision = "a1"  # migls: ignore[MG101]
    ''')
    assert found == [(2, "MG004", "unused suppression: nothing to ignore for MG101 here")]


def test_unused_bare_suppression() -> None:
    [(line, code, message)] = lint('''
        revision = "b2"  # migls: ignore
        down_revision = "a1"
    ''')
    assert (line, code) == (1, "MG004")
    assert "everything" in message


def test_unused_file_ignore() -> None:
    assert codes('''
        revision = "b2"
        down_revision = "a1"
        # migls: file-ignore[MG1] -- nothing to hide
    ''') == [(3, "MG004")]


def test_unused_file_ignore_of_an_installed_rule() -> None:
    assert codes('''
        # migls: file-ignore[MG202]
        revision = "b2"
        down_revision = "a1"
    ''') == [(1, "MG004")]


def test_suppression_of_an_unknown_rule() -> None:
    [(line, code, message)] = lint('''
        revision = "b2"
        down_revision = "zz"  # migls: ignore[MG999]
    ''') [1:]
    assert (line, code) == (2, "MG004")
    assert "unknown rule" in message and "MG999" in message


def test_a_deselected_rule_is_not_judged() -> None:
    code = EMPTY_DOWNGRADE.format(comment="").replace(
        "def downgrade():", "def downgrade():  # migls: ignore[MG202]")
    assert codes(code) == []
    assert codes(code, select=["MG0", "MG1"]) == []  # MG202 did not run: not "unused"


def test_mg004_can_be_turned_off() -> None:
    code = DANGLING.format(comment="").replace('"zz"', '"a1"  # migls: ignore[MG101]')
    assert codes(code) == [(2, "MG004")]
    assert codes(code, ignore=["MG004"]) == []


@pytest.mark.parametrize(("comment", "reported"), [
    ("# migls: ignore[MG101]", True),
    ("# migls: ignore", True),
    ("# migls: ignore[MG101] -- the parent lives in another repository", False),
    ("# migls: ignore -- the parent lives in another repository", False),
])
def test_require_reason(comment: str, reported: bool) -> None:
    code = DANGLING.format(comment="  " + comment)
    assert codes(code) == []
    found = lint(code, **{"require-reason": True})
    if reported:
        [(line, rule, message)] = found
        assert (line, rule) == (2, "MG004")
        assert "reason" in message
    else:
        assert found == []


def test_require_reason_for_file_ignore() -> None:
    code = EMPTY_DOWNGRADE.format(comment="# migls: file-ignore[MG202]")
    assert codes(code, **{"require-reason": True}) == [(12, "MG004")]


def test_suppressions_in_the_cli(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "0001_a.py").write_text(BASE)
    (versions / "0002_b.py").write_text(
        'revision = "b2"\ndown_revision = "zz"  # migls: ignore[MG101] -- vendored\n'
        'branch_labels = None  # migls: ignore[MG109]\n')
    result = subprocess.run([sys.executable, "-m", "migls", "lint", "versions"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stdout == (
        "versions/0002_b.py:3:23: MG004 unused-suppression  unused suppression: nothing to "
        "ignore for MG109 here\n"
        "Found 1 problem (1 warning) in 2 revision files.\n")
