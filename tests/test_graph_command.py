"""``migls graph``: every format, checked structurally, and the graph it shows checked
against Alembic's own ``ScriptDirectory``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
from alembic.config import Config
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parent.parent
BLOG = ROOT / "examples" / "blog"

#: The JSON document of ``migls graph --format json`` (also in the README).
SCHEMA = {
    "type": "object",
    "required": ["version", "environments"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": 1},
        "environments": {"type": "array", "items": {
            "type": "object",
            "required": ["name", "heads", "bases", "revisions", "unattached_findings"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string"},
                "heads": {"type": "array", "items": {"type": "string"}},
                "bases": {"type": "array", "items": {"type": "string"}},
                "revisions": {"type": "array", "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["id", "path", "message", "parents", "depends_on",
                                 "branch_labels", "head", "base", "merge", "branch_point",
                                 "findings"],
                    "properties": {
                        "id": {"type": "string"},
                        "path": {"type": "string"},
                        "message": {"type": ["string", "null"]},
                        "parents": {"type": "array", "items": {"type": "string"}},
                        "depends_on": {"type": "array", "items": {"type": "string"}},
                        "branch_labels": {"type": "array", "items": {"type": "string"}},
                        "head": {"type": "boolean"},
                        "base": {"type": "boolean"},
                        "merge": {"type": "boolean"},
                        "branch_point": {"type": "boolean"},
                        "findings": {"type": "array", "items": {"$ref": "#/$defs/finding"}},
                    },
                }},
                "unattached_findings": {"type": "array", "items": {
                    "allOf": [{"$ref": "#/$defs/finding"},
                              {"type": "object", "required": ["path"]}]}},
            },
        }},
    },
    "$defs": {"finding": {
        "type": "object",
        "required": ["code", "name", "severity", "line", "column", "message"],
        "properties": {
            "code": {"type": "string", "pattern": "^MG[0-9]{3}$"},
            "name": {"type": "string"},
            "severity": {"enum": ["error", "warning", "info"]},
            "line": {"type": "integer", "minimum": 1},
            "column": {"type": "integer", "minimum": 1},
            "message": {"type": "string"},
            "path": {"type": "string"},
        },
    }},
}


def migls(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "migls", *map(str, args)], cwd=cwd,
                            capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def rev(revision: str, parents: str = "None", extra: str = "", message: str = "") -> str:
    doc = f'"""{message or "revision " + revision}\n\n"""\n'
    return (f"{doc}revision = {revision!r}\ndown_revision = {parents}\n{extra}\n\n"
            "def upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n")


INI = "[alembic]\nscript_location = %(here)s/migrations\npath_separator = os\n"


def test_text_shows_lanes_heads_merges_and_findings() -> None:
    result = migls("graph", "examples/blog")
    assert result.returncode == 0, result.stderr
    assert result.stdout == """\
