import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { createServer as createHttpServer, request, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceSpecSchema } from "../../src/protocol/service-spec-schema.js";
import { memoryDir } from "../helpers/temp.js";
import { runShoal, startCliCluster, type CliCluster } from "./harness.js";

let c: CliCluster;
let dir: string;
const servers: Server[] = [];
beforeAll(async () => {
  c = await startCliCluster([]);
  dir = memoryDir("shoal-cli-ctx-");
});
afterAll(async () => {
  for (const s of servers) s.close();
  await c?.stop();
});

const listen = (server: Server) =>
  new Promise<string>((resolve) => {
    servers.push(server);
    server.listen(0, "127.0.0.1", () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`));
  });

describe("where the CLI talks to", () => {
  it("with no config and no environment it says how to log in (exit 1)", async () => {
    const r = await runShoal(["node", "ls"], { SHOAL_CONFIG: join(dir, "none.json") });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: not logged in: run shoal login URL/);
  });

  it("SHOAL_URL and SHOAL_TOKEN work without a config file", async () => {
    const r = await runShoal(["swarm", "info", "-f", "{{.Status.NodeCount}}"], {
      SHOAL_CONFIG: join(dir, "none.json"),
      SHOAL_URL: c.server.url,
      SHOAL_TOKEN: c.adminToken(),
    });
    expect(r).toEqual({ code: 0, stdout: "0\n", stderr: "" });
  });

  it("login checks the token and stores a context (0600); logout, context ls/use/rm/show", async () => {
    const config = join(dir, "login.json");
    const env = { SHOAL_CONFIG: config };
    const refused = await runShoal(["login", c.server.url, "--token-stdin"], env, "not-a-token\n");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe("Error: invalid or expired credential\n");
    expect(() => statSync(config)).toThrow();
    const noToken = await runShoal(["login", c.server.url], env);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain("--token-stdin");

    const login = await runShoal(["login", c.server.url, "--token-stdin", "--name", "prod"], env, `${c.adminToken()}\n`);
    expect(login).toEqual({ code: 0, stdout: `Login Succeeded (context prod, ${config})\n`, stderr: "" });
    expect(statSync(config).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(config, "utf8"))).toEqual({ currentContext: "prod", contexts: { prod: { url: c.server.url, token: c.adminToken() } } });
    const second = await runShoal(["login", c.server.url], { ...env, SHOAL_TOKEN: c.adminToken() });
    expect(second.code).toBe(0);

    expect((await runShoal(["context", "ls"], env)).stdout).toBe(`NAME        URL\ndefault *   ${c.server.url}\nprod        ${c.server.url}\n`);
    expect((await runShoal(["context", "ls", "-q"], env)).stdout).toBe("default\nprod\n");
    expect((await runShoal(["context", "use", "prod"], env)).stdout).toBe('prod\nCurrent context is now "prod"\n');
    expect((await runShoal(["context", "show"], env)).stdout).toBe("prod\n");
    expect((await runShoal(["context", "ls", "--format", "{{.Name}} {{.Current}}"], env)).stdout).toBe("default false\nprod * true\n");
    expect((await runShoal(["--context", "default", "node", "ls", "-q"], env)).code).toBe(0);
    const unknown = await runShoal(["--context", "staging", "node", "ls"], env);
    expect(unknown).toMatchObject({ code: 1, stderr: "Error: no context named staging; see shoal context ls\n" });
    expect((await runShoal(["context", "use", "staging"], env)).code).toBe(1);
    expect((await runShoal(["logout"], env)).stdout).toBe("Removing login credentials for prod\n");
    expect((await runShoal(["context", "rm", "default"], env)).stdout).toBe("default\n");
    expect(JSON.parse(readFileSync(config, "utf8"))).toEqual({ currentContext: "", contexts: {} });
    expect((await runShoal(["logout"], env)).code).toBe(1);
  });

  it("HTTPS with a custom CA: --ca-file trusts it; without it the certificate is refused (exit 1)", async () => {
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
    // A TLS front for the control plane, as a user would put one before it.
    const upstream = new URL(c.server.url);
    const proxy = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      const forward = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      req.pipe(forward);
    });
    const url = `https://${await listen(proxy)}`;
    const env = { SHOAL_CONFIG: join(dir, "tls.json"), SHOAL_TOKEN: c.adminToken() };
    const untrusted = await runShoal(["login", url], env);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/^Error: cannot reach the shoal API at https:.*(self[- ]signed|certificate)/i);
    expect((await runShoal(["login", url, "--ca-file", cert], env)).code).toBe(0);
    expect(JSON.parse(readFileSync(env.SHOAL_CONFIG, "utf8")).contexts.default).toEqual({ url, token: c.adminToken(), caFile: cert });
    expect(await runShoal(["swarm", "info", "-f", "{{.Spec.TaskHistoryLimit}}"], { SHOAL_CONFIG: env.SHOAL_CONFIG })).toEqual({ code: 0, stdout: "5\n", stderr: "" });
  });
});

