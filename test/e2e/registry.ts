import { execFileSync, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { request } from "node:http";
import { tempDir } from "../helpers/processes.js";

/**
 * A real image registry (Debian's docker-registry, distribution 2.x) with
 * basic auth, in the root namespace on the cluster bridge's address, where
 * every host's engine reaches it (over plain HTTP: the hosts' daemon.json
 * lists the bridge subnet as insecure-registries). hosts.ts installs it.
 */
export interface TestRegistry {
  /** host:port, as image references name it. */
  readonly address: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

/** A free TCP port on `ip` (Debian's registry service, when running, holds 5000 on every address). */
function freePort(ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, ip, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The status of GET /v2/: 401 once the registry serves and asks for credentials. */
function v2Status(address: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`http://${address}/v2/`, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
    req.end();
  });
}

export async function startRegistry(ip: string, user: string, password: string): Promise<TestRegistry> {
  const dir = tempDir("shoal-e2e-registry-");
  const address = `${ip}:${await freePort(ip)}`;
  // distribution's htpasswd takes bcrypt entries only.
  writeFileSync(join(dir, "htpasswd"), execFileSync("htpasswd", ["-Bbn", user, password]));
  writeFileSync(
    join(dir, "config.yml"),
    [
      "version: 0.1",
      "log: { level: info }",
      `storage: { filesystem: { rootdirectory: ${join(dir, "data")} } }`,
      `http: { addr: "${address}" }`,
      `auth: { htpasswd: { realm: shoal-e2e, path: ${join(dir, "htpasswd")} } }`,
      "",
    ].join("\n"),
  );
  const logFile = join(dir, "registry.log");
  const log = openSync(logFile, "a");
  const child = spawn("docker-registry", ["serve", join(dir, "config.yml")], { stdio: ["ignore", log, log] });
  closeSync(log);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  };
  const deadline = Date.now() + 30_000;
  while ((await v2Status(address)) !== 401) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the registry did not come up on ${address}:\n${readFileSync(logFile, "utf8").slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { address, logFile, stop };
}
