import fc from "fast-check";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { TaskRow } from "../../src/db/tasks.js";
import type { ServiceView } from "../../src/orchestrator/context.js";
import { planDependencyHolds } from "../../src/orchestrator/dependencies.js";
import { interpolate } from "../../src/stack/interpolate.js";
import type { StackIssue } from "../../src/stack/issues.js";
import { loadStack, type LoadedStack } from "../../src/stack/load.js";
import { mergeComposeFiles } from "../../src/stack/merge.js";
import { parseBytes, parseDurationMs, parseNanoCpus } from "../../src/domain/units.js";
import { fixtureSpec } from "../helpers/cluster-fixtures.js";

const fixtures = new URL("../fixtures/compose/", import.meta.url);
const fixture = (path: string) => readFileSync(new URL(path, fixtures), "utf8");

function load(files: string[], opts: { env?: Record<string, string>; workingDir?: string; envFiles?: Record<string, string> } = {}) {
  return loadStack({ stack: "shop", files: files.map(fixture), env: opts.env ?? {}, ...opts });
}

function loaded(files: string[], opts: Parameters<typeof load>[1] = {}): LoadedStack {
  const result = load(files, opts);
  if (!result.ok) throw new Error(`expected a valid stack, got ${JSON.stringify(result.errors)}`);
  return result;
}

const service = (stack: LoadedStack, key: string) => stack.services.find((s) => s.key === key)!.spec;

