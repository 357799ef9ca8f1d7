import { serve } from "@hono/node-server";
import fc from "fast-check";
import type { AddressInfo } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { errorStatus } from "../../src/http/errors.js";
import { run } from "../../src/cli/run.js";
import { taskStates } from "../../src/domain/task-states.js";
import { createShoalServer } from "../../src/runtime/node-http.js";
import { createTestApp, joinNode, type TestApp } from "../helpers/app.js";

/**
 * Grammar-aware generators of hostile input (issue 19), shared by the property tests in
 * `npm test` (test/fuzz/grammar.test.ts, 1,000 seeded cases each) and the stress run
 * `npm run fuzz` (test/fuzz/run.ts). Each case goes to one in-process app; every check
 * throws when the answer is a 5xx, a refusal is not in the one error shape, or a refusal
 * wrote something.
 */

export interface Target {
  t: TestApp;
  node: { id: string; credential: string };
  taskIds: string[];
  /** The app served over HTTP in this process, for the CLI; every status it answered 5xx. */
  url: string;
  serverErrors: string[];
  close(): Promise<void>;
}

export async function setUpTarget(): Promise<Target> {
  const t = await createTestApp();
  const node = await joinNode(t);
  await t.call("POST", "/v1/services", { token: t.tokens.admin, body: { name: "existing", replicas: 3, task: { container: { image: "busybox:1" } } } });
  const tasks = await t.call("GET", "/v1/tasks?service=existing", { token: t.tokens.admin });
  const taskIds = (tasks.body as { id: string }[]).map((x) => x.id);
  const serverErrors: string[] = [];
  const server = serve({
    fetch: async (request: Request) => {
      const res = await t.app.fetch(request);
      if (res.status >= 500) serverErrors.push(`${request.method} ${request.url} → ${res.status} ${await res.clone().text()}`);
      return res;
    },
    port: 0,
    hostname: "127.0.0.1",
    createServer: createShoalServer,
  });
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once("listening", () => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    t,
    node,
    taskIds,
    url,
    serverErrors,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      t.close();
    },
  };
}

/** What any write leaves behind (every change records an event in the same write), cheap enough to read per case. */
async function fingerprint(t: TestApp): Promise<string> {
  const r = await t.client.execute(
    "SELECT (SELECT coalesce(max(id), 0) FROM events), (SELECT count(*) FROM services), (SELECT total(version) FROM services), (SELECT count(*) FROM tasks), (SELECT total(version) FROM nodes), (SELECT count(*) FROM stack_resources), (SELECT count(*) FROM networks)",
  );
  return JSON.stringify(r.rows[0]);
}

type Answer = Awaited<ReturnType<TestApp["call"]>>;

/** A 2xx, or a 4xx in the one problem shape that wrote nothing; never a 5xx. */
async function expectAnswer(target: Target, before: string, res: Answer, what: string): Promise<void> {
  const fail = (why: string) => {
    throw new Error(`${why}: ${what.slice(0, 2000)} → ${res.status} ${res.text.slice(0, 1000)}`);
  };
  if (res.status >= 500) fail("a 5xx");
  if (res.status < 400) return;
  if (res.headers.get("content-type") !== "application/problem+json") fail("not problem+json");
  const p = res.body;
  if (!p || !(p.code in errorStatus) || p.status !== res.status || typeof p.detail !== "string" || !p.detail) fail("not the one error shape");
  if (p.code === "validation_failed" && !(Array.isArray(p.errors) && p.errors.length > 0 && p.errors.every((e: { path?: unknown }) => typeof e.path === "string")))
    fail("a validation failure without field paths");
  if ((await fingerprint(target.t)) !== before) fail("a refusal wrote something");
}

export interface Generator<T> {
  name: string;
  arbitrary: fc.Arbitrary<T>;
  check(target: Target, value: T): Promise<void>;
}

// ---------- compose files ----------

