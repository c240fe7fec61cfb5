import * as vscode from "vscode";
import { expandPath } from "./locate";

/** The settings the server reads (its `initializationOptions.settings`), per workspace folder. */
export interface ServerSettings {
  /** null: the project's selection (an empty list would select no rule). */
  select: string[] | null;
  ignore: string[];
  severity: Record<string, string>;
  fixAll: boolean;
  alembicConfig: string | null;
}

/** The `migls.*` settings of `folder` in the shape the server reads. */
export function serverSettings(folder: vscode.WorkspaceFolder | undefined): ServerSettings {
  const config = vscode.workspace.getConfiguration("migls", folder?.uri);
  const select = config.get<string[]>("select", []);
  const alembicConfig = config.get<string>("alembicConfig", "").trim();
  return {
    select: select.length > 0 ? select : null,
    ignore: config.get<string[]>("ignore", []),
    severity: config.get<Record<string, string>>("severity", {}),
    fixAll: config.get<boolean>("fixAll", true),
    alembicConfig: alembicConfig ? expandPath(alembicConfig, folder) : null,
  };
}

/** Settings whose change needs a new server process (another executable or environment). */
export const RESTART_SETTINGS = ["migls.path", "migls.interpreter", "python.defaultInterpreterPath"];