/**
 * The rollback route and update status land with the lead's API change; this
 * stub answers that contract (POST /v1/services/{id}/rollback, updateStatus on
 * the service) so the CLI's side of it runs for real.
 */
describe("rollback and update status (stub of the API contract)", () => {
  const spec = ServiceSpecSchema.parse({ name: "web", replicas: 0, task: { container: { image: "busybox:1" } } });
  const t0 = "2026-01-01T00:00:00.000Z";

  async function stub(statuses: { state: string; message: string }[], calls: string[]) {
    let polls = 0;
    const service = () => ({
      id: "svc_stub0000000000000000",
      version: 3,
      createdAt: t0,
      updatedAt: t0,
      spec,
      serviceStatus: { runningTasks: 0, desiredTasks: 0, completedTasks: 0 },
      updateStatus: { ...statuses[Math.min(polls++, statuses.length - 1)], startedAt: t0 },
    });
    const server = createHttpServer((req, res) => {
      calls.push(`${req.method} ${req.url}`);
      res.setHeader("content-type", "application/json");
      if (req.url?.startsWith("/v1/services/web") || req.url?.startsWith("/v1/services/svc_stub")) {
        if (req.method === "PUT") req.resume();
        return res.end(JSON.stringify(service()));
      }
      return res.end("[]");
    });
    return `http://${await listen(server)}`;
  }

  it("service rollback posts to the rollback route, shows the rollback and ends when it completed", async () => {
    const calls: string[] = [];
    const url = await stub([{ state: "rollback_started", message: "manually requested rollback" }, { state: "rollback_completed", message: "rollback completed" }], calls);
    const r = await runShoal(["service", "rollback", "web"], { SHOAL_URL: url, SHOAL_TOKEN: "t" });
    expect(calls[0]).toBe("POST /v1/services/web/rollback");
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe("web");
    expect(r.stdout).toContain("overall progress: rolling back update: 0 out of 0 tasks");
  });

  it("an update that pauses or rolls back exits 1 with the status message", async () => {
    // Each request takes the next status: the GET and the PUT of the update, then the CLI's polls.
    const paused = await stub([{ state: "updating", message: "" }, { state: "updating", message: "" }, { state: "paused", message: "update paused due to failure or early termination of task x" }], []);
    const r = await runShoal(["service", "update", "--image", "busybox:2", "web"], { SHOAL_URL: paused, SHOAL_TOKEN: "t" });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("Error: service update paused: update paused due to failure or early termination of task x\n");
    const rolled = await stub(
      [
        { state: "updating", message: "" },
        { state: "updating", message: "" },
        { state: "rollback_started", message: "update rolled back due to failure" },
        { state: "rollback_completed", message: "rollback completed" },
      ],
      [],
    );
    const back = await runShoal(["service", "update", "--image", "busybox:2", "web"], { SHOAL_URL: rolled, SHOAL_TOKEN: "t" });
    expect(back.code).toBe(1);
    expect(back.stdout).toContain("rollback: update rolled back due to failure \n");
    expect(back.stderr).toBe("Error: service rolled back: rollback completed\n");
  });
});