const deep = (n: number, objects: boolean) => (objects ? `${"{a: ".repeat(n)}1${"}".repeat(n)}` : `${"[".repeat(n)}${"]".repeat(n)}`);
const depth = fc.oneof(fc.integer({ min: 1, max: 70 }), fc.constantFrom(200, 5000));
const interpolationPiece = fc.constantFrom("${", "}", "$$", "$", ":-", ":?", "-", "?", "A", "TAG", "{", "x", "${A:-", "${TAG}", "$TAG", "${A:?missing}", "${!", "${A[0]}", "\\", "'", '"');
const interpolated = fc.oneof(
  fc.array(interpolationPiece, { maxLength: 12 }).map((p) => p.join("")),
  fc.integer({ min: 1, max: 6000 }).map((n) => `${"${A:-".repeat(n)}x${"}".repeat(n)}`),
);
/** A YAML scalar as text: quoted strings, numbers, odd tags. */
const scalar = fc.oneof(
  fc.string({ maxLength: 20 }).map((s) => JSON.stringify(s)),
  fc.integer().map(String),
  fc.constantFrom("null", "~", "true", "no", "0x1F", "1e400", "-.inf", ".nan", "2001-12-14t21:59:43.10-05:00", "!!binary aGVsbG8=", "!!set {a, b}", "!!python/object:os.system x", "!!js/function 'f'", "!custom x", "''", "|\n      block", ">-\n      folded"),
  interpolated.map((s) => JSON.stringify(s)),
);
const huge = fc.constantFrom(1_000, 100_000, 600_000).map((n) => JSON.stringify("a".repeat(n)));
const composeKey = fc.oneof(
  fc.constantFrom("image", "replicas", "environment", "labels", "ports", "deploy", "command", "healthcheck", "volumes", "networks", "depends_on", "x-ext", "<<", "build", "mem_limit", "extends", ""),
  fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
);
/** Lines added to the service's mapping (indented under it). */
const serviceExtra = fc.oneof(
  fc.tuple(composeKey, scalar).map(([k, v]) => `${k}: ${v}`),
  fc.tuple(composeKey, depth, fc.boolean()).map(([k, n, o]) => `${k}: ${deep(n, o)}`),
  huge.map((v) => `image: ${v}`),
  interpolated.map((v) => `environment:\n      X: ${JSON.stringify(v)}`),
  fc.constantFrom(
    "<<: *base",
    "<<: [*base, *other]",
    "<<: 3",
    "<<: *nowhere",
    "labels: &l {x: *l}",
    "environment: &e [*e]",
    "deploy:\n      replicas: -1",
    "deploy:\n      replicas: 1e12",
    "deploy:\n      resources: {limits: {memory: 9999999999999T, cpus: '-1'}}",
    "ports: ['99999:80', '80-70:1', 'x:y']",
    "ports: [{target: 80, published: 80, protocol: sctp}]",
    "healthcheck: {test: [CMD], interval: 1y}",
    "volumes: ['/a:/b:zz', {type: bind}]",
    "environment: {A: {B: C}}",
    "command: {a: b}",
    "depends_on: {db: {condition: nope}}",
    "networks: {ghost: {aliases: [1, 2]}}",
  ),
);
/** Top-level lines after `services:`. */
const topExtra = fc.oneof(
  fc.constant(""),
  fc.tuple(depth, fc.boolean()).map(([n, o]) => `x-deep: ${deep(n, o)}`),
  fc.constantFrom(
    "x-a: &a\n  b: *a",
    "x-a: &a [*a]",
    "x-base: &base {image: busybox:2, deploy: {replicas: 2}}\nx-other: &other {labels: {a: b}}",
    "x-bomb: &b0 [1, 1]\nx-b1: &b1 [*b0, *b0, *b0, *b0, *b0, *b0, *b0, *b0]\nx-b2: &b2 [*b1, *b1, *b1, *b1, *b1, *b1, *b1, *b1]\nx-b3: [*b2, *b2, *b2, *b2, *b2, *b2, *b2, *b2]",
    "version: '2'",
    "version: 3.9",
    "networks: {n: {driver: bridge, ipam: {config: [{subnet: 999.0.0.0/8}]}}}",
    "volumes: {v: {external: {name: 3}}}",
    "secrets: {s: {file: ../../etc/passwd}}",
    "services: {again: {image: x}}",
    "---\nservices: {second: {image: y}}",
    "? [complex, key]\n: value",
    "%TAG ! tag:example.com,2000:",
  ),
  fc.tuple(composeKey, scalar).map(([k, v]) => `${k}: ${v}`),
);

