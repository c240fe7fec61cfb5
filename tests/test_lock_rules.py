"""MG301-MG310 beyond their examples: how the operations are read (defaults, keyword ranges,
transactions, history, settings), and every claim their messages make checked against a real
PostgreSQL through the ``tests/pg`` harness.

The claims are read back from the message itself (``"reads are not"`` means a SELECT from a
second session went through; ``"rewrites t"`` means ``t``'s relfilenode changed; ...), so a
message that says more than the server does fails here.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping

import pytest
from migls_rules._locks_a import RULES
from migls_rules._locks_a_kit import is_volatile_sql
from pg.observe import Observation, observe

from migls.config import parse_settings
from migls.engine import lint_sources
from migls.registry import all_rules
from migls.rule import Diagnostic

LOCK_CODES = ("MG301", "MG302", "MG303", "MG304", "MG305", "MG306", "MG307", "MG309", "MG310")
ROWS = 20_000


def revision(body: str, rev: str = "a1", parent: str | None = None, downgrade: str = "pass") -> str:
    """A revision file whose ``upgrade()`` is ``body``."""
    return (f"revision = {rev!r}\ndown_revision = {parent!r}\n\n\ndef upgrade():\n"
            + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")
            + "\n\n\ndef downgrade():\n" + textwrap.indent(textwrap.dedent(downgrade).strip("\n"), "    ")
            + "\n")


def lint(files: str | Mapping[str, str], **settings: object) -> list[Diagnostic]:
    """The MG30x findings (every MG3 rule selected) for one upgrade body or several files."""
    sources = {"0001_a.py": revision(files)} if isinstance(files, str) else dict(files)
    config = {"extend-select": ["MG310"], **{k.replace("_", "-"): v for k, v in settings.items()}}
    result = lint_sources(sources, parse_settings(config, None, "test"))
    return [d for d in result.diagnostics if d.code in LOCK_CODES]


def codes(files: str | Mapping[str, str], **settings: object) -> list[str]:
    return sorted(d.code for d in lint(files, **settings))


# -- registration ---------------------------------------------------------------------------

def test_the_family_is_registered_with_its_contract() -> None:
    assert sorted(rule.CODE for rule in RULES) == list(LOCK_CODES)
    registered = {rule.CODE: rule for rule in all_rules()}
    for rule in RULES:
        assert registered[rule.CODE] is rule
        assert rule.__module__ == "migls_rules." + rule.NAME.replace("-", "_")
        assert rule.__name__ == "".join(part.title() for part in rule.NAME.split("-"))
        assert "**Safe alternative**" in (rule.__doc__ or "") and "```python" in (rule.__doc__ or "")
        assert rule.DEFAULT_ENABLED is (rule.CODE != "MG310")


# -- scope: dialect, functions, new tables ----------------------------------------------------

EVERYTHING = """
op.add_column("users", sa.Column("email", sa.Text(), nullable=False, index=True, unique=True,
                                 server_default=sa.text("gen_random_uuid()")))
