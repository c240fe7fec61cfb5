"""MG310 drop-index-not-concurrently."""

from __future__ import annotations

from collections.abc import Iterator

from migls.fixes import Fix
from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span
from migls_rules._locks_a_kit import name_of, sites, table_of
from migls_rules.create_index_not_concurrently import concurrently_fix

_SELECTED = {"extend-select": ["MG310"]}


class DropIndexNotConcurrently(LintRule):
    """``drop_index`` without ``postgresql_concurrently=True`` (off by default).

    **Why**: ``DROP INDEX`` takes ACCESS EXCLUSIVE on the index's **table**, not just on the
    index: reads and writes of the table are blocked until the migration's transaction
    commits. The drop itself takes about 1 ms, so the risk is the lock queue: behind any open
    transaction on the table it waits, and every new query queues behind it (see MG312).
    ``DROP INDEX CONCURRENTLY`` takes only SHARE UPDATE EXCLUSIVE on the table and the index
    and blocks neither reads nor writes, but waits for every transaction that has touched the
    table, and must run outside a transaction (MG304). Off by default because the lock is
    brief; select it where tables are busy. Indexes of tables created earlier in the same
    revision are not reported; a ``drop_index`` without ``table_name`` is reported unless the
    index was created on a new table earlier in the revision.

    **Safe alternative**:

    ```python
    with op.get_context().autocommit_block():
        op.drop_index("ix_users_email", table_name="users", postgresql_concurrently=True)
    ```

    **Fix**: add ``postgresql_concurrently=True`` and move the call into
    ``op.get_context().autocommit_block()``.
    """

    CODE = "MG310"
    NAME = "drop-index-not-concurrently"
    SEVERITY = Severity.WARNING
    DEFAULT_ENABLED = False
    SUMMARY = "`drop_index` without `postgresql_concurrently=True`: ACCESS EXCLUSIVE on the table"
    VALID = [
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.get_context().autocommit_block():
                    op.drop_index("ix_users_email", table_name="users",
                                  postgresql_concurrently=True)
        ''', settings=_SELECTED),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table("tags", sa.Column("name", sa.Text()))
                op.create_index("ix_tags_name", "tags", ["name"])
                op.drop_index("ix_tags_name")
        ''', settings=_SELECTED),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.drop_index("ix_users_email", table_name="users")
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.get_context().autocommit_block():
                    op.create_index("ix_users_email", "users", ["email"],
                                    postgresql_concurrently=True)

            def downgrade():
                op.drop_index("ix_users_email", table_name="users")
        ''', settings=_SELECTED),
    ]
    INVALID = [
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.drop_index("ix_users_email", table_name="users")
        ''', settings=_SELECTED, range=(5, 5, 5, 56),
            message="ACCESS EXCLUSIVE on users",
            fixed='''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.get_context().autocommit_block():
                    op.drop_index("ix_users_email", table_name="users", postgresql_concurrently=True)
        '''),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.drop_index(op.f("ix_users_email"))
        ''', settings=_SELECTED, range=(5, 5, 5, 42), message="on its table", fixed='''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.get_context().autocommit_block():
                    op.drop_index(op.f("ix_users_email"), postgresql_concurrently=True)
        '''),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.batch_alter_table("users") as batch_op:
                    batch_op.drop_index("ix_users_email")
        ''', settings=_SELECTED, range=(6, 9, 6, 46)),
    ]

    FIX_SAFETY = "unsafe"

    def fix(self, ctx: Context, file: RevisionFile, span: Span, message: str) -> Fix | None:
        # Unsafe: what runs before the block is committed first.
        return concurrently_fix(file, span, "drop_index")

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        created: dict[tuple[str, str], tuple[str | None, bool]] = {}
        for site in sites(ctx, file):
            op = site.op
            index = name_of(op.arg("index_name"), "")
            if op.name == "create_index" and index:
                created[(site.function, index)] = (table_of(op), op.table in site.new_tables)
                continue
            if op.name != "drop_index" or op.literal("postgresql_concurrently", False) is not False:
                continue
            if op.table is not None:
                if not site.on_existing_table:
                    continue
                on = of = table_of(op)
            elif (site.function, index) in created:
                table, new = created[(site.function, index)]
                if new:
                    continue
                on = of = table or "?"
            else:
                on, of = "its table", "the table"
            yield (file, op.span,
                   (f"DROP INDEX {index or 'the index'} without CONCURRENTLY takes ACCESS EXCLUSIVE "
                    f"on {on}: reads and writes of {of} are blocked from the moment it queues for "
                    "the lock until the transaction commits"))
