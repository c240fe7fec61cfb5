"""MG309 unique-or-primary-key-on-existing-table."""

from __future__ import annotations

from collections.abc import Iterator

from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span
from migls_rules._locks_a_kit import keyword_span, name_of, sites, table_of

_KIND = {"create_unique_constraint": "UNIQUE constraint", "create_primary_key": "PRIMARY KEY"}


class UniqueOrPrimaryKeyOnExistingTable(LintRule):
    """``create_unique_constraint`` / ``create_primary_key`` on an existing table, and the
    UNIQUE constraint that ``add_column(sa.Column(..., unique=True))`` adds.

    **Why**: ``ADD CONSTRAINT ... UNIQUE`` / ``PRIMARY KEY`` builds its index while holding
    ACCESS EXCLUSIVE on the table, so unlike a plain CREATE INDEX it blocks **reads** as well
    as writes for the whole build (measured: 1.4 s for a UNIQUE constraint and 0.5 s for a
    primary key at 2M rows, growing with the table). ``unique=True`` in ``add_column`` makes
    Alembic emit ``ALTER TABLE ... ADD UNIQUE`` after the ADD COLUMN, with the same effect
    (with ``index=True`` as well, it becomes a unique index instead: see MG303). The fast path
    is ``ADD CONSTRAINT ... USING INDEX`` on an index built ``CONCURRENTLY`` beforehand: still
    ACCESS EXCLUSIVE, but about 1 ms whatever the size. Tables created earlier in the same
    revision are not reported.

    **Safe alternative**:

    ```python
    with op.get_context().autocommit_block():
        op.create_index("uq_users_email", "users", ["email"], unique=True,
                        postgresql_concurrently=True)
    op.execute("ALTER TABLE users ADD CONSTRAINT uq_users_email UNIQUE USING INDEX uq_users_email")
    ```

    For a primary key: ``ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX ...`` (the
    columns must already be NOT NULL, see MG307).

    **Fix**: build the unique index concurrently first, then attach it with ``USING INDEX``.
    """

    CODE = "MG309"
    NAME = "unique-or-primary-key-on-existing-table"
    SEVERITY = Severity.WARNING
    SUMMARY = ("`create_unique_constraint` / `create_primary_key` on an existing table: builds "
               "the index under ACCESS EXCLUSIVE")
    VALID = [
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.get_context().autocommit_block():
                    op.create_index("uq_users_email", "users", ["email"], unique=True,
                                    postgresql_concurrently=True)
                op.execute("ALTER TABLE users ADD CONSTRAINT uq_users_email "
                           "UNIQUE USING INDEX uq_users_email")
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table("tags", sa.Column("name", sa.Text()))
                op.create_unique_constraint("uq_tags_name", "tags", ["name"])
                op.create_primary_key("tags_pkey", "tags", ["name"])
                op.add_column("tags", sa.Column("slug", sa.Text(), unique=True))
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.drop_constraint("uq_users_email", "users", type_="unique")

            def downgrade():
                op.create_unique_constraint("uq_users_email", "users", ["email"])
        '''),
    ]
    INVALID = [
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_unique_constraint("uq_users_email", "users", ["email"])
        ''', range=(5, 5, 5, 70), message="reads and writes of users are blocked"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_primary_key("users_pkey", "users", ["id"])
        ''', range=(5, 5, 5, 57), message="PRIMARY KEY users_pkey"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("email", sa.Text(), unique=True))
        ''', range=(5, 58, 5, 69), message="users.email"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.batch_alter_table("users") as batch_op:
                    batch_op.create_unique_constraint("uq_users_email", ["email"])
        ''', range=(6, 9, 6, 71)),
    ]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        for site in sites(ctx, file):
            op = site.op
            if not site.on_existing_table:
                continue
            table = table_of(op)
            if op.name in _KIND:
                name = name_of(op.arg("constraint_name"), "")
                yield (file, op.span,
                       (f"{_KIND[op.name]}{' ' + name if name else ''} on {table} builds its index "
                        f"under ACCESS EXCLUSIVE: reads and writes of {table} are blocked for the "
                        "whole build; build a unique index CONCURRENTLY and attach it with "
                        "USING INDEX"))
            elif op.name == "add_column" and op.columns and op.columns[0].unique \
                    and not op.columns[0].index:
                column = op.columns[0]
                yield (file, keyword_span(file, column, "unique"),
                       (f"unique=True adds a UNIQUE constraint on {table}.{column.name or '?'} "
                        f"whose index is built under ACCESS EXCLUSIVE: reads and writes of "
                        f"{table} are blocked for the whole build"))