describe("compose corpus: valid files", () => {
  const classic = loaded(["valid/classic.yml"], { env: { API_TAG: "7", SECRET_KEY: "s3cret" } });

  it("names every service <stack>_<service> and labels it and its containers with the namespace", () => {
    expect(classic.services.map((s) => s.spec.name)).toEqual(["shop_web", "shop_api", "shop_db", "shop_monitor"]);
    for (const { spec } of classic.services) {
      expect(spec.labels["com.docker.stack.namespace"]).toBe("shop");
      expect(spec.task.container.labels["com.docker.stack.namespace"]).toBe("shop");
    }
  });

  it("converts the replicated web service: interpolated default, ports both ways, update and rollback configs, placement, logging, restart", () => {
    expect(service(classic, "web")).toMatchObject({
      mode: "replicated",
      replicas: 3,
      dependsOn: ["shop_api"],
      task: {
        container: { image: "nginx:1.27" },
        networks: [{ target: "shop_frontend", aliases: ["web"] }],
        placement: { preferences: [{ spread: "node.labels.zone" }], maxReplicasPerNode: 2 },
        restartPolicy: { condition: "on-failure", delayMs: 5000 },
        logDriver: { name: "json-file", options: { "max-size": "10m" } },
      },
      endpoint: {
        ports: [
          { targetPort: 80, publishedPort: 8080, protocol: "tcp", publishMode: "ingress" },
          { targetPort: 443, publishedPort: 8443, protocol: "tcp", publishMode: "host" },
        ],
      },
      update: { parallelism: 2, delayMs: 10_000, order: "start-first", failureAction: "rollback", monitorMs: 5000 },
      rollback: { parallelism: 0 },
    });
  });

  it("converts the api: command as args, environment from the caller, healthcheck, resources, aliases", () => {
    expect(service(classic, "api")).toMatchObject({
      dependsOn: ["shop_db"],
      task: {
        container: {
          image: "registry.example/api:7",
          command: [],
          args: ["serve", "--port", "3000"],
          env: ["DB_HOST=db", "SECRET_KEY=s3cret"],
          healthcheck: { test: ["CMD", "wget", "-q", "-O-", "http://localhost:3000/health"], intervalMs: 5000, timeoutMs: 2000, retries: 3, startPeriodMs: 90_000 },
          stopGracePeriodMs: 30_000,
        },
        resources: { limits: { nanoCpus: 500_000_000, memoryBytes: 512 * 2 ** 20 }, reservations: { nanoCpus: 250_000_000, memoryBytes: 128 * 2 ** 20 } },
        networks: [
          { target: "shop_frontend", aliases: ["api"] },
          { target: "shop_backend", aliases: ["api", "app"] },
        ],
      },
    });
  });

  it("converts the database: named volume, tmpfs, constraints, restart policy, $$ escape, shell healthcheck", () => {
    expect(service(classic, "db")).toMatchObject({
      task: {
        container: {
          env: ["POSTGRES_PASSWORD=${NOT_INTERPOLATED}", "POSTGRES_DB=shop"],
          mounts: [
            { type: "volume", source: "shop_db-data", target: "/var/lib/postgresql/data", readOnly: false },
            { type: "tmpfs", source: "", target: "/run/postgresql", tmpfsSizeBytes: 64 * 2 ** 20 },
          ],
          healthcheck: { test: ["CMD-SHELL", "pg_isready -U postgres"] },
        },
        placement: { constraints: ["node.labels.db == true", "node.role != manager"] },
        restartPolicy: { condition: "on-failure", delayMs: 5000, maxAttempts: 3, windowMs: 120_000 },
        networks: [{ target: "shop_backend" }],
      },
    });
  });

  it("converts the global service onto the default network, with dnsrr and a bind mount", () => {
    expect(service(classic, "monitor")).toMatchObject({
      mode: "global",
      replicas: 0,
      endpoint: { mode: "dnsrr", ports: [] },
      task: {
        container: { mounts: [{ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true }] },
        networks: [{ target: "shop_default", aliases: ["monitor"] }],
      },
    });
  });

  it("records the networks used, and the declared volumes and secrets", () => {
    expect(classic.resources.map((r) => [r.kind, r.name, r.external])).toEqual([
      ["network", "shop_frontend", false],
      ["network", "shop_backend", false],
      ["network", "shop_default", false],
      ["volume", "shop_db-data", false],
      ["secret", "api_key", true],
    ]);
    expect(classic.resources[1]!.definition).toEqual({ driver: "overlay", attachable: true });
  });

  it("warns about unset variables without a default", () => {
    const stack = loaded(["valid/classic.yml"], { env: {} });
    expect(stack.warnings).toEqual(["the API_TAG variable is not set: it stands for an empty string"]);
    expect(service(stack, "api").task.container.env).toEqual(["DB_HOST=db"]);
  });

  it("merges a second file over the first, in order", () => {
    const merged = loaded(["valid/classic.yml", "valid/override.yml"], { env: { API_TAG: "7" } });
    expect(service(merged, "web")).toMatchObject({
      replicas: 3,
      task: { container: { image: "nginx:1.28", env: ["MODE=production"] } },
      endpoint: { ports: [{ publishedPort: 8080 }, { publishedPort: 8443 }, { publishedPort: 9090, targetPort: 90 }] },
    });
    expect(service(merged, "db").task.container.env).toEqual(["POSTGRES_PASSWORD=${NOT_INTERPOLATED}", "POSTGRES_DB=shop2"]);
  });

  it("converts every other service key, and warns about the ignored ones", () => {
    const stack = loaded(["valid/everything.yml"], { workingDir: "/home/me/app", envFiles: { "app.env": "# comment\nA=1\nLEVEL=info\n" } });
    expect(stack.warnings).toEqual([
      "services.app: ignoring unsupported options: privileged, container_name",
      "services.app.ports.1: the host IP 127.0.0.1 is ignored; published ports listen on every address",
    ]);
    expect(service(stack, "app")).toMatchObject({
      labels: { tier: "app" },
      task: {
        container: {
          command: ["/bin/sh", "-c"],
          args: ["echo", "hello world", "&&", "sleep", "1"],
          env: ["A=1", "LEVEL=debug"],
          labels: { team: "shop" },
          user: "1000",
          workdir: "/app",
          hostname: "app-host",
          init: true,
          readOnly: true,
          tty: true,
          capAdd: ["NET_ADMIN"],
          capDrop: ["MKNOD"],
          dns: { nameservers: ["10.0.0.2"], search: ["example.com"], options: ["ndots:2"] },
          hosts: ["10.0.0.9 db.local"],
          stopSignal: "SIGINT",
          healthcheck: { test: ["NONE"] },
          mounts: [
            { type: "bind", source: "/home/me/app/conf", target: "/conf", readOnly: true },
            { type: "volume", source: "", target: "/cache" },
            { type: "tmpfs", target: "/scratch" },
          ],
        },
        resources: { limits: { pids: 100 } },
        networks: [{ target: "host-net" }],
      },
      endpoint: {
        ports: [
          { protocol: "udp", targetPort: 3000, publishedPort: 3000 },
          { protocol: "udp", targetPort: 3001, publishedPort: 3001 },
          { protocol: "tcp", targetPort: 5000, publishedPort: 5000 },
        ],
      },
      update: { monitorMs: 30_000, maxFailureRatio: 0.2 },
    });
    expect(service(stack, "job")).toMatchObject({ mode: "replicated-job", replicas: 2, maxConcurrent: 2 });
    expect(stack.resources.map((r) => [r.kind, r.name, r.external])).toEqual([
      ["network", "host-net", true],
      ["network", "shop_default", false],
      ["secret", "shop-token", false],
      ["config", "shop_app_conf", false],
    ]);
  });
});

