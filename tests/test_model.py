"""The revision model: what is read from a file, and where."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from migls.engine import read_file, read_paths
from migls.positions import compute_positions
from migls.span import Span

ANNOTATED = textwrap.dedent('''\
    """Add emails 📧 to users.

    Revision ID: b2c3
    Revises: a1b2
    Create Date: 2024-05-01 10:00:00.000000

    """
    from typing import Sequence, Union

    from alembic import op as migration
    import sqlalchemy as sa

    # revision identifiers, used by Alembic.
    revision: str = "b2c3"
    down_revision: Union[str, Sequence[str], None] = "a1b2"
    branch_labels: Union[str, Sequence[str], None] = ("core", "x")
    depends_on: Union[str, Sequence[str], None] = None


    def _helper() -> None:
        migration.create_index("ix_users_email", "users", ["email"])


    def upgrade() -> None:
        migration.add_column("users", sa.Column("email", sa.Text(), nullable=True))
        with migration.batch_alter_table("users") as batch_op:
            batch_op.alter_column("name", nullable=False)
        _helper()


    def downgrade() -> None:
        pass
''')


def test_reads_the_annotated_template() -> None:
    file = read_file("v/b2c3_add.py", ANNOTATED.encode())
    assert file.syntax_error is None
    assert file.revision_id == "b2c3"
    assert file.parents() == ("a1b2",)
    assert file.branch_labels() == ("core", "x")
    assert file.dependencies() == ()
    assert file.message == "Add emails 📧 to users."
    assert file.docstring_id is not None and file.docstring_id.values == ("b2c3",)
    assert file.docstring_id.span == Span(3, 13, 3, 17)
    assert file.docstring_revises is not None and file.docstring_revises.span == Span(4, 9, 4, 13)
    assert file.metadata["down_revision"].span == Span(15, 49, 15, 55)
    assert file.metadata["branch_labels"].span_of("x") == Span(16, 58, 16, 61)
    assert file.upgrade is not None and file.downgrade is not None
    assert file.upgrade.name_span == Span(24, 4, 24, 11)
    ops = [(op.name, op.table if op.batch else None, op.span.line) for op in file.upgrade.ops]
    assert ops == [("create_index", None, 21), ("add_column", None, 25),
                   ("batch_alter_table", None, 26), ("alter_column", "users", 27)]
    assert file.downgrade.body == "empty"
    assert file.upgrade.changes_schema()


def test_plain_template_with_merge_and_legacy_header() -> None:
    source = '"""merge\n\nRevision ID: m1\nRevises: (\'a\', \'b\')\n"""\nrevision = \'m1\'\ndown_revision = (\'a\', \'b\')\nbranch_labels = None\ndepends_on = [\'c\']\n'
    file = read_file("m1.py", source.encode())
    assert file.parents() == ("a", "b")
    assert file.dependencies() == ("c",)
    assert file.docstring_revises is not None and file.docstring_revises.values == ("a", "b")


def test_dynamic_values_are_not_guessed() -> None:
    file = read_file("x.py", b'revision = "x"\ndown_revision = PARENT\nif True:\n    branch_labels = ("a",)\n')
    assert file.parents() is None
    assert file.branch_labels() is None
    assert not file.is_readable


def test_syntax_error_keeps_the_metadata_it_can_read() -> None:
    file = read_file("x.py", b'revision = "x1"\ndown_revision = ("a1", "b1")\n\ndef upgrade(:\n    pass\n')
    assert file.syntax_error is not None
    assert file.syntax_error[1] == Span(4, 12, 4, 13)
    assert file.revision_id == "x1" and file.parents() == ("a1", "b1")


def test_undecodable_bytes_are_a_syntax_error_at_their_place() -> None:
    file = read_file("x.py", b'revision = "x1"\n# caf\xe9\n')
    assert file.syntax_error is not None and file.syntax_error[1].line == 2
    assert read_file("y.py", b"\x00\x01binary").syntax_error is not None


def test_data_only_upgrade_does_not_change_the_schema() -> None:
    file = read_file("d.py", b'revision = "d"\ndef upgrade():\n    op.execute(sa.text("UPDATE t SET x = 1"))\n    op.bulk_insert(t, [])\ndef downgrade():\n    pass\n')
    assert file.upgrade is not None and not file.upgrade.changes_schema()
    ddl = read_file("e.py", b'revision = "e"\ndef upgrade():\n    op.execute("ALTER TABLE t ADD x int")\n')
    assert ddl.upgrade is not None and ddl.upgrade.changes_schema()


def test_positions_equal_libcst_position_provider() -> None:
    """The fast position pass gives exactly LibCST's ranges for every node it records."""
    sources = [ANNOTATED]
    sources += [p.read_text(encoding="utf-8") for p in
                sorted(Path(__file__).parent.parent.glob("examples/**/versions/*.py"))]
    for source in sources:
        module = cst.parse_module(source)
        expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        ranges, order = compute_positions(module, set(module.body))
        assert len(order) == len(ranges) > 10
        for node, ((line, column), (end_line, end_column)) in ranges.items():
            want = expected[node]
            assert (line, column, end_line, end_column) == (
                want.start.line, want.start.column, want.end.line, want.end.column), type(node)


def test_parallel_reading_equals_serial_reading(tmp_path: Path) -> None:
    paths = []
    for i in range(70):
        path = tmp_path / f"{i:04}_r.py"
        path.write_text(ANNOTATED.replace("b2c3", f"r{i}"), encoding="utf-8")
        paths.append(path)
    serial = [f.without_syntax_tree() for f in read_paths(paths, jobs=1)]
    parallel = read_paths(paths, jobs=2)
    assert [f.path for f in parallel] == [str(p) for p in paths]
    for a, b in zip(serial, parallel):
        assert (a.metadata, a.upgrade, a.downgrade, a.statements) == (
            b.metadata, b.upgrade, b.downgrade, b.statements)
