import * as vscode from "vscode";
import {
  CloseAction,
  DidChangeConfigurationNotification,
  ErrorAction,
  ErrorHandler,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
} from "vscode-languageclient/node";
import { LocateResult, MiglsCommand, locateMigls } from "./locate";
import { serverSettings } from "./settings";

/** What the status bar shows about the server. */
export type ServerState = "starting" | "running" | "stopped" | "notFound" | "failed";

/** The install command a user without migls is told to run. */
export const INSTALL_COMMAND = "pip install migls";

/**
 * Owns the language client: finds migls, starts `migls server` over stdio, restarts it, and
 * forwards `workspace/executeCommand` requests for the editor commands.
 */
export class ServerController implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private current: MiglsCommand | undefined;
  private stateValue: ServerState = "stopped";
  private serverVersion: string | undefined;
  private pending: Promise<void> = Promise.resolve();
  /** When the server exited by itself lately (see keepRestarting). */
  private exits: number[] = [];
  private readonly stateEmitter = new vscode.EventEmitter<ServerState>();
  /** Fires after every state change and after each (re)start. */
  readonly onDidChangeState = this.stateEmitter.event;

  constructor(
    readonly output: vscode.OutputChannel,
    private readonly extensionVersion: string,
  ) {}

  get state(): ServerState {
    return this.stateValue;
  }

  /** The migls that runs (or was last found), for the status tooltip and the CLI fallbacks. */
  get command(): MiglsCommand | undefined {
    return this.current;
  }

  get version(): string | undefined {
    return this.serverVersion;
  }

  /** The workspace folder the server runs in: the first one (one server per window). */
  get folder(): vscode.WorkspaceFolder | undefined {
    return vscode.workspace.workspaceFolders?.[0];
  }

  private setState(state: ServerState): void {
    this.stateValue = state;
    this.stateEmitter.fire(state);
  }

  /** Starts the server; calls made while one start or stop runs wait for it. */
  start(): Promise<void> {
    this.pending = this.pending.then(() => this.doStart());
    return this.pending;
  }

  /** Stops the server and starts it again, looking for migls afresh (a new interpreter...). */
  restart(reason = "asked"): Promise<void> {
    this.pending = this.pending.then(async () => {
      this.output.appendLine(`[migls] restarting the server (${reason})`);
      await this.doStop();
      await this.doStart();
    });
    return this.pending;
  }

  stop(): Promise<void> {
    this.pending = this.pending.then(() => this.doStop());
    return this.pending;
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.stop(5000);
      } catch (error) {
        this.output.appendLine(`[migls] stopping the server: ${String(error)}`);
      }
      await client.dispose();
    }
    this.setState("stopped");
  }

  private async doStart(): Promise<void> {
    this.setState("starting");
    const located: LocateResult = await locateMigls(this.folder);
    for (const line of located.tried) this.output.appendLine(`[migls] ${line}`);
    if (!located.found) {
      this.current = undefined;
      this.setState("notFound");
      void this.notifyNotFound(located.python);
      return;
    }
    const command = located.found;
    this.current = command;
    this.output.appendLine(`[migls] starting ${[...command.argv, "server"].join(" ")} (found through ${command.origin})`);

    const executable = { command: command.argv[0], args: [...command.argv.slice(1), "server"], options: { cwd: this.folder?.uri.fsPath } };
    const serverOptions: ServerOptions = { run: executable, debug: executable };
    // Assigned below; the middleware runs only once the client exists.
    // eslint-disable-next-line prefer-const
    let client: LanguageClient;
    // Until the server has answered `initialize`, a failure is reported once, by this
    // extension (notifyStartFailed): no restart per failed attempt, no notification each.
    let initialized = false;
    let defaults: ErrorHandler | undefined;
    const afterStart = (): ErrorHandler => (defaults ??= client.createDefaultErrorHandler());
    const errorHandler: ErrorHandler = {
      error: (error, message, count) =>
        initialized ? afterStart().error(error, message, count) : { action: ErrorAction.Shutdown, handled: true },
      closed: () => {
        // A server that exits by itself is started again here, not by the client: a start
        // that fails is then reported once (the client would retry and fail in a loop).
        // (After the client has taken the closed connection in: it is stopped by then.)
        if (initialized && this.keepRestarting()) setTimeout(() => void this.restart("the server exited"), 0);
        return { action: CloseAction.DoNotRestart, handled: true };
      },
    };
    const clientOptions: LanguageClientOptions = {
      errorHandler,
      initializationFailedHandler: () => false,
      documentSelector: [
        { scheme: "file", language: "python" },
        { scheme: "untitled", language: "python" },
      ],
      outputChannel: this.output,
      traceOutputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: { settings: serverSettings(this.folder) },
      middleware: {
        workspace: {
          // The server asks for the "migls" section: answer with the settings it knows, in its
          // shape (the extension's own keys, like migls.path, are not its business).
          configuration: async (params, token, next) => {
            const answers = await next(params, token);
            if (!Array.isArray(answers)) return answers;
            return params.items.map((item, i) => {
              if (item.section !== "migls") return answers[i] as unknown;
              const scope = item.scopeUri ? vscode.workspace.getWorkspaceFolder(vscode.Uri.parse(item.scopeUri)) : undefined;
              return serverSettings(scope ?? this.folder);
            });
          },
          // The same for the settings pushed on a change (the client would send the whole section).
          didChangeConfiguration: async (sections, next) => {
            if (sections !== undefined && !sections.includes("migls")) return next(sections);
            await client.sendNotification(DidChangeConfigurationNotification.type, {
              settings: { migls: serverSettings(this.folder) },
            });
          },
        },
      },
      synchronize: {
        fileEvents: [
          vscode.workspace.createFileSystemWatcher("**/*.py"),
          vscode.workspace.createFileSystemWatcher("**/{alembic.ini,pyproject.toml,migls.toml}"),
        ],
      },
    };
    client = new QuietStartClient("migls", "migls", serverOptions, clientOptions, () => initialized);
    client.onDidChangeState((event) => {
      if (this.client !== client) return;
      if (event.newState === State.Running) this.setState("running");
      else if (event.newState === State.Stopped && this.stateValue === "running") this.setState("stopped");
    });
    this.client = client;
    let failure: unknown;
    try {
      await client.start();
    } catch (error) {
      failure = error;
    }
    // start() can also resolve when the server exited before answering `initialize` (the
    // client forgets its start promise when the connection closes): check the state too.
    if (failure !== undefined || client.state !== State.Running) {
      const why = failure === undefined ? "it exited before answering initialize" : failure instanceof Error ? failure.message : JSON.stringify(failure);
      this.output.appendLine(`[migls] the server did not start: ${why}`);
      if (this.client === client) {
        this.client = undefined;
        this.setState("failed");
      }
      // Not awaited: the notification stays until dismissed, and activation (which every
      // command of the extension waits for, the CLI fallbacks included) must not wait for it.
      void this.notifyStartFailed(command);
      return;
    }
    initialized = true;
    this.serverVersion = client.initializeResult?.serverInfo?.version;
    if (this.serverVersion && majorMinor(this.serverVersion) !== majorMinor(this.extensionVersion)) {
      this.output.appendLine(
        `[migls] the server is migls ${this.serverVersion}, this extension was made for ${this.extensionVersion}: some commands may be missing`,
      );
    }
    this.setState("running");
  }

  /** Whether a server that exited by itself is started again: not after 5 exits in 3 minutes. */
  private keepRestarting(): boolean {
    const now = Date.now();
    this.exits = [...this.exits.filter((at) => now - at < 3 * 60_000), now];
    if (this.exits.length <= 4) return true;
    this.output.appendLine("[migls] the server exited 5 times in 3 minutes: not starting it again (migls: Restart Server does)");
    void this.notifyStopped();
    return false;
  }

  private async notifyStopped(): Promise<void> {
    const choice = await vscode.window.showErrorMessage(
      "migls: the language server exited 5 times in 3 minutes and is not started again.",
      "Restart Server",
      "Show Output",
    );
    if (choice === "Restart Server") void this.restart("migls: Restart Server");
    else if (choice === "Show Output") this.output.show(true);
  }

  private async notifyStartFailed(command: MiglsCommand): Promise<void> {
    const choice = await vscode.window.showErrorMessage(
      `migls: the language server did not start (${command.argv.join(" ")} server). See the output for details.`,
      "Show Output",
    );
    if (choice) this.output.show(true);
  }

  private async notifyNotFound(python: string | undefined): Promise<void> {
    const install = python ? `"${python}" -m ${INSTALL_COMMAND}` : INSTALL_COMMAND;
    const where = python ? ` (${python})` : "";
    const choice = await vscode.window.showErrorMessage(
      `migls is not installed in this workspace's Python environment${where}. Install it with \`${install}\`, or set "migls.path".`,
      "Install in Terminal",
      "Open Settings",
    );
    if (choice === "Install in Terminal") {
      const terminal = vscode.window.createTerminal({ name: "migls: install", cwd: this.folder?.uri });
      terminal.show();
      terminal.sendText(install);
      // Look again once the user closes the install terminal.
      const closed = vscode.window.onDidCloseTerminal((t) => {
        if (t !== terminal) return;
        closed.dispose();
        if (this.stateValue === "notFound") void this.restart("migls installed");
      });
    } else if (choice === "Open Settings") {
      await vscode.commands.executeCommand("workbench.action.openSettings", "migls.path");
    }
  }

  /** Whether the running server offers `workspace/executeCommand` for `name`. */
  supports(name: string): boolean {
    const commands = this.client?.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
    return this.client?.state === State.Running && commands.includes(name);
  }

  /** Runs a server command (see `supports`). */
  async execute<T>(name: string, args: unknown[]): Promise<T> {
    if (!this.client) throw new Error("the migls server is not running");
    return (await this.client.sendRequest(ExecuteCommandRequest.type, { command: name, arguments: args })) as T;
  }

  /** The running client, for requests the extension makes itself (fix-all on save). */
  get languageClient(): LanguageClient | undefined {
    return this.client?.state === State.Running ? this.client : undefined;
  }

  dispose(): void {
    void this.stop();
    this.stateEmitter.dispose();
  }
}

/**
 * A language client whose errors before the server answered `initialize` go to the output
 * only: the extension reports a failed start itself, once (the client would also show
 * "couldn't create connection to server").
 */
class QuietStartClient extends LanguageClient {
  constructor(
    id: string,
    name: string,
    serverOptions: ServerOptions,
    clientOptions: LanguageClientOptions,
    private readonly started: () => boolean,
  ) {
    super(id, name, serverOptions, clientOptions);
  }

  override error(message: string, data?: unknown, showNotification: boolean | "force" = "force"): void {
    super.error(message, data, this.started() ? showNotification : false);
  }
}

function majorMinor(version: string): string {
  return version.split(".").slice(0, 2).join(".");
}