export interface ComposeCase {
  stack: string;
  file: string;
  env: Record<string, string>;
}
const composeCase: fc.Arbitrary<ComposeCase> = fc
  .record({
    stack: fc.constantFrom("fz0", "fz1", "fz2"),
    service: fc.constantFrom("web", "api", "db", "a-b_c.1"),
    image: fc.constantFrom("busybox:1", "busybox:${TAG}", "busybox:${TAG:-1}", "nginx@sha256:" + "a".repeat(64)),
    anchors: fc.boolean(),
    extras: fc.array(serviceExtra, { maxLength: 3 }),
    top: fc.array(topExtra, { maxLength: 2 }),
    env: fc.dictionary(fc.constantFrom("TAG", "A", "B", ""), fc.oneof(fc.string({ maxLength: 10 }), interpolated), { maxKeys: 3 }),
  })
  .map(({ stack, service, image, anchors, extras, top, env }) => {
    const head = anchors ? "x-base: &base {image: busybox:2, deploy: {replicas: 2}}\nx-other: &other {labels: {a: b}}\n" : "";
    const lines = extras.map((e) => `    ${e}`).join("\n");
    return { stack, env, file: `${head}services:\n  ${service}:\n    image: ${JSON.stringify(image)}\n${lines}\n${top.join("\n")}\n` };
  });

export const composeGenerator: Generator<ComposeCase> = {
  name: "compose files → PUT /v1/stacks",
  arbitrary: composeCase,
  async check(target, c) {
    const before = await fingerprint(target.t);
    const res = await target.t.call("PUT", `/v1/stacks/${c.stack}`, { token: target.t.tokens.admin, body: { files: [c.file], env: c.env } });
    await expectAnswer(target, before, res, `PUT /v1/stacks/${c.stack} ${JSON.stringify(c)}`);
  },
};

// ---------- service specs ----------

