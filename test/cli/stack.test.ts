import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryDir } from "../helpers/temp.js";
import { expectTable, runShoal, startCliCluster, type CliCluster } from "./harness.js";

let c: CliCluster;
let dir: string;
beforeAll(async () => {
  c = await startCliCluster(["host-1", "host-2"]);
  dir = memoryDir("shoal-stack-");
  writeFileSync(join(dir, "web.env"), "GREETING=hello\n");
  writeFileSync(
    join(dir, "compose.yml"),
    [
      'version: "3.8"',
      "services:",
      "  web:",
      "    image: nginx:${TAG}",
      "    env_file: web.env",
      "    privileged: true",
      "    ports: ['8080:80']",
      "    deploy: { replicas: 2, update_config: { monitor: 1s } }",
      "  db:",
      "    image: postgres:16",
      "    deploy: { update_config: { monitor: 1s } }",
      "",
    ].join("\n"),
  );
});
afterAll(() => c?.stop());

/** Runs the bin with TAG in its environment, as a shell would pass it. */
const withTag = (tag: string, ...args: string[]) => runShoal(args, { SHOAL_CONFIG: c.configPath, TAG: tag });

describe("shoal stack", () => {
  it("deploy creates the services with the caller's ${TAG} and env_file; warnings on stderr", async () => {
    const r = await withTag("1.27", "stack", "deploy", "-c", join(dir, "compose.yml"), "shop");
    expect(r).toMatchObject({ code: 0, stdout: "Creating service shop_web\nCreating service shop_db\n" });
    expect(r.stderr).toBe("services.web: ignoring unsupported options: privileged\n");
    const [web] = JSON.parse(await c.ok("service", "inspect", "shop_web"));
    expect(web.spec.task.container).toMatchObject({ image: "nginx:1.27", env: ["GREETING=hello"] });
    expect(web.spec.labels).toMatchObject({ "com.docker.stack.namespace": "shop" });
  });

  it("ls, services and ps print docker's tables", async () => {
    expect(await c.ok("stack", "ls")).toBe("NAME      SERVICES\nshop      2\n");
    expect(await c.ok("stack", "ls", "--format", "json")).toBe('{"Name":"shop","Services":"2"}\n');
    await expect.poll(async () => c.ok("stack", "services", "shop", "--format", "{{.Name}} {{.Replicas}}"), { timeout: 10_000 }).toBe("shop_db 1/1\nshop_web 2/2\n");
    const rows = expectTable(await c.ok("stack", "services", "shop"), "ID             NAME       MODE         REPLICAS   IMAGE         PORTS", [
      "ID", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS",
    ]);
    expect(rows.map((r) => [r[1], r[4], r[5]])).toEqual([
      ["shop_db", "postgres:16", ""],
      ["shop_web", "nginx:1.27", "*:8080->80/tcp"],
    ]);
    expect((await c.ok("stack", "services", "-q", "shop")).trim().split("\n")).toHaveLength(2);
    expect(await c.ok("stack", "services", "--format", "{{.Name}}", "-f", "name=shop_w", "shop")).toBe("shop_web\n");
    const tasks = expectTable(await c.ok("stack", "ps", "shop"), undefined, ["ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR", "PORTS"]);
    expect(tasks.map((r) => r[1]).sort()).toEqual(["shop_db.1", "shop_web.1", "shop_web.2"]);
    expect(await c.ok("stack", "ps", "--format", "{{.Name}} {{.DesiredState}}", "-f", "name=shop_db.1", "shop")).toBe("shop_db.1 Running\n");
    expect((await c.ok("stack", "ps", "-q", "shop")).trim().split("\n")).toHaveLength(3);
    const none = await c.shoal("stack", "services", "nope");
    expect(none).toMatchObject({ code: 0, stdout: "", stderr: "Nothing found in stack: nope\n" });
    expect(await c.shoal("stack", "ps", "nope")).toMatchObject({ code: 1, stderr: "Error: stack nope not found\n" });
  });

  it("a redeploy prints Updating for every service; --detach=false waits for the changed ones", async () => {
    const r = await withTag("1.28", "stack", "deploy", "--detach=false", "-c", join(dir, "compose.yml"), "shop");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^Updating service shop_web \(id: svc_\w+\)$/);
    expect(lines[1]).toMatch(/^Updating service shop_db \(id: svc_\w+\)$/);
    expect(lines).toContain("overall progress: 2 out of 2 tasks ");
    // Only shop_web changed: one wait.
    expect(lines.filter((l) => l === "verify: Service converged ")).toHaveLength(1);
    expect(await c.ok("service", "inspect", "-f", "{{.Spec.Task.Container.Image}}", "shop_web")).toBe("nginx:1.28\n");
  });

  it("-c - reads stdin; --prune removes services the files no longer define", async () => {
    const compose = 'version: "3.8"\nservices:\n  web:\n    image: nginx:1.28\n    env_file: [web.env]\n    deploy: { replicas: 2, update_config: { monitor: 1s } }\n';
    const r = await runShoal(["stack", "deploy", "--prune", "-c", "-", "shop"], { SHOAL_CONFIG: c.configPath }, compose);
    // stdin has no directory: env_file is read from the working directory, here the repo (no web.env).
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: env_file web\.env: ENOENT/);
    const file = join(dir, "one.yml");
    writeFileSync(file, compose);
    const pruned = await c.ok("stack", "deploy", "--prune", "-d", "-c", file, "shop");
    expect(pruned).toMatch(/^Removing service shop_db\nUpdating service shop_web \(id: svc_\w+\)\n$/);
    expect(await c.ok("stack", "ls", "--format", "{{.Name}}={{.Services}}")).toBe("shop=1\n");
  });

  it("an invalid file exits 1 with the API's message and each field error; nothing is written", async () => {
    const bad = join(dir, "bad.yml");
    writeFileSync(bad, 'version: "3.8"\nservices:\n  api:\n    image: busybox\n    deploy: { replocas: 2 }\n  worker:\n    imag: busybox\n');
    const r = await c.shoal("stack", "deploy", "-c", bad, "broken");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^Error: invalid compose file: .*did you mean replicas\?/);
    expect(lines.slice(1)).toContain("services.api.deploy.replocas: unknown key; did you mean replicas?");
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(await c.ok("stack", "ls", "--format", "{{.Name}}")).toBe("shop\n");
    expect(await c.shoal("stack", "deploy", "shop")).toMatchObject({ code: 2, stderr: "error: specify at least one compose file (-c, --compose-file)\nSee 'shoal stack deploy --help'.\n" });
    expect((await c.shoal("stack", "deploy", "--detach=maybe", "-c", bad, "shop")).code).toBe(2);
  });

  it("rm lists each service it removes, and fails naming a stack that does not exist", async () => {
    const r = await c.shoal("stack", "rm", "shop", "nope");
    expect(r).toEqual({ code: 1, stdout: "Removing service shop_web\n", stderr: "Error: stack nope not found\n" });
    expect(await c.ok("stack", "ls")).toBe("NAME      SERVICES\n");
    expect(await c.ok("service", "ls", "-q")).toBe("");
  });
});

