import { Command, CommanderError } from "commander";
import { createCli } from "./cli.js";
import { ApiCallError } from "./client.js";
import { commandGroups } from "./commands/index.js";

/**
 * The shoal CLI: docker-style commands over the HTTPS API. Exit codes: 0 ok,
 * 1 the API or the connection failed (its message on stderr), 2 usage errors
 * (with the command's help hint).
 */

const program = new Command("shoal")
  .description("A docker-style CLI for the shoal control plane")
  .usage("[OPTIONS] COMMAND")
  .option("--context <name>", "Name of the context to use (overrides SHOAL_CONTEXT and the current context)")
  .version("0.1.0", "-v, --version")
  .enablePositionalOptions()
  .exitOverride()
  .configureHelp({
    showGlobalOptions: true,
    // "shoal node ls [options]", as docker prints it, without commander's "ls|list".
    commandUsage: (cmd) => {
      const names: string[] = [];
      for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
      return `${names.join(" ")} ${cmd.usage()}`;
    },
  });

// A reader that went away (`shoal events | head -1`) ends the command, as for any Unix tool.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") throw err;
  process.exit(0);
});

const cli = createCli(program, process.env);
for (const register of commandGroups) register(program, cli);

/** docker's hint after a usage error: "See 'docker service create --help'." */
function addHelpHints(command: Command, path: string) {
  command.showHelpAfterError(`See '${path} --help'.`);
  for (const sub of command.commands) addHelpHints(sub, `${path} ${sub.name()}`);
}
addHelpHints(program, "shoal");

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    const ok = ["commander.helpDisplayed", "commander.version"].includes(err.code);
    process.exitCode = ok ? 0 : 2;
  } else {
    process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    // The detail names every field on one line; several read better one per line.
    if (err instanceof ApiCallError && err.errors.length > 1) process.stderr.write(err.errors.map((e) => `${e.path}: ${e.message}\n`).join(""));
    process.exitCode = 1;
  }
}
