import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryDir } from "../helpers/temp.js";
import { expectTable, runShoal, startCliCluster, type CliCluster } from "./harness.js";

let c: CliCluster;
let dir: string;
beforeAll(async () => {
  c = await startCliCluster(["host-1"]);
  dir = memoryDir("shoal-secret-");
});
afterAll(() => c?.stop());

const value = "s3cr3t-from-stdin";

describe("shoal secret and config", () => {
  it("secret create from a file or stdin prints the id; ls shows docker's columns; inspect never the value; rm", async () => {
    writeFileSync(join(dir, "pw.txt"), "from-a-file\n");
    const id = (await c.ok("secret", "create", "--label", "team=a", "db_pw", join(dir, "pw.txt"))).trim();
    expect(id).toMatch(/^sec_[a-v0-9]{20}$/);
    const piped = await runShoal(["secret", "create", "api_key", "-"], { SHOAL_CONFIG: c.configPath }, value);
    expect(piped.code, piped.stderr).toBe(0);
    const rows = expectTable(await c.ok("secret", "ls"), undefined, ["ID", "NAME", "DRIVER", "CREATED", "UPDATED"]);
    expect(rows.map((r) => r[1])).toEqual(["api_key", "db_pw"]);
    expect(await c.ok("secret", "ls", "-q", "--filter", "label=team=a")).toBe(`${id}\n`);
    expect(await c.ok("secret", "ls", "--filter", "name=api", "--format", "{{.Name}}")).toBe("api_key\n");
    const inspected = await c.ok("secret", "inspect", "api_key");
    expect(JSON.parse(inspected)[0]).toMatchObject({ name: "api_key", size: value.length, services: [] });
    expect(inspected).not.toContain(value);
    expect(inspected).not.toContain(Buffer.from(value).toString("base64"));
    const taken = await c.shoal("secret", "create", "db_pw", join(dir, "pw.txt"));
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/a secret named db_pw already exists/);
    expect(await c.ok("secret", "rm", "db_pw")).toBe("db_pw\n");
    expect((await c.shoal("secret", "inspect", "db_pw")).stderr).toMatch(/secret db_pw not found/);
  });

  it("config inspect --pretty shows the data", async () => {
    writeFileSync(join(dir, "app.conf"), "listen 8080;\n");
    await c.ok("config", "create", "app.conf", join(dir, "app.conf"));
    expect(expectTable(await c.ok("config", "ls"), undefined, ["ID", "NAME", "CREATED", "UPDATED"]).map((r) => r[1])).toEqual(["app.conf"]);
    const pretty = await c.ok("config", "inspect", "--pretty", "app.conf");
    expect(pretty).toMatch(/^ID:\s+cfg_/);
    expect(pretty).toMatch(/Name:\s+app\.conf\n/);
    expect(pretty).toContain("Data:\nlisten 8080;\n");
  });

  it("service create --secret/--config; update --secret-add/--secret-rm; rm refused while in use", async () => {
    expect((await runShoal(["secret", "create", "tls_key", "-"], { SHOAL_CONFIG: c.configPath }, "-----BEGIN KEY-----")).code).toBe(0);
    await c.ok("config", "create", "site.conf", join(dir, "app.conf"));
    await c.ok("service", "create", "--detach", "--name", "web", "--secret", "api_key", "--secret", "source=tls_key,target=tls/key.pem,uid=33,gid=33,mode=0400", "--config", "src=site.conf,target=/etc/site.conf,mode=0440", "busybox:1");
    const spec = () => c.ok("service", "inspect", "-f", "{{json .spec.task}}", "web").then((o) => JSON.parse(o) as { secrets: unknown[]; configs: unknown[] });
    expect((await spec()).secrets).toEqual([
      expect.objectContaining({ source: "api_key", target: "/run/secrets/api_key", uid: 0, gid: 0, mode: 0o444 }),
      expect.objectContaining({ source: "tls_key", target: "/run/secrets/tls/key.pem", uid: 33, gid: 33, mode: 0o400 }),
    ]);
    expect((await spec()).configs).toEqual([expect.objectContaining({ source: "site.conf", target: "/etc/site.conf", mode: 0o440 })]);
    const inUse = await c.shoal("secret", "rm", "api_key");
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toMatch(/secret api_key is in use by service web/);
    await c.ok("service", "update", "--detach", "--secret-rm", "api_key", "--config-rm", "site.conf", "--secret-add", "source=api_key,target=key,mode=0600", "web");
    expect((await spec()).secrets).toEqual([
      expect.objectContaining({ source: "tls_key", target: "/run/secrets/tls/key.pem" }),
      expect.objectContaining({ source: "api_key", target: "/run/secrets/key", mode: 0o600 }),
    ]);
    expect((await spec()).configs).toEqual([]);
    expect(await c.ok("config", "rm", "site.conf")).toBe("site.conf\n");
    const bad = await c.shoal("service", "create", "--name", "x", "--secret", "source=tls_key,mode=999", "busybox:1");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid argument for --secret: mode=999: file permission bits in octal/);
    const missing = await c.shoal("service", "create", "--detach", "--name", "x", "--secret", "nope", "busybox:1");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/secret nope not found/);
  });
});
