import { existsSync } from "node:fs";
import type { Swarm } from "../api-types.js";
import { action, type CommandGroup } from "../cli.js";
import { ApiClient } from "../client.js";
import { readCliConfig, removeCliContext, saveCliContext, useCliContext } from "../config.js";
import { renderList, type Column } from "../format/output.js";
import { UsageError } from "../format/units.js";

/** `shoal login`, `shoal logout` and `shoal context …`: where the CLI talks to, kept in the CLI config (mode 0600). */

interface ContextRow {
  name: string;
  url: string;
  current: boolean;
}

const contextColumns: Column<ContextRow>[] = [
  { field: "Name", header: "NAME", value: (c) => `${c.name}${c.current ? " *" : ""}` },
  { field: "URL", header: "URL", value: (c) => c.url },
  { field: "Current", header: "CURRENT", value: (c) => String(c.current), hidden: true },
];

export const registerContextCommands: CommandGroup = (program, cli) => {
  program
    .command("login")
    .description("Log in to a shoal control plane: checks the token and stores URL and token as a context")
    .argument("<url>", "the control plane's URL, e.g. https://shoal.example.com")
    .option("--token-stdin", "Take the API token from stdin (else SHOAL_TOKEN)")
    .option("--ca-file <file>", "PEM file of the CA that signed the control plane's certificate")
    .option("--name <context>", "Context name", "default")
    .action(
      action(async (url: string, opts: { tokenStdin?: boolean; caFile?: string; name: string }) => {
        if (!/^https?:\/\/[^/]/.test(url)) throw new UsageError(`"${url}" is not an http(s) URL`);
        const token = opts.tokenStdin ? (await cli.readStdin()).trim() : cli.env.SHOAL_TOKEN;
        if (!token) throw new UsageError("give the API token on stdin with --token-stdin, or in SHOAL_TOKEN (never as an argument)");
        const caFile = opts.caFile ? cli.path(opts.caFile) : undefined;
        if (caFile && !existsSync(caFile)) throw new UsageError(`--ca-file ${opts.caFile}: no such file`);
        const target = { url: url.replace(/\/$/, ""), token, ...(caFile ? { caFile } : {}) };
        await new ApiClient(target).get<Swarm>("/v1/swarm");
        await saveCliContext(cli.configPath, opts.name, target);
        cli.out(`Login Succeeded (context ${opts.name}, ${cli.configPath})\n`);
      }),
    );

  program
    .command("logout")
    .description("Forget a context's URL and token")
    .argument("[context]", "the context (default: the current one)")
    .action(
      action(async (name: string | undefined) => {
        const config = await readCliConfig(cli.configPath);
        const which = name ?? config.currentContext;
        if (!which || !(await removeCliContext(cli.configPath, which))) throw new Error(`not logged in${which ? ` to context ${which}` : ""}`);
        cli.out(`Removing login credentials for ${which}\n`);
      }),
    );

  const context = program.command("context").description("Manage contexts");

  context
    .command("ls")
    .alias("list")
    .description("List contexts")
    .option("--format <format>", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
    .option("-q, --quiet", "Only show context names")
    .action(
      action(async (opts: { format?: string; quiet?: boolean }) => {
        const config = await readCliConfig(cli.configPath);
        const rows = Object.entries(config.contexts)
          .map(([name, c]) => ({ name, url: c.url, current: name === config.currentContext }))
          .sort((a, b) => a.name.localeCompare(b.name));
        const columns = opts.quiet ? [{ ...contextColumns[0]!, value: (c: ContextRow) => c.name }] : contextColumns;
        cli.out(renderList(rows, columns, { format: opts.format, quiet: opts.quiet }));
      }),
    );

  context
    .command("use")
    .description("Set the current context")
    .argument("<context>")
    .action(
      action(async (name: string) => {
        if (!(await useCliContext(cli.configPath, name))) throw new Error(`no context named ${name}; see shoal context ls`);
        cli.out(`${name}\nCurrent context is now "${name}"\n`);
      }),
    );

  context
    .command("rm")
    .alias("remove")
    .description("Remove one or more contexts")
    .argument("<context...>")
    .action(
      action(async (names: string[]) => {
        for (const name of names) {
          if (!(await removeCliContext(cli.configPath, name))) throw new Error(`no context named ${name}; see shoal context ls`);
          cli.out(`${name}\n`);
        }
      }),
    );

  context
    .command("show")
    .description("Print the name of the current context")
    .action(
      action(async () => {
        const config = await readCliConfig(cli.configPath);
        cli.out(`${cli.env.SHOAL_CONTEXT || config.currentContext}\n`);
      }),
    );
};