describe("compose corpus: invalid files", () => {
  const cases: [string, StackIssue[], Record<string, string>?][] = [
    ["typo-replocas.yml", [{ path: "services.web.deploy.replocas", message: "unknown key; did you mean replicas?" }]],
    ["typo-service-key.yml", [{ path: "services.web.imagee", message: "unknown key; did you mean image?" }]],
    ["wrong-type.yml", [{ path: "services.web.deploy.replicas", message: "expected an integer, got a string" }]],
    ["forbidden-key.yml", [{ path: "services.web.mem_limit", message: "not supported by stacks: use deploy.resources.limits.memory" }]],
    ["bad-interpolation.yml", [{ path: "services.web.image", message: 'invalid interpolation: "nginx:${TAG": a "${" is not closed by "}"' }]],
    [
      "required-variable.yml",
      [{ path: "services.web.image", message: "invalid interpolation: required variable TAG is missing a value: set TAG to the release" }],
    ],
    [
      "version-2.yml",
      [
        {
          path: "version",
          message: 'version 2.4 files are not supported: stacks read compose version 3 files (version: "3.8"); move container options such as mem_limit under deploy',
        },
      ],
    ],
    ["no-services.yml", [{ path: "services", message: "no services: a stack needs at least one service under services:" }]],
    ["undeclared-network.yml", [{ path: "services.web.networks.front", message: "network front is not declared under the top-level networks" }]],
    [
      "bad-constraint.yml",
      [{ path: "services.db.deploy.placement.constraints.0", message: 'constraint "node.labels.db=true" is not key==value or key!=value' }],
    ],
    ["dependency-cycle.yml", [{ path: "services.a.depends_on", message: "dependency cycle: a → b → a" }]],
    ["bad-duration.yml", [{ path: "services.web.stop_grace_period", message: '"10 seconds" is not a duration like 10s, 1m30s or 500ms' }]],
    ["bad-port.yml", [{ path: "services.web.ports.0", message: '"80:80:80" is not a port like 80, 8080:80, 8080:80/udp or 8000-8001:80-81' }]],
    ["not-yaml.yml", [{ path: "file", message: "not valid YAML (line 4, column 1): bad indent" }]],
    ["global-replicas.yml", [{ path: "services.agent.deploy.replicas", message: "replicas only applies to replicated and replicated-job modes" }]],
  ];

  it.each(cases)("%s fails with the exact path and message", (file, errors) => {
    const result = load([`invalid/${file}`]);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors).toEqual(errors);
  });

  it("refuses an alias bomb as a compose error, not a crash", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 8; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(", ")}]`);
    const result = loadStack({ stack: "s", files: [`x-bomb:\n  ${levels.join("\n  ")}\nservices:\n  web:\n    image: busybox\n`], env: {} });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors).toEqual([{ path: "file", message: expect.stringMatching(/^not accepted as YAML: .*alias/i) }]);
  });

  const web = "services:\n  web:\n    image: busybox\n";
  const refusal = (files: string[], env: Record<string, string> = {}) => {
    const result = loadStack({ stack: "s", files, env });
    if (result.ok) throw new Error("expected a refusal");
    return result.errors;
  };

  it("refuses defaults nested past the interpolation limit, naming the limit (issue 19: 5,000 deep)", () => {
    const nested = (n: number) => `${"${A:-".repeat(n)}x${"}".repeat(n)}`;
    expect(refusal([`${web}    environment:\n      X: "${nested(5000)}"\n`])).toEqual([
      { path: "services.web.environment.X", message: expect.stringMatching(/defaults nest more than 32 levels deep .*the limit is 32$/) },
    ]);
    const ok = loadStack({ stack: "s", files: [`${web}    environment:\n      X: "${nested(32)}"\n`], env: {} });
    expect(ok.ok && ok.services[0]!.spec.task.container.env).toEqual(["X=x"]);
  });

  it("refuses an alias inside the node it names as cyclic YAML (issue 19), also through a merge key", () => {
    expect(refusal([`x-a: &a\n  b: *a\n${web}`])).toEqual([
      { path: "file", message: "the alias *a (line 2) is inside the node anchored &a: the document would contain itself, and cyclic YAML is not accepted" },
    ]);
    expect(refusal([`${web}x-b: &b\n  - c: [1, *b]\n`])[0]!.message).toMatch(/^the alias \*b \(line 5\) is inside the node anchored &b/);
    expect(refusal([web, `x-m: &m\n  <<: *m\n${web}`])).toEqual([{ path: "file 2", message: expect.stringMatching(/^the alias \*m \(line 2\).*cyclic YAML/) }]);
    // An alias to an earlier sibling is no cycle.
    expect(loadStack({ stack: "s", files: [`x-a: &a {b: 1}\nx-c: {d: *a}\n${web}`], env: {} }).ok).toBe(true);
  });

  it.each([
    ["flow collections", (n: number) => `x-deep: ${"[".repeat(n)}${"]".repeat(n)}\n${web}`],
    ["block mappings", (n: number) => `${web}x-deep:\n${Array.from({ length: n }, (_, i) => `${"  ".repeat(i + 1)}k:`).join("\n")} 1\n`],
    ["block sequences", (n: number) => `${web}x-deep:\n  ${"- ".repeat(n)}x\n`],
  ])("refuses %s nested past the depth limit before the YAML parser builds them", (_what, file) => {
    for (const n of [65, 100_000]) {
      if (n > 1000 && _what === "block mappings") continue;
      const started = Date.now();
      expect(refusal([file(n)])).toEqual([{ path: "file", message: expect.stringMatching(/^nested more than 64 levels deep \(line \d+\); the limit is 64$/) }]);
      expect(Date.now() - started).toBeLessThan(2000);
    }
    expect(loadStack({ stack: "s", files: [file(50)], env: {} }).ok).toBe(true);
  });

  it("refuses depth, size and text past their limits once aliases are expanded", () => {
    const nest = (inner: string) => `${"[".repeat(40)}${inner}${"]".repeat(40)}`;
    expect(refusal([`x-a: &a ${nest("1")}\nx-b: ${nest("*a")}\n${web}`])).toEqual([
      { path: `x-b${".0".repeat(63)}`, message: "nested more than 64 levels deep (with aliases expanded); the limit is 64" },
    ]);
    const big = "y".repeat(400_000);
    const copies = `x-big: &big "${big}"\nx-copies: [${Array(12).fill("*big").join(", ")}]\n${web}`;
    expect(refusal([copies])).toEqual([{ path: "file", message: `more than ${4 * 1024 * 1024} characters of keys and values (with aliases expanded); the limit is ${4 * 1024 * 1024}` }]);
    expect(refusal([`x-a: [${Array(1001).fill("*w").join(",")}]\nx-w: &w 1\n${web}`])[0]!.message).toMatch(/^not valid YAML|aliases/);
    expect(refusal([`x-w: &w 1\nx-a: [${Array(1001).fill("*w").join(",")}]\n${web}`])).toEqual([{ path: "file", message: "more than 1000 aliases (*name); the limit is 1000" }]);
    expect(refusal([`x-many: [${Array(100_001).fill("1").join(",")}]\n${web}`])).toEqual([{ path: "file", message: "more than 100000 values (with aliases expanded); the limit is 100000" }]);
    // YAML itself refuses implicit keys past 1024 characters; an explicit one (?) is measured.
    expect(refusal([`${web}    labels:\n      ? ${"k".repeat(1025)}\n      : v\n`])).toEqual([
      { path: "services.web.labels", message: expect.stringMatching(/^a key of 1025 characters \("k{80}…"\); the limit is 1024$/) },
    ]);
  });

  it("refuses what interpolation would grow past the text limit, and lists at most 100 problems", () => {
    const env = { BIG: "z".repeat(32 * 1024) };
    const grow = `${web}    environment:\n${Array.from({ length: 200 }, (_, i) => `      V${i}: "\${BIG}\${BIG}"`).join("\n")}\n`;
    expect(refusal([grow], env)).toEqual([{ path: expect.stringMatching(/^services\.web\.environment\.V\d+$/), message: `the file's values grow past ${4 * 1024 * 1024} characters once substituted; the limit is ${4 * 1024 * 1024}` }]);
    const one = `${web}    environment:\n      X: "${"\${BIG}".repeat(40)}"\n`;
    expect(refusal([one], env)[0]!.message).toMatch(/grows past 1048576 characters once substituted; the limit is 1048576$/);
    const typos = `services:\n${Array.from({ length: 150 }, (_, i) => `  s${i}:\n    image: busybox\n    imgae: x`).join("\n")}\n`;
    const errors = refusal([typos]);
    expect(errors).toHaveLength(101);
    expect(errors[100]).toEqual({ path: "file", message: "and 50 more problems (the first 100 are listed)" });
  });

  it("names the file when several are merged", () => {
    const result = load(["valid/override.yml", "invalid/typo-replocas.yml"]);
    expect(result.ok || result.errors).toEqual([{ path: "services.web.deploy.replocas", message: "unknown key; did you mean replicas? (file 2)" }]);
  });

  it("refuses what the files reference but do not hold", () => {
    const result = loadStack({
      stack: "s",
      files: ["services:\n  a:\n    image: a\n    env_file: a.env\n    volumes: [./x:/x, data:/d]\n    secrets: [pw]\n    depends_on: [b]\n"],
      env: {},
    });
    expect(result.ok || result.errors).toEqual([
      { path: "services.a.env_file.0", message: "the contents of a.env were not sent with the stack (envFiles)" },
      { path: "services.a.volumes.0", message: "relative path ./x needs the compose file's directory (workingDir)" },
      { path: "services.a.volumes.1", message: "volume data is not declared under the top-level volumes" },
      { path: "services.a.secrets.0", message: "secret pw is not declared under the top-level secrets" },
      { path: "services.a.depends_on.b", message: "service b is not in the stack" },
    ]);
  });

  it("refuses a service without an image", () => {
    const result = loadStack({ stack: "s", files: ["services:\n  a:\n    build: .\n"], env: {} });
    expect(result.ok || result.errors).toContainEqual({ path: "services.a", message: "no image: stacks run images, give one with image: (build is not supported)" });
  });
});

