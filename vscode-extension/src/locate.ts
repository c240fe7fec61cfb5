import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import { PythonExtension } from "@vscode/python-extension";
import { run } from "./process";

/** How to run the migls CLI of one Python environment (append "server", "lint", ...). */
export interface MiglsCommand {
  /** The argv prefix: `[".../bin/migls"]` or `[python, "-m", "migls"]`. */
  argv: string[];
  /** Which rule found it, for the output channel and the status tooltip. */
  origin: string;
  /** The environment's Python interpreter, when known (Alembic's own commands run in it). */
  python?: string;
}

/** The outcome of a search: a command, or what was tried (for the notification). */
export type LocateResult =
  | { found: MiglsCommand; tried: string[] }
  | { found?: undefined; tried: string[]; python?: string };

const isWindows = process.platform === "win32";
const binDir = isWindows ? "Scripts" : "bin";
const exeSuffix = isWindows ? ".exe" : "";

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** `~` and `${workspaceFolder}` in user-given paths, as other Python tool extensions allow. */
export function expandPath(value: string, folder: vscode.WorkspaceFolder | undefined): string {
  let out = value.trim();
  if (out === "~" || out.startsWith("~/")) {
    out = path.join(process.env.HOME ?? process.env.USERPROFILE ?? "", out.slice(1));
  }
  if (folder) {
    out = out.replace(/\$\{workspaceFolder\}/g, folder.uri.fsPath);
    if (!path.isAbsolute(out) && out.includes(path.sep)) out = path.join(folder.uri.fsPath, out);
  }
  return out;
}

/** `migls` next to an interpreter (a venv's bin/ or Scripts/), or the interpreter itself. */
async function fromInterpreter(python: string, origin: string): Promise<MiglsCommand | undefined> {
  const beside = path.join(path.dirname(python), `migls${exeSuffix}`);
  if (isExecutable(beside)) return { argv: [beside], origin, python };
  // Installed without scripts on PATH (a --user install, a conda env): ask the interpreter.
  try {
    const probe = await run([python, "-c", "import migls"], { timeoutMs: 20_000 });
    if (probe.code === 0) return { argv: [python, "-m", "migls"], origin, python };
  } catch {
    // The interpreter does not start: fall through to the next candidate.
  }
  return undefined;
}

/** The interpreter the Python extension has selected for `folder`, when it is installed. */
export async function selectedInterpreter(folder: vscode.WorkspaceFolder | undefined): Promise<string | undefined> {
  if (!vscode.extensions.getExtension("ms-python.python")) return undefined;
  try {
    const api = await PythonExtension.api();
    const active = api.environments.getActiveEnvironmentPath(folder?.uri);
    const resolved = await api.environments.resolveEnvironment(active);
    return resolved?.executable.uri?.fsPath;
  } catch {
    return undefined;
  }
}

/** The Python interpreter a console script runs with, read from its `#!` line. */
function shebangPython(script: string): string | undefined {
  try {
    const fd = fs.openSync(script, "r");
    const head = Buffer.alloc(512);
    const size = fs.readSync(fd, head, 0, head.length, 0);
    fs.closeSync(fd);
    const first = head.subarray(0, size).toString("utf8").split("\n")[0];
    const match = /^#!\s*(\S*python[\d.]*)\s*$/.exec(first);
    return match ? match[1] : undefined;
  } catch {
    return undefined;
  }
}

/** `name` on PATH, as the shell would find it. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    for (const suffix of isWindows ? [".exe", ".cmd", ""] : [""]) {
      const candidate = path.join(dir, name + suffix);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

/**
 * Finds migls for `folder`, in this order: the `migls.path` setting, the `migls.interpreter`
 * setting, the Python extension's selected interpreter, a `.venv` or `venv` in the workspace,
 * `migls` on PATH. An explicit setting that does not work is not silently replaced.
 */
export async function locateMigls(folder: vscode.WorkspaceFolder | undefined): Promise<LocateResult> {
  const config = vscode.workspace.getConfiguration("migls", folder?.uri);
  const tried: string[] = [];

  const paths = ([] as string[]).concat(config.get<string | string[]>("path") ?? []).filter((p) => p.trim());
  if (paths.length > 0) {
    for (const candidate of paths.map((p) => expandPath(p, folder))) {
      if (isExecutable(candidate)) {
        const python = shebangPython(candidate);
        return { found: { argv: [candidate], origin: "the migls.path setting", python }, tried };
      }
      tried.push(`migls.path: ${candidate} is not an executable file`);
    }
    return { tried };
  }

  const interpreter = (config.get<string[]>("interpreter") ?? []).filter((p) => p.trim());
  if (interpreter.length > 0) {
    const python = expandPath(interpreter[0], folder);
    const found = await fromInterpreter(python, "the migls.interpreter setting");
    if (found) return { found, tried };
    tried.push(`migls.interpreter: migls is not installed for ${python}`);
    return { tried, python };
  }

  const selected = await selectedInterpreter(folder);
  if (selected) {
    const found = await fromInterpreter(selected, "the Python extension's selected interpreter");
    if (found) return { found, tried };
    tried.push(`the selected interpreter ${selected} has no migls`);
  }

  // A workspace's own .venv is code from the workspace: run it only when the workspace is trusted.
  const folders = vscode.workspace.isTrusted ? (folder ? [folder] : vscode.workspace.workspaceFolders ?? []) : [];
  for (const folderCandidate of folders) {
    for (const venv of [".venv", "venv"]) {
      const python = path.join(folderCandidate.uri.fsPath, venv, binDir, `python${exeSuffix}`);
      if (!isExecutable(python)) continue;
      const found = await fromInterpreter(python, `the workspace's ${venv}`);
      if (found) return { found, tried };
      tried.push(`${python} has no migls`);
    }
  }

  const global = onPath("migls");
  if (global) return { found: { argv: [global], origin: "PATH", python: shebangPython(global) }, tried };
  tried.push("no migls on PATH");
  return { tried, python: selected };
}
