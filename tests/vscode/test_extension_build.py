"""The extension as built and shipped: its version is the Python package's, it type-checks,
lints and passes its unit tests, the .vsix holds only what it should, and its settings and
commands are the server's and are documented."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import migls
from migls.server.settings import DOCUMENTED
from vscode.harness import EXTENSION, Toolchain, npm

PACKAGE = json.loads((EXTENSION / "package.json").read_text())
README = (EXTENSION / "README.md").read_text()


def test_version_is_the_python_package_version() -> None:
    assert PACKAGE["version"] == migls.__version__


def test_type_check_and_lint(toolchain: Toolchain, vsix: Path) -> None:
    done = npm(toolchain, "run", "check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_unit_tests(toolchain: Toolchain, vsix: Path) -> None:
    done = npm(toolchain, "test")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^ℹ fail 0$", done.stdout, re.M), done.stdout


def test_vsix_contents(vsix: Path) -> None:
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("extension/package.json"))
    shipped = {n for n in names if n.startswith("extension/")}
    assert shipped == {"extension/package.json", "extension/dist/extension.js",
                       "extension/readme.md", "extension/LICENSE.txt"}
    assert manifest["version"] == migls.__version__


def test_settings_mirror_the_server() -> None:
    contributed = set(PACKAGE["contributes"]["configuration"]["properties"])
    for key in DOCUMENTED:
        assert f"migls.{key}" in contributed, f"the server's setting {key} has no VS Code setting"


def test_settings_and_commands_are_documented() -> None:
    for key in PACKAGE["contributes"]["configuration"]["properties"]:
        assert f"`{key}`" in README, f"{key} is not in vscode-extension/README.md"
    for command in PACKAGE["contributes"]["commands"]:
        title = f"{command['category']}: {command['title']}"
        assert f"**{title}**" in README, f"{title} is not in vscode-extension/README.md"


def test_npm_ci_and_package_work_offline(toolchain: Toolchain, vsix: Path, tmp_path: Path) -> None:
    # The committed sources alone, installed from the npm cache the first install filled.
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=EXTENSION, capture_output=True,
                             check=True).stdout.decode().split("\0")
    copy = tmp_path / "vscode-extension"
    for name in filter(None, tracked):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(EXTENSION / name, copy / name)
    for command in (["ci", "--offline", "--no-audit", "--no-fund"], ["run", "package"]):
        done = subprocess.run(["npm", *command], cwd=copy, env=toolchain.env(), capture_output=True,
                              text=True)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (copy / "dist" / "migls.vsix").stat().st_size > 10_000