examples/blog/alembic.ini: 7 revisions, 2 heads (6e8b3d5f2a97, 7f4a6c2e9b18)
*  7f4a6c2e9b18  create tags and post_tags tables  (head)  MG103
| *  6e8b3d5f2a97  create comments table  (head)  MG103 MG108
|/
*  5d2f9a4c1e83  merge display_name and published_at  (merge, branch point)
|\\
| *  4c1e7f3b8d62  add posts.published_at
* |  3a9d8c6e2f14  add users.display_name  MG202
|/
*  2b7e4d1c9a05  create posts table  (branch point)
*  1f0c2a9b7d31  create users table  (base)
"""


def test_json_follows_the_schema_and_agrees_with_alembic_and_lint() -> None:
    document = json.loads(migls("graph", "--format", "json", "examples/blog").stdout)
    jsonschema.validate(document, SCHEMA)
    (env,) = document["environments"]
    script = ScriptDirectory.from_config(Config(str(BLOG / "alembic.ini")))
    assert set(env["heads"]) == set(script.get_heads())
    assert set(env["bases"]) == set(script.get_bases())
    for node in env["revisions"]:
        down = script.get_revision(node["id"]).down_revision
        assert tuple(node["parents"]) == (down if isinstance(down, tuple) else (down,) if down else ())
        assert node["head"] == (node["id"] in env["heads"])
    ids = [n["id"] for n in env["revisions"]]
    for node in env["revisions"]:  # newest first: every revision before its parents
        assert all(ids.index(p) > ids.index(node["id"]) for p in node["parents"])
    lint = json.loads(migls("lint", "--format", "json", "examples/blog").stdout)
    by_file = {(Path(d["path"]).name.split("_")[0], d["code"]) for d in lint}
    shown = {(n["id"], f["code"]) for n in env["revisions"] for f in n["findings"]}
    assert shown == by_file


def test_mermaid_defines_every_node_and_edge() -> None:
    out = migls("graph", "--format", "mermaid", "examples/blog").stdout
    lines = out.splitlines()
    assert lines[0] == "flowchart BT"
    nodes = dict(re.findall(r'^  (e0r\d+)\(?\["(.*)"\]\)?$', out, re.MULTILINE))
    assert len(nodes) == 7
    assert all('"' not in label for label in nodes.values())
    edges = re.findall(r"^  (e0r\d+) --> (e0r\d+)$", out, re.MULTILINE)
    assert len(edges) == 7  # 6 revisions with one parent, the merge with two
    assert all(a in nodes and b in nodes for a, b in edges)
    merge = next(k for k, v in nodes.items() if v.startswith("5d2f9a4c1e83"))
    assert f"  {merge}([" in out  # the merge is drawn round
    assert re.search(r"^  class (e0r\d+,?)+ head$", out, re.MULTILINE)
    assert "classDef error" in out


# -- DOT ---------------------------------------------------------------------------------------

_DOT_TOKEN = re.compile(r'\s+|//[^\n]*|(?P<str>"(?:[^"\\]|\\.)*")|(?P<arrow>->|--)|'
                        r"(?P<id>[A-Za-z_][A-Za-z_0-9]*|-?(?:\.\d+|\d+(?:\.\d*)?))|(?P<punct>[{}\[\];,=:])")


def parse_dot(text: str) -> tuple[set[str], list[tuple[str, str]], int]:
    """A strict parser for the DOT grammar (graph, stmt_list, node/edge/attr statements,
    attribute lists, subgraphs); returns the node ids, the edges and the number of
    subgraphs, and fails on anything that is not DOT."""
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        match = _DOT_TOKEN.match(text, position)
        assert match, f"not DOT at {text[position:position + 30]!r}"
        position = match.end()
        for kind in ("str", "arrow", "id", "punct"):
            if match.group(kind) is not None:
                tokens.append((kind, match.group(kind)))
    index = 0
    nodes: set[str] = set()
    edges: list[tuple[str, str]] = []
    subgraphs = 0

    def peek() -> tuple[str, str] | None:
        return tokens[index] if index < len(tokens) else None

    def take(kind: str | None = None, value: str | None = None) -> str:
        nonlocal index
        token = peek()
        assert token is not None, "unexpected end"
        assert kind is None or token[0] == kind, (token, kind)
        assert value is None or token[1] == value, (token, value)
        index += 1
        return token[1]

    def identifier() -> str:
        token = peek()
        assert token is not None and token[0] in ("id", "str"), token
        value = take()
        return json.loads(value) if value.startswith('"') else value

    def attributes() -> None:
        while peek() == ("punct", "["):
            take("punct", "[")
            while peek() != ("punct", "]"):
                identifier()
                take("punct", "=")
                identifier()
                if peek() in (("punct", ","), ("punct", ";")):
                    take()
            take("punct", "]")

    def statements() -> None:
        nonlocal subgraphs
        take("punct", "{")
        while peek() != ("punct", "}"):
            token = peek()
            assert token is not None
            if token == ("id", "subgraph"):
                take()
                if peek() != ("punct", "{"):
                    identifier()
                subgraphs += 1
                statements()
            elif token[1] in ("node", "edge", "graph") and token[0] == "id":
                take()
                attributes()
            else:
                first = identifier()
                if peek() == ("punct", "="):
                    take()
                    identifier()
                else:
                    chain = [first]
                    while peek() and peek()[0] == "arrow":  # type: ignore[index]
                        assert take() == "->", "an undirected edge in a digraph"
                        chain.append(identifier())
                    attributes()
                    if len(chain) == 1:
                        nodes.add(first)
                    edges.extend(zip(chain, chain[1:]))
            if peek() == ("punct", ";"):
                take()
        take("punct", "}")

    while index < len(tokens):
        take("id", "digraph")
        if peek() != ("punct", "{"):
            identifier()
        statements()
    return nodes, edges, subgraphs


def test_dot_is_valid_and_has_every_node_and_edge() -> None:
    out = migls("graph", "--format", "dot", "examples/blog").stdout
    nodes, edges, subgraphs = parse_dot(out)
    script = ScriptDirectory.from_config(Config(str(BLOG / "alembic.ini")))
    revisions = {s.revision: s for s in script.walk_revisions()}
    assert nodes == set(revisions)
    expected = {(p, r) for r, s in revisions.items() for p in s._normalized_down_revisions}
    assert set(edges) == expected and subgraphs == 0
    assert 'penwidth=3' in out and 'shape=ellipse' in out


def test_awkward_ids_and_messages_in_every_format(tmp_path: Path) -> None:
    root = write(tmp_path, {"alembic.ini": INI, "migrations/versions/a.py": rev(
        "0.98.0", message='say "hi" \\ back {curly} <b>&'),
        "migrations/versions/b.py": rev("alembic_start", "'0.98.0'", "depends_on = '0.98.0'",
                                        message="[brackets] -> arrow; semi")})
    nodes, edges, _ = parse_dot(migls("graph", "--format", "dot", cwd=root).stdout)
    assert nodes == {"0.98.0", "alembic_start"}
    assert edges == [("0.98.0", "alembic_start"), ("0.98.0", "alembic_start")]  # parent, depends
    document = json.loads(migls("graph", "--format", "json", cwd=root).stdout)
    jsonschema.validate(document, SCHEMA)
    assert document["environments"][0]["revisions"][1]["message"] == 'say "hi" \\ back {curly} <b>&'
    mermaid = migls("graph", "--format", "mermaid", cwd=root).stdout
    assert "#quot;hi#quot;" in mermaid and "#lt;b#gt;#amp;" in mermaid
    assert "-.->|depends on|" in mermaid
    text = migls("graph", cwd=root).stdout
    assert "depends on 0.98.0" in text


def test_several_environments_and_broken_histories(tmp_path: Path) -> None:
    write(tmp_path, {
        "one/alembic.ini": INI,
        "one/migrations/versions/a.py": rev("a1"),
        "one/migrations/versions/junk.py": "x = 1\n",  # MG002: no revision to attach to
        "two/alembic.ini": INI,
        "two/migrations/versions/c.py": rev("c1", "'c2'"),  # a cycle
        "two/migrations/versions/d.py": rev("c2", "'c1'"),
    })
    nodes, _, subgraphs = parse_dot(migls("graph", "--format", "dot", cwd=tmp_path).stdout)
    assert subgraphs == 2 and nodes == {"0:a1", "1:c1", "1:c2"}
    result = migls("graph", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0
    document = json.loads(result.stdout)
    jsonschema.validate(document, SCHEMA)
    one, two = document["environments"]
    assert [f["code"] for f in one["unattached_findings"]] == ["MG002"]
    assert {f["code"] for n in two["revisions"] for f in n["findings"]} == {"MG104"}
    assert two["heads"] == []
    text = migls("graph", cwd=tmp_path).stdout
    assert "junk.py: MG002 (no revision id)" in text
    assert migls("graph", "--format", "mermaid", cwd=tmp_path).stdout.count("subgraph") == 2


def test_help_says_it_runs_no_project_code() -> None:
    out = migls("graph", "--help").stdout
    assert "Runs no project code" in " ".join(out.split())
    assert migls("graph", "nowhere").returncode == 2
