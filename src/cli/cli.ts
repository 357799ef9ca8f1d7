import type { Command } from "commander";
import { resolve } from "node:path";
import { ApiCallError } from "../protocol/http-client.js";
import { ApiClient } from "./client.js";
import { cliConfigPath, readCliConfig, resolveTarget } from "./config.js";
import { renderInspect } from "./format/output.js";
import { UsageError } from "./format/units.js";

/** Where output goes: process.stdout fits, as does a test's collector. */
export interface CliWriter {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Everything the CLI takes from its surroundings, so that it runs in a process
 * of its own (the bin passes the process's) or inside another (the tests).
 */
export interface CliIo {
  stdout: CliWriter;
  stderr: CliWriter;
  stdin: AsyncIterable<Buffer | string>;
  /** SHOAL_* settings, the config's location (SHOAL_CONFIG, XDG_CONFIG_HOME, HOME), a stack's variables. */
  env: NodeJS.ProcessEnv;
  /** Relative paths (compose files, env files, CA files) are read from here. */
  cwd: string;
  /** Calls `handler` on Ctrl-C or SIGTERM instead of ending the program, until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
}

/** What every command gets: output, the API client, the config path, the clock. */
export interface Cli {
  out(text: string): void;
  err(text: string): void;
  /** The API client for the resolved context; throws (exit 1) when not logged in. */
  client(): Promise<ApiClient>;
  configPath: string;
  env: NodeJS.ProcessEnv;
  /** An absolute path for a path given on the command line. */
  path(given: string): string;
  now(): number;
  stdoutIsTty: boolean;
  readStdin(): Promise<string>;
  /** Stdin as bytes (a secret file may not be text). */
  readStdinBytes(): Promise<Buffer>;
  onInterrupt: CliIo["onInterrupt"];
}

/** A command group (`shoal service …`): one file under commands/, listed in commands/index.ts. */
export type CommandGroup = (program: Command, cli: Cli) => void;

/** `contextFlag` reads the global --context once the arguments are parsed. */
export function createCli(io: CliIo, contextFlag: () => string | undefined): Cli {
  const configPath = resolve(io.cwd, cliConfigPath(io.env));
  let client: ApiClient | undefined;
  const readStdinBytes = async () => {
    const chunks: Buffer[] = [];
    for await (const c of io.stdin) chunks.push(typeof c === "string" ? Buffer.from(c) : c);
    return Buffer.concat(chunks);
  };
  return {
    out: (text) => void io.stdout.write(text),
    err: (text) => void io.stderr.write(text),
    configPath,
    env: io.env,
    path: (given) => resolve(io.cwd, given),
    now: () => Date.now(),
    stdoutIsTty: Boolean(io.stdout.isTTY),
    onInterrupt: io.onInterrupt,
    async client() {
      if (client) return client;
      const target = resolveTarget(await readCliConfig(configPath), io.env, contextFlag());
      if (typeof target === "string") throw new Error(target);
      client = new ApiClient(target.caFile ? { ...target, caFile: resolve(io.cwd, target.caFile) } : target);
      return client;
    },
    readStdinBytes,
    readStdin: async () => (await readStdinBytes()).toString("utf8"),
  };
}

/**
 * Wraps an action: a UsageError from flag parsing becomes commander's usage
 * error (message, the command's help hint, exit 2).
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>) {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      const command = args.at(-1) as Command;
      command.error(`error: ${err.message}`, { exitCode: 2, code: "shoal.usage" });
    }
  };
}

/** Ends the command with this exit code, printing nothing more (what it had to say is out already). */
export class ExitStatus extends Error {
  override name = "ExitStatus";
  constructor(readonly code: number) {
    super(`exit status ${code}`);
  }
}

/** Collects a repeatable option's values. */
export const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/**
 * `rm A B C`: removes each, prints the ones removed (unless `echo` is false: `remove` prints),
 * and fails (exit 1) at the end with the API's messages for the others.
 */
export async function removeEach(cli: Cli, refs: string[], remove: (ref: string) => Promise<unknown>, echo = true): Promise<void> {
  const errors: string[] = [];
  for (const ref of refs) {
    try {
      await remove(ref);
      if (echo) cli.out(`${ref}\n`);
    } catch (err) {
      if (!(err instanceof ApiCallError)) throw err;
      errors.push(err.message);
    }
  }
  if (errors.length) throw new Error(errors.join("\n"));
}

/**
 * `X inspect [--pretty] [-f FORMAT] REF...`: fetches each object at `pathOf(ref)`
 * and prints docker inspect's JSON array, the template, or the pretty form.
 * `dockerPathOf`: where the Docker Engine API shows the same object; a template then
 * reads the fields shoal's object does not have from Docker's (`{{.Spec.TaskTemplate.ContainerSpec.Image}}`,
 * `{{.Version.Index}}`, `{{json .Endpoint.VirtualIPs}}`), so scripts written for docker work unchanged.
 */
export function addInspectCommand<T>(
  parent: Command,
  cli: Cli,
  noun: string,
  pathOf: (ref: string) => string,
  pretty: (o: T, now: number) => string,
  dockerPathOf?: (o: T) => string,
) {
  parent
    .command("inspect")
    .description(`Display detailed information on one or more ${noun}s`)
    .argument(`<${noun}...>`)
    .option("-f, --format <format>", "Format output using a custom template ('json' or TEMPLATE)")
    .option("--pretty", "Print the information in a human friendly format")
    .action(
      action(async (refs: string[], opts: { format?: string; pretty?: boolean }) => {
        const client = await cli.client();
        const asPretty = opts.pretty || opts.format === "pretty";
        const objects = await Promise.all(refs.map((r) => client.get<T>(pathOf(r))));
        const template = opts.format !== undefined && !asPretty && opts.format !== "json";
        const fallbacks = template && dockerPathOf ? await Promise.all(objects.map((o) => client.get(dockerPathOf(o)))) : undefined;
        cli.out(renderInspect(objects, { format: opts.format, fallbacks, ...(asPretty ? { pretty: (o: T) => pretty(o, cli.now()) } : {}) }));
      }),
    );
}
