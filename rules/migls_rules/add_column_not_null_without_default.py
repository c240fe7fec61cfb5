"""MG301 add-column-not-null-without-default."""

from __future__ import annotations

from collections.abc import Iterator

from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span
from migls_rules._locks_a_kit import has_default, is_serial, keyword_span, sites, table_of


class AddColumnNotNullWithoutDefault(LintRule):
    """``add_column`` of a NOT NULL column without a ``server_default`` on an existing table.

    **Why**: PostgreSQL fills the new column of every existing row with NULL, so
    ``ALTER TABLE ... ADD COLUMN ... NOT NULL`` fails with ``column "..." contains null values``
    (SQLSTATE 23502) as soon as the table has a row. It passes on an empty development
    database and fails in production. ``primary_key=True`` makes the column NOT NULL too
    (Alembic's ``add_column`` does not add the primary key constraint, only the NOT NULL), so
    it is reported on the ``primary_key=True`` argument. Not reported: a column that fills
    itself (``sa.Identity()``, ``sa.Computed(...)``, or an integer primary key, which
    SQLAlchemy renders as ``SERIAL``), and tables created earlier in the same revision.

    **Safe alternative**: a constant ``server_default`` is catalog-only on PostgreSQL 11+ (no
    rewrite, about 1 ms at any size). Without a sensible constant, add the column nullable,
    backfill it, then make it NOT NULL (see MG307 for a SET NOT NULL without a long lock):

    ```python
    op.add_column("users", sa.Column("status", sa.Text(), nullable=False,
                                     server_default="active"))
    ```

    **Fix**: give the column a ``server_default``, or add it nullable and add the NOT NULL in
    a later step.
    """

    CODE = "MG301"
    NAME = "add-column-not-null-without-default"
    SEVERITY = Severity.ERROR
    SUMMARY = "`add_column` with `nullable=False` and no `server_default` on an existing table"
    VALID = [
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("status", sa.Text(), nullable=False,
                                                 server_default="active"))
                op.add_column("users", sa.Column("email", sa.Text(), nullable=True))
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table("accounts", sa.Column("id", sa.Integer(), primary_key=True))
                op.add_column("accounts", sa.Column("owner", sa.Text(), nullable=False))
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("seq", sa.BigInteger(), sa.Identity(),
                                                 nullable=False))
                op.add_column("users", sa.Column("total", sa.Integer(),
                                                 sa.Computed("price * qty", persisted=True),
                                                 nullable=False))
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("email", sa.Text()))

            def downgrade():
                op.add_column("users", sa.Column("legacy", sa.Text(), nullable=False))
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("email", sa.Text(), nullable=False))
        ''', settings={"dialect": "sqlite"}),
    ]
    INVALID = [
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("email", sa.Text(), nullable=False))
        ''', range=(5, 58, 5, 72), message="users.email"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.batch_alter_table("users") as batch_op:
                    batch_op.add_column(sa.Column("email", sa.Text(), nullable=False,
                                                  server_default=None))
        ''', range=(6, 59, 6, 73), message="fails when users has rows"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("code", sa.Text(), primary_key=True))
        ''', range=(5, 57, 5, 73), message="primary_key=True"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table("accounts", sa.Column("id", sa.Integer(), primary_key=True))
                op.add_column("users", sa.Column("email", sa.Text(), nullable=False))
        ''', range=(6, 58, 6, 72)),
    ]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        for site in sites(ctx, file):
            op = site.op
            if op.name != "add_column" or not site.on_existing_table or not op.columns:
                continue
            column = op.columns[0]
            if (has_default(column) or column.identity is not None or column.computed is not None
                    or is_serial(column, op.arg("column"))):
                continue
            table, name = table_of(op), column.name or "?"
            if column.nullable is False and column.nullable_arg is not None:
                yield (file, column.nullable_arg.span,
                       (f"adding NOT NULL column {table}.{name} without a server_default fails "
                        f"when {table} has rows (SQLSTATE 23502: the column contains null values)"))
            elif column.nullable is None and column.primary_key:
                yield (file, keyword_span(file, column, "primary_key"),
                       (f"primary_key=True makes {table}.{name} NOT NULL, and adding it without a "
                        f"server_default fails when {table} has rows (SQLSTATE 23502: the column "
                        "contains null values)"))
