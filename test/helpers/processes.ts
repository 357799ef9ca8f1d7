import { build, transform, type Plugin } from "esbuild";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export const repoRoot = new URL("../..", import.meta.url).pathname;
const bin = (name: string) => join(repoRoot, "node_modules", ".bin", name);

/** Keeps wrangler from phoning home or prompting; the tests run offline. */
const wranglerEnv = {
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_HIDE_BANNER: "true",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  CI: "true",
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

export interface Started {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** SIGTERM to the process group, then wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL to the process group, no chance to clean up. */
  kill(): Promise<void>;
}

/** Process groups started here that have not exited. */
const running = new Set<number>();

/**
 * For scripts (benchmarks, chaos runs): this process ending, by a signal (a `timeout`, a
 * Ctrl-C) or otherwise, takes the detached processes it started with it rather than leave
 * them running and loading the machine.
 */
export function endChildrenWithThisProcess(): void {
  const end = () => {
    for (const pid of running) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  };
  process.once("exit", end);
  for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const)
    process.once(sig, () => {
      end();
      process.exit(code);
    });
}

function track(child: ChildProcess): Pick<Started, "child" | "output" | "stop" | "kill"> & { waitFor(re: RegExp, ms: number): Promise<string> } {
  const pid = child.pid!;
  running.add(pid);
  child.once("exit", () => running.delete(pid));
  let out = "";
  child.stdout?.on("data", (d) => (out += d));
  child.stderr?.on("data", (d) => (out += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const signal = async (sig: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // already gone
    }
    await exited;
  };
  return {
    child,
    output: () => out,
    stop: () => signal("SIGTERM"),
    kill: () => signal("SIGKILL"),
    waitFor: (re, ms) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; output:\n${out}`)), ms);
        const check = () => {
          const m = re.exec(out);
          if (m) {
            clearTimeout(timer);
            child.stdout?.off("data", check);
            child.stderr?.off("data", check);
            resolve(m[0]);
          }
        };
        child.stdout?.on("data", check);
        child.stderr?.on("data", check);
        child.once("exit", () => reject(new Error(`exited before ${re}; output:\n${out}`)));
        check();
      }),
  };
}

const nodeEntrySource = join(repoRoot, "src/runtime/nodejs.ts");
let nodeEntryBuilt: Promise<string> | undefined;

/** Each module's import.meta.url stays its source file's: modules find migrations/ and agent/ from there. */
const sourceUrls: Plugin = {
  name: "source-import-meta-url",
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async ({ path }) => {
      const source = await readFile(path, "utf8");
      if (!source.includes("import.meta.url")) return undefined;
      const { code } = await transform(source, { loader: "ts", sourcefile: path, define: { "import.meta.url": JSON.stringify(pathToFileURL(path).href) } });
      return { contents: code, loader: "js" };
    });
  },
};

/**
 * The Node entry's sources bundled into one file for `node` (what `npm start` runs through tsx):
 * a server starts in a third of the time tsx takes to compile it again for each one. Built once per
 * test process; packages stay external and resolve from the repo's node_modules.
 */
function nodeEntry(): Promise<string> {
  nodeEntryBuilt ??= (async () => {
    const dir = join(repoRoot, "node_modules", ".cache", "shoal-test");
    mkdirSync(dir, { recursive: true });
    const outfile = join(mkdtempSync(join(dir, "nodejs-")), "nodejs.mjs");
    await build({
      entryPoints: [nodeEntrySource],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      plugins: [sourceUrls],
      logLevel: "warning",
    });
    return outfile;
  })();
  return nodeEntryBuilt;
}

/** The Node entry, as `npm start` runs it, on a state dir of the caller's. */
export async function startNodeServer(opts: {
  stateDir: string;
  jwtKey?: string;
  port?: number;
  /** Listen address; default loopback. */
  host?: string;
  env?: Record<string, string>;
  /** Write the CLI config (SHOAL_CONFIG in `env`) on first start, as `npm start` does. */
  login?: boolean;
}): Promise<Started> {
  const port = opts.port ?? (await freePort());
  const args = [await nodeEntry(), "--port", String(port), "--state-dir", opts.stateDir, "--no-agent"];
  if (!opts.login) args.push("--no-login");
  if (opts.host) args.push("--host", opts.host);
  const child = spawn(process.execPath, [...(process.env.CP_NODE_ARGS?.split(" ") ?? []), ...args], {
    cwd: repoRoot,
    detached: true,
    env: { ...process.env, ...(opts.jwtKey ? { SHOAL_JWT_KEY: opts.jwtKey } : {}), ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const t = track(child);
  await t.waitFor(/join --url/, 30_000);
  return { url: `http://${opts.host ?? "127.0.0.1"}:${port}`, ...t };
}

/** The Worker entry in workerd via `wrangler dev`, with local D1 migrated first. */
export async function startWorker(opts: { jwtKey: string }): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), "shoal-worker-"));
  const env = { ...process.env, ...wranglerEnv };
  const migrate = track(
    spawn(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", dir], {
      cwd: repoRoot,
      detached: true,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  await new Promise<void>((resolve, reject) =>
    migrate.child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`migrations failed:\n${migrate.output()}`)))),
  );
  const envFile = join(dir, "worker.env");
  writeFileSync(envFile, `SHOAL_JWT_KEY=${opts.jwtKey}\n`, { mode: 0o600 });
  const port = await freePort();
  const child = spawn(
    bin("wrangler"),
    ["dev", "--local", "--persist-to", dir, "--port", String(port), "--ip", "127.0.0.1", "--env-file", envFile, "--inspector-port", String(await freePort())],
    { cwd: repoRoot, detached: true, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  const t = track(child);
  await t.waitFor(/Ready on http:\/\/127\.0\.0\.1:\d+/, 60_000);
  return { url: `http://127.0.0.1:${port}`, ...t };
}

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));
