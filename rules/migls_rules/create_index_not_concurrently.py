"""MG303 create-index-not-concurrently."""

from __future__ import annotations

from collections.abc import Iterator

from migls.fixes import Edit, Fix, _indent_unit, apply_edits, keyword_argument_edit, own_statement
from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span
from migls_rules._locks_a_kit import UNKNOWN, earlier_lock, keyword_span, name_of, sites, table_of


class CreateIndexNotConcurrently(LintRule):
    """``create_index`` on an existing table without ``postgresql_concurrently=True``, and the
    index that ``add_column(sa.Column(..., index=True))`` creates.

    **Why**: CREATE INDEX takes a SHARE lock on the table for the whole build, which reads
    every row: INSERT, UPDATE and DELETE are blocked (reads are not) for a time that grows
    with the table (measured: 0.7 s at 2M rows for one integer column). When an earlier
    operation of the same transaction (an ``op.*`` call or an ``ALTER TABLE``, ``TRUNCATE``,
    ``LOCK TABLE`` in ``op.execute``) already holds ACCESS EXCLUSIVE on the table, reads are
    blocked for the build too, and the message says so; when an earlier ``op.execute`` cannot
    be read, it says nothing about reads. ``index=True`` in ``add_column`` always blocks
    reads: Alembic emits the CREATE INDEX right after the ADD COLUMN, whose ACCESS EXCLUSIVE
    lock is held until COMMIT. ``CREATE INDEX CONCURRENTLY`` takes only SHARE UPDATE EXCLUSIVE and
    blocks neither reads nor writes; it must run outside a transaction (MG304), waits for
    every open writing transaction on the table, and a failure leaves an INVALID index to
    drop before retrying. Indexes on tables created earlier in the same revision are not
    reported.

    **Safe alternative**:

    ```python
    with op.get_context().autocommit_block():
        op.create_index("ix_users_email", "users", ["email"], postgresql_concurrently=True)
    ```

    For ``add_column(..., index=True)``: drop ``index=True`` and create the index as above.

    **Fix**: add ``postgresql_concurrently=True`` and move the call into
    ``op.get_context().autocommit_block()``.
    """

    CODE = "MG303"
    NAME = "create-index-not-concurrently"
    SEVERITY = Severity.WARNING
    SUMMARY = ("`create_index` on an existing table without `postgresql_concurrently=True`: "
               "blocks writes for the whole build")
    VALID = [
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.get_context().autocommit_block():
                    op.create_index("ix_users_email", "users", ["email"],
                                    postgresql_concurrently=True)
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table("tags", sa.Column("name", sa.Text(), index=True))
                op.create_index("ix_tags_name_lower", "tags", [sa.text("lower(name)")])
                op.add_column("tags", sa.Column("slug", sa.Text(), index=True))
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.drop_index("ix_users_email", table_name="users")

            def downgrade():
                op.create_index("ix_users_email", "users", ["email"])
        '''),
    ]
    INVALID = [
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_index("ix_users_email", "users", ["email"])
        ''', range=(5, 5, 5, 58), message="blocked (reads are not)", fixed='''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.get_context().autocommit_block():
                    op.create_index("ix_users_email", "users", ["email"], postgresql_concurrently=True)
        '''),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_index(
                    "ix_users_email",
                    "users",
                    ["email"],  # the login column
                )
        ''', range=(5, 5, 9, 6), fixed='''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.get_context().autocommit_block():
                    op.create_index(
                        "ix_users_email",
                        "users",
                        ["email"],  # the login column
                        postgresql_concurrently=True,
                    )
        '''),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("email", sa.Text(), index=True))
        ''', range=(5, 58, 5, 68), message="reads and writes of users are blocked"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.batch_alter_table("users") as batch_op:
                    batch_op.alter_column("email", type_=sa.Text())
                    batch_op.create_index("ix_users_email", ["email"])
        ''', range=(7, 9, 7, 59), message="earlier alter_column"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.execute("ALTER TABLE users ADD COLUMN email text")
                op.create_index("ix_users_email", "users", ["email"])
        ''', range=(6, 5, 6, 58), message="earlier ALTER TABLE on users", fixed='''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.execute("ALTER TABLE users ADD COLUMN email text")
                with op.get_context().autocommit_block():
                    op.create_index("ix_users_email", "users", ["email"], postgresql_concurrently=True)
        '''),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table("tags", sa.Column("name", sa.Text()))
                op.create_index(op.f("ix_users_email"), "users", ["email"], unique=True)
        ''', range=(6, 5, 6, 77), message="ix_users_email", fixed='''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table("tags", sa.Column("name", sa.Text()))
                with op.get_context().autocommit_block():
                    op.create_index(op.f("ix_users_email"), "users", ["email"], unique=True, postgresql_concurrently=True)
        '''),
    ]

    FIX_SAFETY = "unsafe"

    def fix(self, ctx: Context, file: RevisionFile, span: Span, message: str) -> Fix | None:
        # Unsafe: what runs before the block is committed first, and a failed build leaves
        # an INVALID index to drop.
        return concurrently_fix(file, span, "create_index")

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        all_sites = sites(ctx, file)
        for site in all_sites:
            op = site.op
            if not site.on_existing_table:
                continue
            table = table_of(op)
            if op.name == "create_index" and op.literal("postgresql_concurrently", False) is False:
                index = name_of(op.arg("index_name"), "the index")
                kind = "CREATE UNIQUE INDEX" if op.flag("unique") else "CREATE INDEX"
                held = earlier_lock(all_sites, site)
                if held == UNKNOWN:  # an earlier statement may hold more: say nothing of reads
                    yield (file, op.span,
                           (f"{kind} {index} without CONCURRENTLY takes SHARE on {table}: "
                            f"writes to {table} are blocked for the whole build"))
                elif held is not None:
                    yield (file, op.span,
                           (f"{kind} {index} without CONCURRENTLY builds while the ACCESS "
                            f"EXCLUSIVE lock of the earlier {held} on {table} is still held: reads "
                            f"and writes of {table} are blocked for the whole build"))
                else:
                    yield (file, op.span,
                           (f"{kind} {index} without CONCURRENTLY takes SHARE on {table}: "
                            f"writes to {table} are blocked (reads are not) for the whole build"))
            elif op.name == "add_column" and op.columns and op.columns[0].index:
                column = op.columns[0]
                yield (file, keyword_span(file, column, "index"),
                       (f"index=True builds an index on {table}.{column.name or '?'} right after "
                        f"ADD COLUMN, whose ACCESS EXCLUSIVE lock is still held: reads and writes "
                        f"of {table} are blocked for the whole build"))


def concurrently_fix(file: RevisionFile, span: Span, name: str) -> Fix | None:
    """Add ``postgresql_concurrently=True`` to the ``op.<name>(...)`` call at ``span`` and run
    it in ``op.get_context().autocommit_block()``, as one edit of the statement's lines.

    Unsafe: everything before the block is committed first, and a failed concurrent build
    leaves an INVALID index behind. Not for ``batch_op`` calls (their block must stay whole)."""
    functions = [f for f in (file.upgrade, file.downgrade) if f is not None]
    op = next((o for f in functions for o in f.ops if o.span == span and o.name == name), None)
    if op is None or op.batch or file.source is None or "op." not in file.source.text:
        return None
    lines = file.source.text.split("\n")
    found = own_statement(file, op)
    if found is None:
        return None  # the call is not a statement of its own
    first, last = found
    head = lines[first - 1]
    insert = keyword_argument_edit(op, lines, "postgresql_concurrently", "True")
    if insert is None:
        return None
    title = f"Run {name} with postgresql_concurrently=True in autocommit_block()"
    if op.autocommit:
        return Fix(title, False, (insert,))
    block_text = "\n".join(lines[first - 1:last])
    shifted = Edit(Span(insert.span.line - first + 1, insert.span.column,
                        insert.span.end_line - first + 1, insert.span.end_column), insert.content)
    block = apply_edits(block_text, [shifted]).split("\n")
    indent = head[:len(head) - len(head.lstrip())]
    step = _indent_unit(lines)
    body = "\n".join((step + line) if line.strip() else line for line in block)
    content = f"{indent}with op.get_context().autocommit_block():\n{body}"
    return Fix(title, False, (Edit(Span(first, 0, last, len(lines[last - 1])), content),))