op.create_index("ix_users_name", "users", ["name"], postgresql_concurrently=True)
op.create_foreign_key("fk", "users", "orgs", ["org_id"], ["id"])
op.create_check_constraint("ck", "users", "age > 0")
op.alter_column("users", "name", nullable=False)
op.create_unique_constraint("uq", "users", ["name"])
op.drop_index("ix_users_old", table_name="users")
"""


def test_every_rule_fires_on_postgresql_and_none_elsewhere() -> None:
    assert codes(EVERYTHING) == ["MG302", "MG303", "MG304", "MG305", "MG306", "MG307",
                                 "MG309", "MG310"]
    for dialect in ("sqlite", "mysql"):
        assert codes(EVERYTHING, dialect=dialect) == []


def test_downgrade_only_with_lint_downgrade() -> None:
    source = {"0001_a.py": revision("pass", downgrade=EVERYTHING)}
    assert codes(source) == []
    assert codes(source, lint_downgrade=True) == codes(EVERYTHING)


def test_a_table_created_earlier_is_new_even_when_renamed_but_not_before_its_creation() -> None:
    assert codes("""
        op.create_table("drafts", sa.Column("id", sa.Integer()))
        op.rename_table("drafts", "posts")
        op.add_column("posts", sa.Column("title", sa.Text(), nullable=False))
        op.create_index("ix_posts_title", "posts", ["title"])
    """) == []
    assert codes("""
        op.create_index("ix_posts_title", "posts", ["title"])
        op.create_table("posts", sa.Column("id", sa.Integer()))
    """) == ["MG303"]


def test_dynamic_values_are_not_judged() -> None:
    assert codes("""
        op.create_index("ix", "users", ["name"], postgresql_concurrently=CONCURRENTLY)
        op.create_foreign_key("fk", "users", "orgs", ["org_id"], ["id"], postgresql_not_valid=NV)
        op.create_check_constraint("ck", "users", "age > 0", postgresql_not_valid=NV)
        op.alter_column("users", "name", nullable=NULLABLE)
        op.add_column(TABLE, sa.Column("email", sa.Text(), nullable=False))
    """) == []


def test_messages_name_the_schema() -> None:
    [found] = lint('op.add_column("users", sa.Column("email", sa.Text(), nullable=False), '
                   'schema="app")')
    assert "app.users.email" in found.message


# -- MG301 / MG302: what fills a column ------------------------------------------------------

@pytest.mark.parametrize("column, expected", [
    ('sa.Column("c", sa.Text(), nullable=False)', ["MG301"]),
    ('sa.Column("c", sa.Text(), nullable=False, server_default=None)', ["MG301"]),
    ('sa.Column("c", sa.Text(), nullable=False, server_default="")', []),
    ('sa.Column("c", sa.Text(), primary_key=True)', ["MG301"]),
    ('sa.Column("c", sa.Text(), primary_key=True, nullable=True)', []),
    ('sa.Column("c", sa.Integer(), primary_key=True)', ["MG302"]),  # SERIAL: filled, rewritten
    ('sa.Column("c", sa.BigInteger, primary_key=True, autoincrement=False)', ["MG301"]),
    ('sa.Column("c", sa.Integer(), sa.Identity(), nullable=False)', ["MG302"]),
    ('sa.Column("c", sa.Integer(), sa.Computed("a + 1"), nullable=False)', ["MG302"]),
    ('sa.Column("c", sa.Integer(), sa.Computed("a + 1", persisted=False))', []),
    ('sa.Column("c", sa.DateTime(), nullable=False, server_default=sa.func.now())', []),
    ('sa.Column("c", sa.Uuid(), nullable=False, server_default=sa.func.gen_random_uuid())',
     ["MG302"]),
    ('sa.Column("c", sa.BigInteger(), server_default=sa.Sequence("s").next_value())', ["MG302"]),
    ('sa.Column("c", sa.Float(), server_default=sa.literal_column("random()"))', ["MG302"]),
    ('sa.Column("c", sa.Text(), server_default="clock_timestamp()")', []),  # a quoted constant
    ('sa.Column("c", sa.Text(), server_default=DEFAULT)', []),
])
def test_what_fills_an_added_column(column: str, expected: list[str]) -> None:
    assert codes(f'op.add_column("users", {column})') == expected


@pytest.mark.parametrize("sql, volatile", [
    ("gen_random_uuid()", "gen_random_uuid"),
    ("NEXTVAL('users_id_seq'::regclass)", "NEXTVAL"),
    ("(timeofday())::timestamptz", "timeofday"),
    ("uuid_generate_v4 ()", "uuid_generate_v4"),
    ("floor(random() * 10)", "random"),
    ("now()", None),
    ("CURRENT_TIMESTAMP", None),
    ("statement_timestamp()", None),
    ("'random()'", None),
    ("'it''s random()'", None),
    ("lower('x')", None),
])
def test_volatile_sql(sql: str, volatile: str | None) -> None:
    assert is_volatile_sql(sql) == volatile


def test_computed_follows_postgres_version() -> None:
    body = 'op.add_column("orders", sa.Column("t", sa.Integer(), sa.Computed("a + b")))'
    assert codes(body, postgres_version=17) == ["MG302"]
    assert codes(body, postgres_version=18) == []
    stored = 'op.add_column("orders", sa.Column("t", sa.Integer(), sa.Computed("a", persisted=True)))'
    assert codes(stored, postgres_version=18) == ["MG302"]


def test_any_default_rewrites_before_postgresql_11() -> None:
    body = 'op.add_column("users", sa.Column("n", sa.Integer(), server_default="0"))'
    assert codes(body, postgres_version=10) == ["MG302"]
    assert codes(body, postgres_version=11) == []
    assert codes('op.add_column("users", sa.Column("n", sa.Integer(), server_default=None))',
                 postgres_version=10) == []


# -- exact ranges of sa.Column keywords -------------------------------------------------------

def test_keyword_ranges_in_a_multi_line_column_ignore_comments_and_nested_calls() -> None:
    source = revision("""
        op.add_column(
            "users",
            sa.Column(
                "email",  # index=True, unique=True would be wrong here
                sa.Text(collation=dict(index=True)),
                sa.ForeignKey("orgs.id", name="unique"),
                unique = True,
                index=
                    True,
            ),
        )
    """)
    found = {d.code: d.span for d in lint({"0001_a.py": source})}
    assert sorted(found) == ["MG303", "MG305"]  # unique + index: a unique index, not MG309
    lines = source.splitlines()
    index = found["MG303"]
    assert (index.line, index.end_line) == (13, 14)
    assert lines[12][index.column:] == "index="
    assert lines[13][:index.end_column].strip() == "True"
    fk = found["MG305"]
    assert lines[fk.line - 1][fk.column:fk.end_column] == 'sa.ForeignKey("orgs.id", name="unique")'


def test_unique_with_index_is_a_unique_index_not_a_constraint() -> None:
    assert codes('op.add_column("users", sa.Column("e", sa.Text(), unique=True, index=True))') == [
        "MG303"]
    assert codes('op.add_column("users", sa.Column("e", sa.Text(), unique=True))') == ["MG309"]


# -- transactions: what an earlier operation still holds -------------------------------------

def test_an_earlier_access_exclusive_lock_is_held_until_the_transaction_ends() -> None:
    [held] = lint("""
        op.drop_column("users", "legacy")
        op.create_index("ix_users_name", "users", ["name"])
    """)
    assert "earlier drop_column" in held.message and "reads and writes" in held.message
    [other_table] = lint("""
        op.drop_column("orgs", "legacy")
        op.create_index("ix_users_name", "users", ["name"])
    """)
    assert "(reads are not)" in other_table.message
    [comment_only] = lint("""
        op.alter_column("users", "name", comment="shown in the admin")
        op.create_index("ix_users_name", "users", ["name"])
    """)
    assert "(reads are not)" in comment_only.message
    [after_block] = lint("""
        op.drop_column("users", "legacy")
        with op.get_context().autocommit_block():
            op.execute("VACUUM users")
        op.create_index("ix_users_name", "users", ["name"])
    """)
    assert "(reads are not)" in after_block.message


@pytest.mark.parametrize("earlier, reads", [
    ('op.execute("ALTER TABLE users ADD COLUMN email text")', "blocked"),
    ('op.execute(sa.text("ALTER TABLE ONLY public.users RENAME COLUMN a TO b"))', "blocked"),
    ('op.execute("TRUNCATE users")', "blocked"),
    ('op.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")', "blocked"),
    ('op.execute("ALTER TABLE users VALIDATE CONSTRAINT ck_age")', "not"),
    ('op.execute("ALTER TABLE users ALTER COLUMN age SET STATISTICS 500")', "not"),
    ('op.execute("ALTER TABLE users ADD FOREIGN KEY (org_id) REFERENCES orgs (id) NOT VALID")',
     "not"),
    ('op.execute("LOCK TABLE users IN SHARE MODE")', "not"),
    ('op.execute("ALTER TABLE orgs ADD COLUMN email text")', "not"),
    ('op.execute(SQL)', "unknown"),
    ('op.execute("ALTER TABLE users SET (fillfactor = 70)")', "unknown"),
    ('op.execute("this is not SQL")', "unknown"),
])
def test_earlier_sql_in_the_same_transaction(earlier: str, reads: str) -> None:
    [found] = lint(earlier + '\nop.create_index("ix_users_name", "users", ["name"])')
    assert found.code == "MG303"
    if reads == "blocked":
        assert "reads and writes of users are blocked" in found.message
    elif reads == "not":
        assert "(reads are not)" in found.message
    else:
        assert "reads" not in found.message and "writes to users are blocked" in found.message


def test_concurrently_in_a_transaction_is_an_error_whatever_the_table() -> None:
    assert codes("""
        op.create_table("tags", sa.Column("name", sa.Text()))
        op.create_index("ix_tags_name", "tags", ["name"], postgresql_concurrently=True)
        op.drop_index("ix_tags_name", "tags", postgresql_concurrently=True)
    """) == ["MG304", "MG304"]
    assert codes("""
        op.create_index("ix", "users", ["name"], postgresql_concurrently=False)
    """) == ["MG303"]


# -- MG307 and the validated CHECK ------------------------------------------------------------

def _history(*bodies: str) -> dict[str, str]:
    files, parent = {}, None
    for number, body in enumerate(bodies, 1):
        rev = f"r{number}"
        files[f"{number:04d}_{rev}.py"] = revision(body, rev, parent)
        parent = rev
    return files


SET_NOT_NULL = 'op.alter_column("users", "email", nullable=False)'


def test_a_validated_check_in_an_ancestor_avoids_the_scan() -> None:
    validated = _history(
        'op.create_check_constraint("ck_email", "users", "email IS NOT NULL", '
        'postgresql_not_valid=True)',
        'op.execute("ALTER TABLE users VALIDATE CONSTRAINT ck_email")',
        SET_NOT_NULL)
    assert codes(validated) == []
    assert codes(validated, postgres_version=11) == ["MG307"]


def test_a_check_that_was_dropped_or_never_validated_does_not_count() -> None:
    dropped = _history('op.create_check_constraint("ck_email", "users", "(email IS NOT NULL)")',
                       'op.drop_constraint("ck_email", "users", type_="check")', SET_NOT_NULL)
    assert [(d.path, d.code) for d in lint(dropped)] == [("0001_r1.py", "MG306"),
                                                         ("0003_r3.py", "MG307")]
    never = _history('op.execute("ALTER TABLE users ADD CONSTRAINT ck_email '
                     'CHECK (email IS NOT NULL) NOT VALID")', SET_NOT_NULL)
    [found] = lint(never)
    assert "ck_email is NOT VALID" in found.message
    other_column = _history('op.create_check_constraint("ck", "users", "name IS NOT NULL")',
                            SET_NOT_NULL)
    assert [(d.path, d.code) for d in lint(other_column)][1:] == [("0002_r2.py", "MG307")]


@pytest.mark.parametrize("condition, proves", [
    ("email IS NOT NULL", True),
    ("(email IS NOT NULL)", True),
    ('"email" IS NOT NULL', True),
    ("NOT (email IS NULL)", True),
    ("email IS NOT NULL AND length(email) > 3", True),
    ("length(email) > 3 AND (email IS NOT NULL AND email <> '')", True),
    ("email <> ''", False),
    ("email IS NOT NULL OR legacy", False),
    ("NOT (email IS NOT NULL)", False),
    ("name IS NOT NULL", False),
])
def test_which_checks_prove_not_null(condition: str, proves: bool) -> None:
    escaped = condition.replace('"', '\\"')
    files = _history(f'op.create_check_constraint("ck", "users", "{escaped}")', SET_NOT_NULL)
    assert ("MG307" not in codes(files)) is proves
    raw = _history(f'op.execute("ALTER TABLE users ADD CONSTRAINT ck CHECK ({escaped})")',
                   SET_NOT_NULL)
    assert ("MG307" not in codes(raw)) is proves


def test_a_check_on_a_sibling_branch_does_not_count() -> None:
    files = {
        "0001_base.py": revision("pass", "base"),
        "0002_side.py": revision('op.create_check_constraint("ck", "users", "email IS NOT NULL")',
                                 "side", "base"),
        "0003_main.py": revision(SET_NOT_NULL, "main", "base"),
    }
    assert [(d.path, d.code) for d in lint(files)] == [("0002_side.py", "MG306"),
                                                       ("0003_main.py", "MG307")]


def test_raw_sql_checks_with_quotes_and_schemas() -> None:
    assert codes(_history(
        'op.execute(\'ALTER TABLE ONLY public."users" ADD CONSTRAINT "ck_Email" '
        'CHECK ((email IS NOT NULL)) NOT VALID; ALTER TABLE users VALIDATE CONSTRAINT "ck_Email"\')',
        SET_NOT_NULL)) == []


def test_set_not_null_on_a_column_already_not_null_is_not_a_scan() -> None:
    assert codes('op.alter_column("users", "email", nullable=False, existing_nullable=False)') == []


# -- MG310 ------------------------------------------------------------------------------------

def test_drop_index_is_opt_in_and_follows_the_index_to_its_table() -> None:
    body = 'op.drop_index("ix_users_email", table_name="users")'
    settings = parse_settings({}, None, "test")
    result = lint_sources({"0001_a.py": revision(body)}, settings)
    assert [d.code for d in result.diagnostics if d.code == "MG310"] == []
    assert codes(body) == ["MG310"]
    assert codes("""
        op.create_table("tags", sa.Column("name", sa.Text()))
        op.create_index("ix_tags_name", "tags", ["name"])
        op.drop_index("ix_tags_name")
    """) == []
    assert codes("""
        op.create_index("ix_users_name", "users", ["name"])
        op.drop_index("ix_users_name")
    """) == ["MG303", "MG310"]


# -- every claim of a message, observed on PostgreSQL ----------------------------------------

def check_claims(message: str, obs: Observation) -> list[str]:
    """Each claim ``message`` makes about table ``t`` (and ``p``), checked on ``obs``; the
    claims that were checked are returned (so a test can see that something was)."""
    checked: list[str] = []

    def claim(pattern: str, holds: bool) -> None:
        if re.search(pattern, message):
            assert holds, f"{message!r} claims /{pattern}/, but:\n{obs.describe()}"
            checked.append(pattern)

    state = re.search(r"SQLSTATE (\w+)", message)
    if state:
        assert obs.sqlstate == state.group(1), obs.describe()
        return [state.group(0)]
    assert obs.error is None, obs.describe()
    claim(r"reads and writes of t\b", obs.blocks_reads("t") and obs.blocks_writes("t"))
    claim(r"writes to t\b.*\(reads are not\)", obs.blocks_writes("t") and not obs.blocks_reads("t"))
    claim(r"writes to (t and )?p\b", obs.blocked("p", "insert"))
    claim(r"rewrites t\b", "t" in obs.rewritten)
    claim(r"rebuilds every index", obs.rebuilt_indexes >= {"t_pkey", "t_name_idx"})
    claim(r"scan|build", obs.seq_tup_read.get("t", 0) >= ROWS)
    claim(r"under ACCESS EXCLUSIVE|ACCESS EXCLUSIVE on t\b|ACCESS EXCLUSIVE lock",
          obs.strongest("t") == "AccessExclusive")
    claim(r"takes SHARE on t\b", obs.strongest("t") == "Share")
    claim(r"ACCESS EXCLUSIVE on its table: reads and writes of the table",
          obs.strongest("t") == "AccessExclusive" and obs.blocks_reads("t") and obs.blocks_writes("t"))
    claim(r"SHARE ROW EXCLUSIVE on t and p",
          obs.strongest("t") == "ShareRowExclusive" and obs.strongest("p") == "ShareRowExclusive")
    return checked


TRUTH = [
    ('op.add_column("t", sa.Column("x", sa.Text(), nullable=False))', "MG301"),
    ('op.add_column("t", sa.Column("x", sa.Text(), primary_key=True))', "MG301"),
    ('op.add_column("t", sa.Column("x", sa.Uuid(), server_default=sa.text("gen_random_uuid()")))',
     "MG302"),
    ('op.add_column("t", sa.Column("x", sa.DateTime(), server_default=sa.func.clock_timestamp()))',
     "MG302"),
    ('op.add_column("t", sa.Column("x", sa.BigInteger(), sa.Identity()))', "MG302"),
    ('op.add_column("t", sa.Column("x", sa.Integer(), sa.Computed("n + 1", persisted=True)))',
     "MG302"),
    ('op.add_column("t", sa.Column("x", sa.Integer(), primary_key=True))', "MG302"),
    ('op.create_index("ix_t_n", "t", ["n"])', "MG303"),
    ('op.add_column("t", sa.Column("x", sa.Text(), index=True))', "MG303"),
    ('op.alter_column("t", "code", server_default="x")\nop.create_index("ix_t_n", "t", ["n"])',
     "MG303"),
    ('op.execute("ALTER TABLE t ADD COLUMN x integer")\nop.create_index("ix_t_n", "t", ["n"])',
     "MG303"),
    (('op.execute("ALTER TABLE t ALTER COLUMN n SET STATISTICS 500")\n'
      'op.create_index("ix_t_n", "t", ["n"])'), "MG303"),
    ('op.create_index("ix_t_n", "t", ["n"], postgresql_concurrently=True)', "MG304"),
    ('op.drop_index("t_name_idx", table_name="t", postgresql_concurrently=True)', "MG304"),
    ('op.create_foreign_key("fk", "t", "p", ["parent_id"], ["id"])', "MG305"),
    ('op.add_column("t", sa.Column("x", sa.Integer(), sa.ForeignKey("p.id")))', "MG305"),
    (('op.add_column("t", sa.Column("x", sa.Integer()))\n'
      'op.create_foreign_key(None, "t", "p", ["x"], ["id"])'), "MG305"),
    ('op.create_check_constraint("ck", "t", "n > 0")', "MG306"),
    ('op.alter_column("t", "n", nullable=False)', "MG307"),
    ('op.create_unique_constraint("uq", "t", ["id"])', "MG309"),
    ('op.add_column("t", sa.Column("x", sa.Text(), unique=True))', "MG309"),
    ('op.drop_index("t_name_idx", table_name="t")', "MG310"),
    ('op.drop_index("t_name_idx")', "MG310"),
]


@pytest.mark.parametrize("body, code", TRUTH, ids=[f"{c}-{i}" for i, (_, c) in enumerate(TRUTH)])
def test_the_message_is_what_postgresql_does(pg_url: str, body: str, code: str) -> None:
    found = [d for d in lint(body) if d.code == code]
    assert found, f"{code} did not flag {body!r}"
    obs = observe(pg_url, body, rows=ROWS)
    for diagnostic in found:
        assert check_claims(diagnostic.message, obs), diagnostic.message


def test_the_primary_key_message_is_what_postgresql_does(pg_url: str) -> None:
    body = 'op.create_primary_key("t_pk", "t", ["id"])'
    [found] = lint(body)
    assert check_claims(found.message, observe(pg_url, body, rows=ROWS, pk=False))


@pytest.mark.parametrize("body", [
    'op.add_column("t", sa.Column("x", sa.DateTime(), server_default=sa.func.now()))',
    'op.add_column("t", sa.Column("x", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP")))',
    'op.add_column("t", sa.Column("x", sa.Integer(), nullable=False, server_default="0"))',
    'op.add_column("t", sa.Column("x", sa.Boolean(), nullable=False, server_default=sa.false()))',
    'op.add_column("t", sa.Column("x", sa.Text(), server_default="random()"))',
    'op.alter_column("t", "id", nullable=False, existing_nullable=False)',
    'op.create_foreign_key("fk", "t", "p", ["parent_id"], ["id"], postgresql_not_valid=True)',
    'op.create_check_constraint("ck", "t", "n > 0", postgresql_not_valid=True)',
])
def test_what_is_not_flagged_neither_rewrites_nor_scans(pg_url: str, body: str) -> None:
    flagged = [d.code for d in lint(body)]
    obs = observe(pg_url, body, rows=ROWS)
    assert obs.error is None, obs.describe()
    assert flagged == [], flagged
    assert "t" not in obs.rewritten and obs.seq_tup_read.get("t", 0) == 0, obs.describe()


@pytest.mark.parametrize("condition", ["n IS NOT NULL", "NOT (n IS NULL)",
                                       "n > 0 AND n IS NOT NULL", "n > 0"])
def test_set_not_null_after_a_validated_check(pg_url: str, condition: str) -> None:
    files = _history(f'op.execute("ALTER TABLE t ADD CONSTRAINT ck_n CHECK ({condition}) NOT VALID")\n'
                     'op.execute("ALTER TABLE t VALIDATE CONSTRAINT ck_n")',
                     'op.alter_column("t", "n", nullable=False)')
    found = lint(files)
    obs = observe(pg_url, 'op.alter_column("t", "n", nullable=False)', rows=ROWS, setup=[
        f"ALTER TABLE t ADD CONSTRAINT ck_n CHECK ({condition}) NOT VALID",
        "ALTER TABLE t VALIDATE CONSTRAINT ck_n"])
    if found:
        assert check_claims(found[0].message, obs)
    else:
        assert obs.error is None and obs.seq_tup_read.get("t", 0) == 0, obs.describe()
    assert bool(found) is (condition == "n > 0")
