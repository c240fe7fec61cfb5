"""The schema replayed from history (``migls.schema``): tables, columns, indexes and foreign
keys as the ancestors' ``upgrade()`` operations leave them; what cannot be known statically
stays unknown."""

from __future__ import annotations

import textwrap

from migls.engine import read_file
from migls.graph import build_graph
from migls.ops import TypeRef
from migls.schema import ForeignKey, Schema, history_of, schemas_along


Parent = str | tuple[str, ...] | None


def revision(rev: str, parent: Parent, body: str) -> tuple[str, str]:
    parents = "None" if parent is None else repr(parent)
    source = (f"revision = {rev!r}\ndown_revision = {parents}\n\n\ndef upgrade():\n"
              + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n")
    return f"{rev}.py", source


def history(*revisions: tuple[str, Parent, str], dialect: str | None = None,
            before: str | None = None) -> Schema:
    """The schema after the last revision (or before ``before``)."""
    files = [read_file(name, source.encode()) for name, source in
             (revision(*r) for r in revisions)]
    graph = build_graph(files)
    h = history_of(graph, dialect)
    return h.before(before) if before else h.after(revisions[-1][0])


BASE = ("a1", None, """
    op.create_table("orgs", sa.Column("id", sa.Integer(), primary_key=True))
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("orgs.id"), nullable=False),
        sa.Column("name", sa.String(50)),
        sa.Column("email", sa.Text(), index=True),
    )
""")


def test_create_table_columns_types_nullability_and_inline_foreign_keys() -> None:
    schema = history(BASE)
    users = schema.tables["users"]
    assert list(users.columns) == ["id", "org_id", "name", "email"]
    assert users.columns["name"].type == TypeRef("String", (50,), (), "sa.String(50)")
    assert users.columns["id"].nullable is False  # primary key
    assert users.columns["org_id"].nullable is False
    assert users.columns["name"].nullable is None  # not written: SQLAlchemy's default
    assert users.foreign_keys == (ForeignKey(None, ("org_id",), "orgs"),)
    assert users.created_in == "a1"


def test_index_true_makes_the_index_alembic_names() -> None:
    schema = history(BASE, ("b2", "a1", 'op.add_column("orgs", sa.Column("slug", sa.Text(), index=True))'))
    assert schema.tables["users"].indexes == {"ix_users_email"}
    assert schema.tables["orgs"].indexes == {"ix_orgs_slug"}
    assert schema.index_tables["ix_orgs_slug"] == "orgs"


def test_foreign_key_constraint_and_create_foreign_key() -> None:
    schema = history(("a1", None, """
        op.create_table("orgs", sa.Column("id", sa.Integer()))
        op.create_table(
            "teams",
            sa.Column("id", sa.Integer()),
            sa.Column("org_id", sa.Integer()),
            sa.ForeignKeyConstraint(["org_id"], ["public.orgs.id"], name="fk_teams_org"),
        )
        op.add_column("teams", sa.Column("lead_id", sa.Integer()))
        op.create_foreign_key(op.f("fk_teams_lead"), "teams", "users", ["lead_id"], ["id"])
    """))
    assert schema.tables["teams"].foreign_keys == (
        ForeignKey("fk_teams_org", ("org_id",), "orgs"),
        ForeignKey("fk_teams_lead", ("lead_id",), "users"),
    )


def test_drop_constraint_by_name_and_by_postgresqls_default_name() -> None:
    schema = history(BASE, ("b2", "a1", """
        op.create_foreign_key("fk_users_manager", "users", "users", ["manager_id"], ["id"])
        op.drop_constraint("fk_users_manager", "users", type_="foreignkey")
        op.drop_constraint("users_org_id_fkey", "users", type_="foreignkey")
    """))
    assert schema.tables["users"].foreign_keys == ()


def test_an_unmatched_foreign_key_drop_forgets_the_unnamed_ones() -> None:
    """Which foreign key ``fk_something`` was is unknown: the unnamed ones are no longer
    claimed (the named ones are kept, their names are known)."""
    schema = history(BASE, ("b2", "a1", """
        op.create_foreign_key("fk_users_manager", "users", "users", ["manager_id"], ["id"])
        op.drop_constraint("fk_custom_name", "users", type_="foreignkey")
    """))
    assert schema.tables["users"].foreign_keys == (
        ForeignKey("fk_users_manager", ("manager_id",), "users"),)
    kept = history(BASE, ("b2", "a1", 'op.drop_constraint("uq_users_name", "users", type_="unique")'))
    assert kept.tables["users"].foreign_keys == (ForeignKey(None, ("org_id",), "orgs"),)


def test_drop_table_and_drop_column() -> None:
    schema = history(BASE, ("b2", "a1", """
        op.drop_column("users", "org_id")
        op.drop_table("orgs")
    """))
    assert "orgs" not in schema.tables
    assert "org_id" not in schema.tables["users"].columns
    assert schema.tables["users"].foreign_keys == ()


def test_drop_table_forgets_its_indexes() -> None:
    schema = history(BASE, ("b2", "a1", 'op.drop_table("users")'))
    assert "ix_users_email" not in schema.index_tables


def test_rename_table_moves_columns_indexes_and_the_foreign_keys_pointing_at_it() -> None:
    schema = history(BASE, ("b2", "a1", """
        op.rename_table("orgs", "organizations")
        op.rename_table("users", "members")
    """))
    assert set(schema.tables) == {"organizations", "members"}
    assert schema.tables["members"].foreign_keys == (ForeignKey(None, ("org_id",), "organizations"),)
    assert schema.index_tables["ix_users_email"] == "members"


def test_alter_column_type_nullability_and_rename() -> None:
    schema = history(BASE, ("b2", "a1", """
        op.alter_column("users", "name", type_=sa.Text(), nullable=False)
        op.alter_column("users", "org_id", new_column_name="organization_id")
    """))
    users = schema.tables["users"]
    assert users.columns["name"].type is not None and users.columns["name"].type.name == "Text"
    assert users.columns["name"].nullable is False
    assert "org_id" not in users.columns and "organization_id" in users.columns
    assert users.foreign_keys == (ForeignKey(None, ("organization_id",), "orgs"),)


def test_a_type_history_cannot_read_becomes_unknown() -> None:
    schema = history(BASE, ("b2", "a1", 'op.alter_column("users", "name", type_=TYPES["name"])'))
    assert schema.tables["users"].columns["name"].type is None


def test_alter_column_records_the_type_of_a_column_history_did_not_see() -> None:
    schema = history(BASE, ("b2", "a1", """
        op.execute("ALTER TABLE users ADD COLUMN age integer")
        op.alter_column("users", "age", type_=sa.BigInteger())
    """))
    assert schema.tables["users"].columns["age"] == schema.column("users", "age")
    state = schema.column("users", "age")
    assert state is not None and state.type is not None and state.type.name == "BigInteger"
    assert state.nullable is None


def test_indexes_created_and_dropped_with_op_f_and_in_batch_mode() -> None:
    schema = history(BASE, ("b2", "a1", """
        op.create_index(op.f("ix_users_name"), "users", ["name"])
        with op.batch_alter_table("orgs") as batch_op:
            batch_op.create_index("ix_orgs_id", ["id"])
        op.drop_index(op.f("ix_users_email"), table_name="users")
    """), ("c3", "b2", 'op.drop_index("ix_orgs_id")'))
    assert schema.tables["users"].indexes == {"ix_users_name"}
    assert schema.tables["orgs"].indexes == frozenset()
    assert set(schema.index_tables) == {"ix_users_name"}


def test_raw_sql_drops_renames_and_type_changes_are_replayed() -> None:
    schema = history(BASE, ("b2", "a1", """
        op.execute("ALTER TABLE users DROP CONSTRAINT users_org_id_fkey")
        op.execute("ALTER TABLE users ALTER COLUMN name TYPE varchar(200)")
        op.execute("ALTER TABLE users RENAME COLUMN email TO mail; DROP INDEX ix_users_email")
        op.execute(sa.text("ALTER TABLE orgs RENAME TO organizations"))
    """))
    users = schema.tables["users"]
    assert users.foreign_keys == ()
    assert users.columns["name"].type is None  # changed, to a type migls does not model
    assert "mail" in users.columns and "email" not in users.columns
    assert users.indexes == frozenset()
    assert "organizations" in schema.tables
    dropped = history(BASE, ("b2", "a1", 'op.execute("DROP TABLE users; ALTER TABLE orgs DROP COLUMN id")'))
    assert "users" not in dropped.tables and dropped.tables["orgs"].columns == {}


def test_sql_that_postgresql_cannot_parse_is_ignored() -> None:
    schema = history(BASE, ("b2", "a1", 'op.execute("DROP TABLE users /* {{ template }}")'))
    assert "users" in schema.tables


def test_dynamic_names_are_left_unknown() -> None:
    schema = history(BASE, ("b2", "a1", """
        op.create_table(TABLE, sa.Column("id", sa.Integer()))
        op.add_column("users", sa.Column(COLUMN, sa.Text()))
        op.add_column("users", sa.Column("parent_id", sa.Integer(), sa.ForeignKey(TARGET)))
        op.drop_column("orgs", name)
        op.create_index(index_name, "users", ["name"])
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("email")
        op.rename_table("users", new_name)
    """))
    assert set(schema.tables) == {"orgs", "users"}
    users = schema.tables["users"]
    assert "parent_id" in users.columns and users.foreign_keys == (ForeignKey(None, ("org_id",), "orgs"),)
    assert "email" in users.columns  # the batch table is not known
    assert "id" in schema.tables["orgs"].columns
    assert users.indexes == {"ix_users_email"}


def test_a_merge_sees_both_branches() -> None:
    schema = history(
        BASE,
        ("b2", "a1", 'op.add_column("users", sa.Column("bio", sa.Text()))'),
        ("c3", "a1", 'op.create_table("teams", sa.Column("id", sa.Integer()))'),
        ("m4", ("b2", "c3"), 'op.add_column("teams", sa.Column("name", sa.Text()))'),
        before="m4",
    )
    assert {"users", "orgs", "teams"} <= set(schema.tables)
    assert "bio" in schema.tables["users"].columns


def test_before_is_the_schema_the_revision_starts_from() -> None:
    files = [read_file(n, s.encode()) for n, s in (
        revision(*BASE), revision("b2", "a1", 'op.drop_table("orgs")'))]
    graph = build_graph(files)
    h = history_of(graph)
    assert "orgs" in h.before("b2").tables and "orgs" not in h.after("b2").tables
    assert h.before("missing").tables == {}
    assert history_of(graph) is h  # computed once


def test_operations_for_another_database_are_skipped_for_that_dialect() -> None:
    body = """
        if op.get_bind().dialect.name == "sqlite":
            op.drop_table("orgs")
        op.add_column("users", sa.Column("bio", sa.Text()))
    """
    on_postgresql = history(BASE, ("b2", "a1", body), dialect="postgresql")
    assert "orgs" in on_postgresql.tables and "bio" in on_postgresql.tables["users"].columns
    anywhere = history(BASE, ("b2", "a1", body))
    assert "orgs" not in anywhere.tables


def test_schemas_along_replays_the_function_itself() -> None:
    files = [read_file(n, s.encode()) for n, s in (
        revision(*BASE),
        revision("b2", "a1", 'op.add_column("users", sa.Column("bio", sa.Text()))\n'
                             'op.drop_column("users", "name")'))]
    graph = build_graph(files)
    upgrade = graph.nodes["b2"].file.upgrade
    assert upgrade is not None
    seen = [(op.name, sorted(schema.tables["users"].columns))
            for op, schema in schemas_along(graph, "b2", "upgrade", upgrade.ops)]
    assert seen == [("add_column", ["email", "id", "name", "org_id"]),
                    ("drop_column", ["bio", "email", "id", "name", "org_id"])]
    [(_, after)] = list(schemas_along(graph, "b2", "downgrade", upgrade.ops[:1]))
    assert "bio" in after.tables["users"].columns and "name" not in after.tables["users"].columns
    # The cached history is not changed by the replay.
    assert "bio" not in history_of(graph).before("b2").tables["users"].columns
