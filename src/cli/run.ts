import { Command, CommanderError } from "commander";
import { createCli, ExitStatus, type CliIo } from "./cli.js";
import { ApiCallError } from "../protocol/http-client.js";
import { commandGroups } from "./commands/index.js";

export type { CliIo } from "./cli.js";

/**
 * The shoal CLI: docker-style commands over the HTTPS API, run on the given
 * I/O (the bin passes the process's; tests their own). Resolves with the exit
 * code: 0 ok, 1 the API or the connection failed (its message on stderr),
 * 2 usage errors (with the command's help hint).
 */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const program = new Command("shoal")
    .description("A docker-style CLI for the shoal control plane")
    .usage("[OPTIONS] COMMAND")
    .option("--context <name>", "Name of the context to use (overrides SHOAL_CONTEXT and the current context)")
    .version("0.1.0", "-v, --version")
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // commander's own default: the terminal's width, else 80.
      getOutHelpWidth: () => (io.stdout.isTTY && io.stdout.columns) || 80,
      getErrHelpWidth: () => (io.stderr.isTTY && io.stderr.columns) || 80,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    })
    .configureHelp({
      showGlobalOptions: true,
      // "shoal node ls [options]", as docker prints it, without commander's "ls|list".
      commandUsage: (cmd) => {
        const names: string[] = [];
        for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
        return `${names.join(" ")} ${cmd.usage()}`;
      },
    });

  const cli = createCli(io, () => program.opts<{ context?: string }>().context);
  for (const register of commandGroups) register(program, cli);
  addHelpHints(program, "shoal");

  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return ["commander.helpDisplayed", "commander.version"].includes(err.code) ? 0 : 2;
    if (err instanceof ExitStatus) return err.code;
    io.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    // The detail names every field on one line; several read better one per line.
    if (err instanceof ApiCallError && err.errors.length > 1) io.stderr.write(err.errors.map((e) => `${e.path}: ${e.message}\n`).join(""));
    return 1;
  }
}

/** docker's hint after a usage error: "See 'docker service create --help'." */
function addHelpHints(command: Command, path: string) {
  command.showHelpAfterError(`See '${path} --help'.`);
  for (const sub of command.commands) addHelpHints(sub, `${path} ${sub.name()}`);
}