describe("shoal stack with secrets and configs", () => {
  it("deploy reads the files (relative to the compose file, as bytes) and creates <stack>_<name>; a changed file fails naming it; rm removes them", async () => {
    const app = memoryDir("shoal-stack-secrets-");
    const secretBytes = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x41]);
    writeFileSync(join(app, "db_pw.bin"), secretBytes);
    mkdirSync(join(app, "conf"));
    writeFileSync(join(app, "conf", "app.conf"), "port = 80\n");
    writeFileSync(
      join(app, "compose.yml"),
      [
        "services:",
        "  app:",
        "    image: busybox:1",
        "    secrets: [db_pw]",
        "    configs: [{ source: app_conf, target: /etc/app.conf }]",
        "secrets:",
        "  db_pw: { file: ./db_pw.bin }",
        "configs:",
        "  app_conf: { file: conf/app.conf }",
        "",
      ].join("\n"),
    );
    // Run from elsewhere: the paths are the compose file's.
    const r = await runShoal(["stack", "deploy", "-c", join(app, "compose.yml"), "vault"], { SHOAL_CONFIG: c.configPath });
    expect(r, r.stderr).toMatchObject({ code: 0, stdout: "Creating service vault_app\n" });
    expect(await c.ok("secret", "ls", "--format", "{{.Name}}")).toBe("vault_db_pw\n");
    expect(JSON.parse(await c.ok("config", "inspect", "vault_app_conf"))[0].data).toBe(Buffer.from("port = 80\n").toString("base64"));
    const [svc] = JSON.parse(await c.ok("service", "inspect", "vault_app"));
    expect(svc.spec.task.secrets).toMatchObject([{ source: "vault_db_pw", target: "/run/secrets/db_pw" }]);

    writeFileSync(join(app, "db_pw.bin"), "rotated");
    const changed = await runShoal(["stack", "deploy", "-c", join(app, "compose.yml"), "vault"], { SHOAL_CONFIG: c.configPath });
    expect(changed.code).toBe(1);
    expect(changed.stderr).toMatch(/secret vault_db_pw exists with other contents than \.\/db_pw\.bin: only updates to labels are allowed/);
    expect(changed.stderr).toContain("under secrets.db_pw");

    rmSync(join(app, "conf", "app.conf"));
    const unreadable = await runShoal(["stack", "deploy", "-c", join(app, "compose.yml"), "vault3"], { SHOAL_CONFIG: c.configPath });
    expect(unreadable).toMatchObject({ code: 1, stderr: expect.stringMatching(/^Error: file conf\/app\.conf: ENOENT/) });

    expect(await c.ok("stack", "rm", "vault")).toBe("Removing service vault_app\nRemoving secret vault_db_pw\nRemoving config vault_app_conf\n");
    expect(await c.ok("secret", "ls", "-q")).toBe("");
    expect(await c.ok("config", "ls", "-q")).toBe("");
  });
});