describe("interpolation", () => {
  const env = { SET: "v", EMPTY: "" };
  const cases: [string, string][] = [
    ["$SET", "v"],
    ["${SET}", "v"],
    ["a${SET}b$SET.c", "avbv.c"],
    ["${UNSET:-d}", "d"],
    ["${EMPTY:-d}", "d"],
    ["${EMPTY-d}", ""],
    ["${UNSET-d}", "d"],
    ["${SET:+alt}", "alt"],
    ["${EMPTY:+alt}", ""],
    ["${EMPTY+alt}", "alt"],
    ["${UNSET:-${SET}x}", "vx"],
    ["$$SET", "$SET"],
    ["$${SET}", "${SET}"],
    ["${SET:?must}", "v"],
    ["no dollar", "no dollar"],
  ];
  it.each(cases)("%s → %s", (text, expected) => {
    const issues: StackIssue[] = [];
    expect(interpolate(text, env, "x", issues, new Set())).toBe(expected);
    expect(issues).toEqual([]);
  });

  it.each([
    ["${UNSET:?say why}", "invalid interpolation: required variable UNSET is missing a value: say why"],
    ["${EMPTY:?}", "invalid interpolation: required variable EMPTY is missing a value"],
    ["$5", 'invalid interpolation: "$5": "$" must start a variable ($VAR or ${VAR}); write "$$" for a literal "$"'],
    ["${1A}", 'invalid interpolation: "${1A}": "${1A}" does not start with a variable name (letters, digits and "_")'],
    ["${A B}", 'invalid interpolation: "${A B}": "${A B}": after the name comes "}", ":-", "-", ":?", "?", ":+" or "+"'],
  ])("%s fails", (text, message) => {
    const issues: StackIssue[] = [];
    interpolate({ a: [text] }, env, "", issues, new Set());
    expect(issues).toEqual([{ path: "a.0", message }]);
  });

  it("leaves text without $ unchanged and turns $$ into $ (property)", () => {
    fc.assert(
      fc.property(fc.string().filter((s) => !s.includes("$")), fc.string().filter((s) => !s.includes("$")), (a, b) => {
        const issues: StackIssue[] = [];
        expect(interpolate(`${a}$$${b}`, {}, "", issues, new Set())).toBe(`${a}$${b}`);
        expect(interpolate(a, {}, "", issues, new Set())).toBe(a);
        expect(issues).toEqual([]);
      }),
    );
  });
});

