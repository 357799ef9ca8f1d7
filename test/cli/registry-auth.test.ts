import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryDir } from "../helpers/temp.js";
import { runShoal, startCliCluster, type CliCluster } from "./harness.js";

/**
 * --with-registry-auth on shoal service create/update and stack deploy: the
 * logins of the docker CLI's config.json reach the agent that pulls, and
 * nothing the CLI prints shows them.
 */

let c: CliCluster;
beforeAll(async () => {
  c = await startCliCluster(["host-1"]);
});
afterAll(() => c?.stop());

const registry = "registry.example:5000";
const image = `${registry}/acme/web:1`;
const pulls = () => c.agents[0]!.engine.pullAuths;
/** A docker config dir holding this config.json; the CLI runs with DOCKER_CONFIG pointing at it. */
function withDockerConfig(config: unknown) {
  const dir = memoryDir("shoal-docker-config-");
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  return (...args: string[]) => runShoal(args, { SHOAL_CONFIG: c.configPath, DOCKER_CONFIG: dir });
}
const login = (user: string, pw: string) => ({ auths: { [`https://${registry}`]: { auth: Buffer.from(`${user}:${pw}`).toString("base64") } } });

describe("shoal --with-registry-auth", () => {
  it("service create sends the image registry's login from config.json; the node pulls with it; inspect shows none of it", async () => {
    const shoal = withDockerConfig(login("ci-bot", "cli-registry-pw"));
    const created = await shoal("service", "create", "-d", "--with-registry-auth", "--name", "priv", "--update-monitor", "0s", "--stop-grace-period", "0s", image);
    expect(created, created.stderr).toMatchObject({ code: 0, stderr: "" });
    await expect.poll(() => pulls().length, { timeout: 10_000 }).toBe(1);
    expect(pulls()[0]).toEqual({ username: "ci-bot", password: "cli-registry-pw", serveraddress: registry });
    const inspect = await shoal("service", "inspect", "priv");
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).not.toMatch(/cli-registry-pw|ci-bot/);

    // An update without the flag keeps them; with it (a new login) replaces them: the next task pulls with the new one.
    expect((await shoal("service", "update", "-q", "--env-add", "A=1", "priv")).code).toBe(0);
    const rotated = withDockerConfig(login("ci-bot", "rotated-pw"));
    c.agents[0]!.engine.images.clear();
    const update = await rotated("service", "update", "-d", "--with-registry-auth", "--env-add", "A=2", "priv");
    expect(update, update.stderr).toMatchObject({ code: 0 });
    await expect.poll(() => pulls().at(-1)?.password, { timeout: 20_000 }).toBe("rotated-pw");
  }, 30_000);

  it("stack deploy sends the logins of the registries its images come from", async () => {
    const dir = memoryDir("shoal-stack-");
    const file = join(dir, "stack.yml");
    writeFileSync(file, `services:\n  web:\n    image: ${registry}/acme/\${APP:-shop}:2\n`);
    const shoal = withDockerConfig(login("stack-bot", "stack-pw"));
    const before = pulls().length;
    const deploy = await shoal("stack", "deploy", "--with-registry-auth", "-c", file, "st");
    expect(deploy, deploy.stderr).toMatchObject({ code: 0, stderr: "" });
    await expect.poll(() => pulls().length, { timeout: 10_000 }).toBe(before + 1);
    expect(pulls().at(-1)).toEqual({ username: "stack-bot", password: "stack-pw", serveraddress: registry });
  });

  it("a login kept by a credential helper is a clear error, and nothing is created", async () => {
    for (const config of [{ credsStore: "desktop" }, { credHelpers: { [registry]: "ecr-login" }, auths: { [registry]: {} } }]) {
      const r = await withDockerConfig(config)("service", "create", "-d", "--with-registry-auth", "--name", "helper", image);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/--with-registry-auth: .*config\.json keeps the login of registry\.example:5000 in the credential helper docker-credential-(desktop \(credsStore\)|ecr-login \(credHelpers\)), which shoal's CLI does not run/);
    }
    expect((await c.shoal("service", "inspect", "helper")).code).not.toBe(0);
  });
});
