"""MG302 add-column-volatile-default."""

from __future__ import annotations

from collections.abc import Iterator

from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span
from migls_rules._locks_a_kit import (
    has_default,
    is_serial,
    is_stored_computed,
    keyword_span,
    sites,
    table_of,
    volatile_default,
)

_REWRITES = ("rewrites {table} and rebuilds every index on it under ACCESS EXCLUSIVE, "
             "blocking reads and writes of {table} for the whole rewrite")


class AddColumnVolatileDefault(LintRule):
    """``add_column`` whose value must be computed for every existing row: a volatile
    ``server_default``, ``sa.Identity()``, a stored ``sa.Computed``, or an integer primary
    key (``SERIAL``).

    **Why**: since PostgreSQL 11, ADD COLUMN with a constant or STABLE default only records
    the default in the catalog (about 1 ms at any size). A VOLATILE default
    (``clock_timestamp()``, ``random()``, ``gen_random_uuid()``, ``uuid_generate_v4()``,
    ``nextval(...)``, ``timeofday()``) must be evaluated once per row, so PostgreSQL rewrites
    the table and rebuilds every index while holding ACCESS EXCLUSIVE: reads and writes are
    blocked for the whole rewrite (measured: about 5 s at 2M rows, growing with the table).
    ``sa.Identity()`` rewrites the same way (it draws from a sequence), and so does a
    generated ``STORED`` column (``sa.Computed`` with ``persisted=True``, or without
    ``persisted`` before PostgreSQL 18, which made VIRTUAL the default). An integer
    ``primary_key=True`` column is rendered by SQLAlchemy as ``SERIAL``, a ``nextval()``
    default. ``now()``, ``CURRENT_TIMESTAMP``, constants, ``true``, ``sa.false()`` are not
    volatile: no rewrite (``now()`` gives every existing row the migration's timestamp).
    A plain string ``server_default="gen_random_uuid()"`` is a quoted constant, not a call.
    With ``postgres-version`` below 11 every non-NULL default rewrites the table.

    **Safe alternative**: add the column without the default, set the default for new rows
    (catalog-only), then backfill the existing rows in batches, outside the migration's
    transaction:

    ```python
    op.add_column("users", sa.Column("token", sa.Uuid(), nullable=True))
    op.alter_column("users", "token", server_default=sa.text("gen_random_uuid()"))
    # backfill in batches with a commit per batch, e.g. in an autocommit_block():
    #   UPDATE users SET token = gen_random_uuid() WHERE id BETWEEN ... AND token IS NULL
    ```

    **Fix**: split the change as above; add NOT NULL afterwards if needed (MG307).
    """

    CODE = "MG302"
    NAME = "add-column-volatile-default"
    SEVERITY = Severity.WARNING
    SUMMARY = ("`add_column` with a volatile `server_default`, `sa.Identity()` or a stored "
               "`sa.Computed`: rewrites the table under ACCESS EXCLUSIVE")
    VALID = [
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("created_at", sa.DateTime(timezone=True),
                                                 server_default=sa.text("now()")))
                op.add_column("users", sa.Column("updated_at", sa.DateTime(timezone=True),
                                                 server_default=sa.func.now()))
                op.add_column("users", sa.Column("seen_at", sa.DateTime(),
                                                 server_default=sa.text("CURRENT_TIMESTAMP")))
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("score", sa.Integer(), nullable=False,
                                                 server_default="0"))
                op.add_column("users", sa.Column("active", sa.Boolean(), nullable=False,
                                                 server_default=sa.text("true")))
                op.add_column("users", sa.Column("banned", sa.Boolean(), nullable=False,
                                                 server_default=sa.false()))
                op.add_column("users", sa.Column("label", sa.Text(),
                                                 server_default="random()"))
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table("tokens", sa.Column("name", sa.Text()))
                op.add_column("tokens", sa.Column("id", sa.Uuid(),
                                                  server_default=sa.text("gen_random_uuid()")))
                op.add_column("tokens", sa.Column("seq", sa.BigInteger(), sa.Identity()))
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("seen_at", sa.DateTime()))

            def downgrade():
                op.add_column("users", sa.Column("token", sa.Uuid(),
                                                 server_default=sa.text("gen_random_uuid()")))
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("orders", sa.Column("total", sa.Integer(),
                                                  sa.Computed("price * qty")))
        ''', settings={"postgres-version": 18}),
    ]
    INVALID = [
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("token", sa.Uuid(),
                                                 server_default=sa.text("gen_random_uuid()")))
        ''', range=(6, 38, 6, 81), message="rewrites users"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("events", sa.Column("at", sa.DateTime(timezone=True),
                                                  server_default=sa.func.clock_timestamp()))
        ''', range=(6, 39, 6, 79), message="clock_timestamp"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.batch_alter_table("users") as batch_op:
                    batch_op.add_column(sa.Column("seq", sa.BigInteger(), sa.Identity()))
        ''', range=(6, 63, 6, 76), message="identity column users.seq"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("orders", sa.Column("total", sa.Integer(),
                                                  sa.Computed("price * qty", persisted=True)))
        ''', range=(6, 39, 6, 81), message="STORED"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("id", sa.Integer(), primary_key=True))
        ''', range=(5, 58, 5, 74), message="SERIAL"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("score", sa.Integer(), server_default="0"))
        ''', settings={"postgres-version": 10}, range=(5, 61, 5, 79),
            message="before PostgreSQL 11"),
    ]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        version = ctx.settings.postgres_version
        for site in sites(ctx, file):
            op = site.op
            if op.name != "add_column" or not site.on_existing_table or not op.columns:
                continue
            column = op.columns[0]
            table, name = table_of(op), column.name or "?"
            rewrites = _REWRITES.format(table=table)
            default = column.server_default if has_default(column) else None
            volatile = volatile_default(default) if default is not None else None
            if default is not None and volatile is not None:
                yield (file, default.span,
                       (f"server_default {default.code} calls the volatile {volatile}(): adding "
                        f"{table}.{name} {rewrites}"))
            elif column.identity is not None:
                yield (file, column.identity.span,
                       (f"adding identity column {table}.{name} fills every existing row from a "
                        f"sequence: it {rewrites}"))
            elif is_stored_computed(column, version) and column.computed is not None:
                yield (file, column.computed.span,
                       (f"adding generated STORED column {table}.{name} computes every existing "
                        f"row: it {rewrites}"))
            elif is_serial(column, op.arg("column")):
                yield (file, keyword_span(file, column, "primary_key"),
                       (f"an integer primary_key column is rendered as SERIAL: adding "
                        f"{table}.{name} fills every existing row from nextval(), which {rewrites}"))
            elif default is not None and version < 11:
                yield (file, default.span,
                       (f"before PostgreSQL 11 (postgres-version = {version}) any default is "
                        f"written into every row: adding {table}.{name} with a server_default "
                        f"{rewrites}"))