describe("merge, units", () => {
  it("merges environment and labels across list and mapping forms, volumes by target, replaces other lists", () => {
    const merged = mergeComposeFiles([
      { services: { a: { environment: ["A=1", "B=2"], volumes: ["x:/data", "/logs"], command: ["one"], deploy: { labels: ["k=1"], replicas: 1 } } } },
      { services: { a: { environment: { B: "3" }, volumes: ["y:/data"], command: ["two"], deploy: { labels: { l: "2" } } }, b: { image: "b" } } },
    ]);
    expect(merged).toEqual({
      services: {
        a: { environment: { A: "1", B: "3" }, volumes: ["y:/data", "/logs"], command: ["two"], deploy: { labels: { k: "1", l: "2" }, replicas: 1 } },
        b: { image: "b" },
      },
    });
  });

  it.each([
    ["10s", 10_000],
    ["1m30s", 90_000],
    ["500ms", 500],
    ["1.5h", 5_400_000],
    ["0", 0],
    ["10", undefined],
    ["10 s", undefined],
  ])("duration %s → %s ms", (text, ms) => expect(parseDurationMs(text)).toBe(ms));

  it.each([
    ["512M", 512 * 2 ** 20],
    ["1.5g", 1.5 * 2 ** 30],
    ["64kb", 64 * 1024],
    [1024, 1024],
    ["lots", undefined],
  ] as const)("bytes %s → %s", (text, n) => expect(parseBytes(text)).toBe(n));

  it("parses CPUs", () => {
    expect(parseNanoCpus("0.5")).toBe(500_000_000);
    expect(parseNanoCpus(2)).toBe(2e9);
    expect(parseNanoCpus("half")).toBeUndefined();
  });

});