const oddValue = fc.oneof(
  fc.constantFrom(null, true, -1, 0, 1e308, -1e308, 2 ** 53 + 2, 1.5, "", "x".repeat(100_000), "\u0000", "💥", "../../etc", "node.labels.a==b", [], {}, [null], { "": "" }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.tuple(depth, fc.boolean()).map(([n, o]) => JSON.parse(deep(Math.min(n, 60), o).replaceAll("a:", '"a":'))),
);
const constraint = fc
  .tuple(
    fc.constantFrom("node.role", "node.id", "node.hostname", "node.labels.zone", "engine.labels.ssd", "node.platform.os", "node.labels.", "x", ""),
    fc.constantFrom("==", "!=", "=", "<", "~", ""),
    fc.constantFrom("manager", "worker", "a", "", "*", "a==b", "x".repeat(300)),
  )
  .map(([a, op, b]) => `${a}${op}${b}`);
/** Mostly a valid value, sometimes an odd one: a spec must get far enough to reach the deeper checks. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, odd: fc.Arbitrary<U>) => fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: odd, weight: 1 });
const specBase = fc.record({
  name: mostly(fc.constantFrom("fz-a", "fz-b", "fz_c"), fc.constantFrom("existing", "", "UPPER", "a".repeat(70), "bad name")),
  replicas: mostly(fc.integer({ min: 0, max: 5 }), fc.constantFrom(-1, 1e9, 2 ** 31, 1.5)),
  image: mostly(fc.constantFrom("busybox:1", "busybox", "localhost:5000/x:2", "a/b/c:tag@sha256:" + "0".repeat(64)), fc.constantFrom("", "UPPER:1", "x:".repeat(100))),
  env: fc.array(mostly(fc.constantFrom("A=1", "B=", "C=x=y"), fc.constantFrom("A", "=1", "", "x".repeat(5000))), { maxLength: 3 }),
  constraints: fc.array(mostly(fc.constantFrom("node.role==worker", "node.labels.zone!=b", "engine.labels.ssd==true", "node.platform.os==linux"), constraint), { maxLength: 3 }),
  ports: fc.array(
    fc.record({
      targetPort: mostly(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: -1, max: 70_000 })),
      publishedPort: mostly(fc.integer({ min: 30000, max: 30100 }), fc.integer({ min: -1, max: 70_000 })),
      protocol: mostly(fc.constantFrom("tcp", "udp"), fc.constantFrom("sctp", "icmp")),
    }),
    { maxLength: 2 },
  ),
  nanoCpus: mostly(fc.integer({ min: 0, max: 4e9 }), fc.constant(-1)),
  memory: mostly(fc.integer({ min: 4 * 1024 * 1024, max: 2 ** 33 }), fc.constantFrom(-1, 2 ** 60)),
  order: mostly(fc.constantFrom("start-first", "stop-first"), fc.constant("sideways")),
  mode: mostly(fc.constantFrom(undefined, "replicated", "global", "replicated-job", "global-job"), fc.constant("nope")),
});
export interface SpecCase {
  spec: Record<string, unknown>;
  mutation?: { path: readonly string[]; value: unknown };
}
const specCase: fc.Arbitrary<SpecCase> = fc
  .tuple(
    specBase,
    fc.option(
      fc.tuple(
        fc.constantFrom(["name"], ["replicas"], ["task"], ["task", "container"], ["task", "container", "image"], ["task", "container", "env"], ["task", "placement", "constraints"], ["task", "resources", "limits"], ["endpoint", "ports"], ["update"], ["update", "parallelism"], ["labels"], ["x_unknown"], ["task", "container", "mounts"], ["task", "networks"], ["dependsOn"]),
        oddValue,
      ),
      { freq: 2 },
    ),
  )
  .map(([b, m]) => {
    const spec: Record<string, unknown> = {
      name: b.name,
      ...(b.mode ? { mode: b.mode } : {}),
      replicas: b.replicas,
      task: {
        container: { image: b.image, env: b.env },
        placement: { constraints: b.constraints },
        resources: { limits: { nanoCpus: b.nanoCpus, memoryBytes: b.memory } },
      },
      endpoint: { ports: b.ports },
      update: { order: b.order },
    };
    if (!m) return { spec };
    const [path, value] = m;
    let at: Record<string, unknown> = spec;
    for (const key of path.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
    if (typeof at === "object" && at) at[path.at(-1)!] = value;
    return { spec, mutation: { path, value } };
  });

export const specGenerator: Generator<SpecCase> = {
  name: "service specs → POST /v1/services",
  arbitrary: specCase,
  async check(target, c) {
    const before = await fingerprint(target.t);
    const res = await target.t.call("POST", "/v1/services", { token: target.t.tokens.admin, body: c.spec });
    await expectAnswer(target, before, res, `POST /v1/services ${JSON.stringify(c.spec)}`);
    // Keeps the store small: the next cases meet the same few services.
    if (res.status === 201) {
      const rm = await target.t.call("DELETE", `/v1/services/${res.body.id}`, { token: target.t.tokens.admin });
      if (rm.status >= 500) throw new Error(`DELETE after a create → ${rm.status} ${rm.text}`);
    }
  },
};

// ---------- agent protocol ----------

export type AgentCase = { route: "status" | "heartbeat"; body: unknown };
const statusUpdate = (taskIds: fc.Arbitrary<string>) =>
  fc.record(
    {
      taskId: taskIds,
      state: fc.oneof(fc.constantFrom(...taskStates), fc.string({ maxLength: 8 })),
      message: fc.oneof(fc.string({ maxLength: 30 }), fc.constant("m".repeat(2000))),
      error: fc.string({ maxLength: 30 }),
      exitCode: fc.oneof(fc.integer(), fc.constant(null), fc.constant(1.5), fc.constant(2 ** 63)),
    },
    { requiredKeys: ["taskId", "state"] },
  );
const description = fc.record(
  {
    hostname: fc.oneof(fc.constantFrom("host-1", "", "h".repeat(300)), fc.string({ maxLength: 10 })),
    platform: fc.record({ os: fc.constantFrom("linux", "windows", ""), architecture: fc.constantFrom("x86_64", "aarch64", "") }),
    resources: fc.record({ nanoCpus: fc.oneof(fc.integer({ min: 0, max: 64e9 }), fc.constant(-1)), memoryBytes: fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }), fc.constant(1e300)) }),
    engine: fc.record({ version: fc.constantFrom("20.10.24", "", "x".repeat(200)), labels: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }) }),
    addr: fc.constantFrom("10.0.0.9", "::1", "999.1.1.1", "", "host"),
    overlay: oddValue,
  },
  { requiredKeys: ["hostname", "platform", "resources", "engine"] },
);
export const agentGenerator = (taskIds: () => string[]): Generator<AgentCase> => ({
  name: "agent messages (status reports, heartbeats) from a node credential",
  arbitrary: fc.oneof(
    fc.record({
      route: fc.constant("status" as const),
      body: fc.oneof(
        fc.record({ updates: fc.array(statusUpdate(fc.oneof(fc.constantFrom(...taskIds()), fc.constantFrom("task_0", "task_zz", "", "node_x"), fc.string({ maxLength: 45 }).map((s) => `task_${s}`))), { maxLength: 6 }) }),
        oddValue,
      ),
    }),
    fc.record({
      route: fc.constant("heartbeat" as const),
      body: fc.oneof(
        fc.record(
          {
            description,
            engineDown: fc.oneof(fc.string({ maxLength: 20 }), fc.constant("e".repeat(2000))),
            networkIssues: fc.array(fc.record({ networkId: fc.string({ maxLength: 70 }), peerNodeId: fc.string({ maxLength: 10 }), message: fc.string({ maxLength: 20 }) }, { requiredKeys: ["message"] }), { maxLength: 3 }),
          },
          { requiredKeys: [] },
        ),
        oddValue,
      ),
    }),
  ),
  async check(target, c) {
    const before = await fingerprint(target.t);
    const res = await target.t.call("POST", `/v1/agent/${c.route}`, { token: target.node.credential, body: c.body === undefined ? "" : c.body });
    await expectAnswer(target, before, res, `POST /v1/agent/${c.route} ${JSON.stringify(c.body)}`);
  },
});

// ---------- CLI flag lists ----------

const commands: string[][] = [
  ["service", "create", "-d"],
  ["service", "update", "-d"],
  ["service", "scale", "-d"],
  ["service", "ls"],
  ["service", "ps"],
  ["service", "inspect"],
  ["service", "rm"],
  ["node", "ls"],
  ["node", "update"],
  ["node", "inspect"],
  ["node", "ps"],
  ["network", "create"],
  ["network", "ls"],
  ["network", "inspect"],
  ["swarm", "update"],
  ["swarm", "info"],
];
const flag = fc.constantFrom(
  "--replicas", "-p", "--publish", "--env", "-e", "--limit-memory", "--limit-cpu", "--reserve-cpu", "--reserve-memory", "--update-delay",
  "--update-parallelism", "--update-order", "--update-failure-action", "--constraint", "--label", "--mount", "--network", "--format", "--filter",
  "-f", "--mode", "--name", "--restart-condition", "--restart-max-attempts", "--health-cmd", "--health-interval", "--availability", "--label-add",
  "--label-rm", "--role", "--subnet", "--gateway", "--opt", "--dispatcher-heartbeat", "--task-history-limit", "-q", "--no-trunc", "--force",
  "--image", "--env-add", "--publish-add", "--publish-rm", "--pretty", "--stop-grace-period", "--placement-pref", "--", "-",
);
const flagValue = fc.oneof(
  fc.constantFrom(
    "3", "-1", "0", "1e9", "99999999999999999999", "512M", "1.5G", "-5M", "0.5", "abc", "80:8080", "8080:80/udp", "65536:1", "mode=host,target=80",
    "a=b", "=", "type=tmpfs,target=/x", "type=bind,source=rel,target=/y", "node.role==manager", "node.labels.a!=", "{{.ID}}", "{{", "{{.Spec.Nope.Deeper}}",
    "table {{.Name}}\t{{.Image}}", "{{range .}}{{end}}", "json", "10s", "1m30s", "-5s", "1y", "", "busybox:1", "existing", "fz-cli", "global", "replicated-job",
    "name=existing", "label=a=b", "spread=node.labels.zone", "encrypted", "10.9.0.0/16", "300.0.0.0/8",
  ),
  fc.string({ maxLength: 12 }),
  fc.constant("x".repeat(20_000)),
  fc.integer({ min: 1, max: 300 }).map((n) => "{{".repeat(n)),
);
export type CliCase = string[];
const cliCase: fc.Arbitrary<CliCase> = fc
  .tuple(fc.constantFrom(...commands), fc.array(fc.oneof(fc.tuple(flag, flagValue).map(([f, v]) => [f, v]), flag.map((f) => [f])), { maxLength: 5 }), fc.array(flagValue, { maxLength: 3 }))
  .map(([cmd, flags, positionals]) => [...cmd, ...flags.flat(), ...positionals]);

/** A stack trace or a JavaScript error's name: the CLI failed on itself rather than on the input. */
const crashed = /\n\s+at |TypeError|ReferenceError|RangeError|SyntaxError: (?!.*JSON)|internal error|Maximum call stack/;

export const cliGenerator = (configDir: string): Generator<CliCase> => ({
  name: "CLI flag lists → run(argv, io)",
  arbitrary: cliCase,
  async check(target, argv) {
    const before = target.serverErrors.length;
    let stdout = "";
    let stderr = "";
    const env = { SHOAL_URL: target.url, SHOAL_TOKEN: target.t.tokens.admin, SHOAL_CONFIG: join(configDir, "config.json") };
    const code = await Promise.race([
      run(argv, {
        stdout: { write: (s: string) => (stdout += s) },
        stderr: { write: (s: string) => (stderr += s) },
        stdin: Readable.from([]),
        env,
        cwd: configDir,
        onInterrupt: () => () => {},
      }),
      new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 10_000).unref()),
    ]);
    const what = `shoal ${JSON.stringify(argv).slice(0, 2000)} → ${code}\n${stderr.slice(0, 1500)}`;
    if (code === "hung") throw new Error(`did not finish within 10 s: ${what}`);
    if (![0, 1, 2].includes(code)) throw new Error(`exit code ${code}: ${what}`);
    if (crashed.test(stderr)) throw new Error(`a crash: ${what}`);
    if (target.serverErrors.length > before) throw new Error(`the server answered 5xx: ${target.serverErrors.slice(before).join("\n")}\nfor ${what}`);
    // Keeps the store small: a created service is removed again.
    await target.t.call("DELETE", "/v1/services/fz-cli", { token: target.t.tokens.admin });
  },
});

/** Every generator, on one target. */
export function allGenerators(target: Target): Generator<any>[] {
  const configDir = mkdtempSync(join(tmpdir(), "shoal-fuzz-cli-"));
  return [composeGenerator, specGenerator, agentGenerator(() => target.taskIds), cliGenerator(configDir)];
}

/** The server still answers, and read routes still work, after a run. */
export async function expectStillServing(target: Target): Promise<void> {
  for (const path of ["/healthz", "/v1/swarm", "/v1/services", "/v1/nodes", "/v1/stacks"]) {
    const res = await target.t.call("GET", path, { token: target.t.tokens.admin });
    if (res.status !== 200) throw new Error(`${path} answered ${res.status} after the run: ${res.text}`);
  }
}
