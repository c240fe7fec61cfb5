"""The server's pure pieces: position conversion (non-BMP characters), settings parsing,
the completion context read from half-typed text, whole-file edits, flat symbols."""

from __future__ import annotations

import pytest
from lsp_session import apply_edits
from lsprotocol import types

from migls.engine import lint_sources
from migls.rule import Severity
from migls.server import ranges
from migls.server.features.code_actions import whole_text_edit
from migls.server.features.navigation import completion_context
from migls.server.features.symbols import flatten, outline
from migls.server.settings import parse_client_settings
from migls.span import Span

LINE = "x = '\U0001F600é' + y"  # an emoji (two UTF-16 units, four bytes), é (two bytes)


@pytest.mark.parametrize(("encoding", "columns"), [
    ("utf-32", [0, 5, 6, 7, 11]),
    ("utf-16", [0, 5, 7, 8, 12]),
    ("utf-8", [0, 5, 9, 11, 15]),
])
def test_columns_round_trip(encoding: str, columns: list[int]) -> None:
    points = [0, 5, 6, 7, 11]  # before x, the emoji, é, the quote, y
    assert [ranges.column_to_client(LINE, p, encoding) for p in points] == columns
    assert [ranges.column_from_client(LINE, c, encoding) for c in columns] == points


def test_positions_inside_a_character_or_past_the_end_are_clamped() -> None:
    assert ranges.column_from_client(LINE, 6, "utf-16") == 5  # inside the surrogate pair
    assert ranges.column_from_client(LINE, 99, "utf-16") == len(LINE)
    lines = [LINE, "z"]
    assert ranges.to_position(lines, 5, 0, "utf-16") == types.Position(line=1, character=1)
    assert ranges.from_position(lines, types.Position(line=7, character=0), "utf-16") == (2, 1)
    assert ranges.to_range(lines, Span(1, 6, 1, 7), "utf-16") == types.Range(
        start=types.Position(line=0, character=7), end=types.Position(line=0, character=8))


@pytest.mark.parametrize("raw", [
    {"select": ["MG1"], "fixAll": False},
    {"settings": {"select": "MG1", "fix_all": False}},
    {"settings": [{"select": ["MG1"], "fix-all": False, "workspace": "file:///w"}]},
    {"migls": {"select": ["MG1"], "FixAll": False}},
])
def test_settings_in_every_shape_editors_send(raw: object) -> None:
    parsed = parse_client_settings(raw)
    assert parsed.problems == () and parsed.unknown == ()
    assert parsed.settings.select == ("MG1",) and parsed.settings.fix_all is False


def test_severity_by_prefix_then_by_code() -> None:
    parsed = parse_client_settings({"severity": {"MG103": "warning", "MG1": "info",
                                                 "docstring-mismatch": "error"}})
    severity = parsed.settings.severity
    assert severity["MG103"] == Severity.WARNING and severity["MG101"] == Severity.INFO
    assert severity["MG108"] == Severity.ERROR


def test_bad_values_fall_back_key_by_key() -> None:
    parsed = parse_client_settings({"select": 3, "ignore": ["MG4"], "alembicConfig": 7,
                                    "colour": "blue"})
    assert parsed.settings.select is None and parsed.settings.ignore == ("MG4",)
    assert parsed.settings.alembic_config is None
    assert [p.split(":")[0] for p in parsed.problems] == ["'select'", "'alembicConfig'"]
    assert parsed.unknown == ("colour",)
    assert parse_client_settings("nonsense").problems


@pytest.mark.parametrize(("text", "expected"), [
    ('down_revision = "ab', ("down_revision", 17)),
    ('down_revision: Union[str, None] = "', ("down_revision", 35)),
    ("depends_on = ('a1', '", ("depends_on", 21)),
    ('down_revision = (\n    "a1",\n    "b', ("down_revision", 5)),
    ('down_revision = "a1"', None),
    ('branch_labels = "', None),
    ('revision = "', None),
    ('down_revision = (\n    "a1",\n)\nx = "', None),
])
def test_completion_context_from_half_typed_text(text: str,
                                                 expected: tuple[str, int] | None) -> None:
    lines = text.split("\n")
    assert completion_context(lines, len(lines), len(lines[-1])) == expected


@pytest.mark.parametrize(("old", "new"), [
    ("a\nb\nc\n", "a\nB\nc\n"),
    ("a\nb\nc", "a\nb\nc\nd\n"),
    ("a\nb\n", "b\n"),
    ("x = '\U0001F600'\ny\n", "x = '\U0001F600'\nz\n"),
])
def test_whole_text_edit_changes_only_what_differs(old: str, new: str) -> None:
    for encoding in ("utf-16", "utf-32"):
        edit = whole_text_edit(old, new, "\n", encoding)
        assert apply_edits(old, [edit], encoding) == new
        assert edit.new_text.count("\n") <= new.count("\n")


def test_flat_symbols_for_clients_without_hierarchy() -> None:
    code = ('revision = "a1"\ndown_revision = None\n\ndef upgrade():\n'
            '    op.add_column("t", sa.Column("c", sa.Text()))\n\ndef downgrade():\n'
            '    op.drop_column("t", "c")\n')
    result = lint_sources({"0001_a.py": code})
    flat = flatten(outline(result.files[0], "utf-16"), "file:///w/0001_a.py")
    assert [(s.name, s.container_name) for s in flat] == [
        ("revision", None), ("down_revision", None), ("upgrade()", None),
        ("op.add_column", "upgrade()"), ("downgrade()", None), ("op.drop_column", "downgrade()")]