describe("depends_on gate", () => {
  const view = (id: string, dependsOn?: string[], mode: "replicated" | "replicated-job" = "replicated"): ServiceView => ({
    id,
    name: id,
    spec: fixtureSpec({ name: id, mode, ...(dependsOn ? { dependsOn } : {}) }),
    previousSpec: null,
    updateStatus: null,
    specHash: "h",
  });
  const task = (serviceId: string, state: TaskRow["state"], desiredState: TaskRow["desiredState"] = "running") =>
    ({ serviceId, state, desiredState }) as TaskRow;
  const services = new Map([
    ["db", view("db")],
    ["migrate", view("migrate", undefined, "replicated-job")],
    ["api", view("api", ["db", "migrate"])],
    ["web", view("web", ["api"])],
    ["free", view("free")],
  ]);

  it("holds a service until each dependency has a running task (or a job's completed one)", () => {
    expect(planDependencyHolds(services, [])).toEqual(
      new Map([
        ["api", "waiting for db, migrate to run (depends_on)"],
        ["web", "waiting for api to run (depends_on)"],
      ]),
    );
    // starting = not yet healthy; a running task being stopped does not count.
    const partly = [task("db", "starting"), task("db", "running", "shutdown"), task("migrate", "complete")];
    expect(planDependencyHolds(services, partly).get("api")).toBe("waiting for db to run (depends_on)");
    const all = [task("db", "running"), task("migrate", "complete"), task("api", "running")];
    expect(planDependencyHolds(services, all)).toEqual(new Map());
  });

  it("holds a service whose dependency does not exist", () => {
    expect(planDependencyHolds(new Map([["web", view("web", ["gone"])]]), [])).toEqual(new Map([["web", "waiting for gone to run (depends_on)"]]));
  });
});

