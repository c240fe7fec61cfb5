// The part of the Python extension's API that migls uses: the selected interpreter and the
// event fired when the user selects another one ("Python: Select Interpreter").
const vscode = require("vscode");

exports.activate = function activate(context) {
  let selected = vscode.workspace.getConfiguration("standInPython").get("interpreter", "");
  const changed = new vscode.EventEmitter();
  context.subscriptions.push(
    changed,
    vscode.commands.registerCommand("python.setInterpreter", async () => {
      const path = await vscode.window.showInputBox({ prompt: "Interpreter path" });
      if (!path) return;
      selected = path;
      changed.fire({ id: path, path, resource: undefined });
    }),
  );
  return {
    ready: Promise.resolve(),
    environments: {
      getActiveEnvironmentPath: () => ({ id: selected, path: selected }),
      resolveEnvironment: async (environment) => {
        const path = typeof environment === "string" ? environment : environment.path;
        return path ? { id: path, path, executable: { uri: vscode.Uri.file(path) } } : undefined;
      },
      onDidChangeActiveEnvironmentPath: changed.event,
    },
  };
};
