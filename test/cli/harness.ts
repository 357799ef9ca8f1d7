import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { expect } from "vitest";
import { run } from "../../src/cli/run.js";
import { startTestAgent, type TestAgent } from "../helpers/test-agent.js";
import { repoRoot, startNodeServer, type Started } from "../helpers/processes.js";
import { memoryDir } from "../helpers/temp.js";

/** The real `shoal` bin (what `npx shoal` runs), for the tests of the program itself. */
const shoalBin = join(repoRoot, "src/cli/bin.mjs");

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** This run's environment without SHOAL_* (the CLI's own settings are each test's). */
const baseEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SHOAL_")));

/** Runs the CLI in this process, from the repo, with only the given SHOAL_* environment. */
export async function runShoal(args: string[], env: Record<string, string>, input?: string): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await run(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from(input === undefined ? [] : [input]),
    env: { ...baseEnv(), ...env },
    cwd: repoRoot,
    onInterrupt: () => () => {},
  });
  return { code, stdout, stderr };
}

/** Runs the real bin as runShoal runs the CLI in-process. */
export function runBin(args: string[], env: Record<string, string>, input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [shoalBin, ...args], { cwd: repoRoot, env: { ...baseEnv(), ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

/** The real bin as a process to signal or hang up on. */
export const spawnBin = (args: string[], env: Record<string, string>) =>
  spawn(process.execPath, [shoalBin, ...args], { cwd: repoRoot, env: { ...baseEnv(), ...env }, stdio: ["ignore", "pipe", "pipe"] });

export interface CliCluster {
  server: Started;
  configPath: string;
  agents: TestAgent[];
  shoal(...args: string[]): Promise<Run>;
  /** Like shoal(), and expects exit 0 with nothing on stderr. */
  ok(...args: string[]): Promise<string>;
  adminToken(): string;
  joinToken(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A real control plane that logged the CLI in (its own SHOAL_CONFIG), with a real agent on an
 * in-memory engine for each of `hosts`. Containers of images named `broken…` exit 1 at once.
 */
export async function startCliCluster(hosts: string[]): Promise<CliCluster> {
  const dir = memoryDir("shoal-cli-");
  const configPath = join(dir, "config.json");
  const server = await startNodeServer({ stateDir: join(dir, "state"), login: true, env: { SHOAL_CONFIG: configPath } });
  const shoal = (...args: string[]) => runShoal(args, { SHOAL_CONFIG: configPath });
  const ok = async (...args: string[]) => {
    const r = await shoal(...args);
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
    return r.stdout;
  };
  const joinToken = async () => (await ok("swarm", "join-token", "-q", "worker")).trim();
  const token = await joinToken();
  const agents = await Promise.all(hosts.map((h) => startTestAgent(server.url, h, token, { onStart: (image) => (image.startsWith("broken") ? { exitCode: 1 } : undefined) })));
  return {
    server,
    configPath,
    agents,
    shoal,
    ok,
    joinToken,
    adminToken: () => (JSON.parse(readFileSync(configPath, "utf8")) as { contexts: Record<string, { token: string }> }).contexts.default!.token,
    async stop() {
      await Promise.all(agents.map((a) => a.stop()));
      await server.stop();
    },
  };
}

/** Where each header of a table line starts. */
export function headerStarts(header: string, names: string[]): number[] {
  let from = 0;
  return names.map((name) => {
    const at = header.indexOf(name, from);
    expect(at, `header ${name} in ${JSON.stringify(header)}`).toBeGreaterThanOrEqual(0);
    from = at + name.length;
    return at;
  });
}

/**
 * Checks docker's table layout: the header line is exactly `header` (when given), and in
 * every row each column starts where its header does, after at least 3 spaces
 * of padding (Go's tabwriter with docker's settings).
 */
export function expectTable(output: string, header: string | undefined, names: string[]): string[][] {
  expect(output.endsWith("\n")).toBe(true);
  const [first, ...rows] = output.slice(0, -1).split("\n");
  // Widths follow the cells; where they vary with time (CURRENT STATE), only the alignment is checked.
  if (header !== undefined) expect(first!.trimEnd()).toBe(header);
  const starts = headerStarts(first!, names);
  return rows.map((row) => {
    const cells = starts.map((s, i) => row.slice(s, starts[i + 1] ?? row.length).trimEnd());
    for (const s of starts.slice(1)) expect(row.slice(s - 3, s), `padding before column at ${s} in ${JSON.stringify(row)}`).toBe("   ");
    return cells;
  });
}