describe("secrets and configs of a stack", () => {
  it("converts short and long references as docker does; a leading-0 mode is octal (YAML 1.1, as docker reads it)", () => {
    const result = loadStack({
      stack: "shop",
      files: [
        [
          "services:",
          "  web:",
          "    image: busybox:1",
          "    secrets: [pw, { source: ext, target: keys/ext, uid: '1000', gid: '1001', mode: 0440 }]",
          "    configs: [conf, { source: conf, target: /etc/app.conf, mode: 0o600 }]",
          "secrets:",
          "  pw: { file: ./pw.txt }",
          "  ext: { external: true }",
          "configs:",
          "  conf: { file: ./app.conf, name: app-conf-v2 }",
          "",
        ].join("\n"),
      ],
      env: {},
      envFiles: {},
    });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const spec = result.services[0]!.spec;
    expect(spec.task.secrets).toEqual([
      { source: "shop_pw", id: "", target: "/run/secrets/pw", uid: 0, gid: 0, mode: 0o444 },
      { source: "ext", id: "", target: "/run/secrets/keys/ext", uid: 1000, gid: 1001, mode: 0o440 },
    ]);
    expect(spec.task.configs).toEqual([
      { source: "app-conf-v2", id: "", target: "/conf", uid: 0, gid: 0, mode: 0o444 },
      { source: "app-conf-v2", id: "", target: "/etc/app.conf", uid: 0, gid: 0, mode: 0o600 },
    ]);
    expect(result.resources.filter((r) => r.kind !== "network").map((r) => [r.kind, r.name, r.external])).toEqual([
      ["secret", "shop_pw", false],
      ["secret", "ext", true],
      ["config", "app-conf-v2", false],
    ]);
  });
});
