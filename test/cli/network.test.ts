import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShoal } from "./harness.js";
import { expectTable, startCliCluster, type CliCluster } from "./harness.js";

let c: CliCluster;
beforeAll(async () => {
  c = await startCliCluster(["host-1"]);
});
afterAll(() => c?.stop());

describe("shoal network", () => {
  it("create prints the id; ls shows docker's columns; -q, --filter, --format, --no-trunc", async () => {
    const id = (await c.ok("network", "create", "-d", "overlay", "--subnet", "10.9.0.0/24", "--gateway", "10.9.0.254", "--attachable", "--internal", "--label", "team=a", "-o", "com.docker.network.driver.mtu=1400", "front")).trim();
    expect(id).toMatch(/^net_[a-v0-9]{20}$/);
    await c.ok("network", "create", "back");
    const rows = expectTable(await c.ok("network", "ls"), "NETWORK ID     NAME      DRIVER    SCOPE", ["NETWORK ID", "NAME", "DRIVER", "SCOPE"]);
    expect(rows.map((r) => r.slice(1))).toEqual([
      ["back", "overlay", "swarm"],
      ["front", "overlay", "swarm"],
      ["ingress", "overlay", "swarm"],
    ]);
    expect(rows[1]![0]).toBe(id.slice(0, 12));
    expect(await c.ok("network", "ls", "-q", "--no-trunc", "--filter", "label=team=a")).toBe(`${id}\n`);
    expect(await c.ok("network", "ls", "--filter", "type=custom", "--format", "{{.Name}} {{.Driver}} {{.Internal}}")).toBe("back overlay false\nfront overlay true\n");
    const [inspected] = JSON.parse(await c.ok("network", "inspect", "front"));
    expect(inspected).toMatchObject({ id, subnet: "10.9.0.0/24", gateway: "10.9.0.254", mtu: 1400, internal: true, attachable: true, labels: { team: "a" } });
    expect(await c.ok("network", "inspect", "-f", "{{.subnet}}", "back")).toBe("10.0.1.0/24\n");
  });

  it("bad input and --opt encrypted without WireGuard fail with the API's words", async () => {
    const encrypted = await c.shoal("network", "create", "--opt", "encrypted", "secret");
    expect(encrypted.code).toBe(1);
    expect(encrypted.stderr).toMatch(/no ready node can do WireGuard/);
    const overlap = await c.shoal("network", "create", "--subnet", "10.0.0.0/8", "wide");
    expect(overlap.code).toBe(1);
    expect(overlap.stderr).toMatch(/overlaps network/);
    expect((await c.shoal("network", "ls", "--filter", "color=red")).stderr).toMatch(/invalid filter 'color'/);
  });

  it("services attach with --network (long syntax too), update --network-add/--network-rm; rm waits for them; prune", async () => {
    await c.ok("network", "create", "app");
    await c.ok("service", "create", "-d", "--name", "api", "--network", "name=app,alias=backend", "busybox:1");
    const net = JSON.parse(await c.ok("network", "inspect", "app"))[0];
    expect(JSON.parse(await c.ok("service", "inspect", "api"))[0].spec.task.networks).toEqual([{ target: net.id, aliases: ["backend"] }]);
    const unknown = await c.shoal("service", "create", "-d", "--name", "x", "--network", "nope", "busybox:1");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/network nope not found/);
    const busy = await c.shoal("network", "rm", "app");
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/network app is in use by service api/);
    await c.ok("service", "update", "-d", "--network-add", "back", "--network-rm", "app", "api");
    const back = JSON.parse(await c.ok("network", "inspect", "back"))[0];
    expect(JSON.parse(await c.ok("service", "inspect", "api"))[0].spec.task.networks).toEqual([{ target: back.id, aliases: [] }]);
    expect(await c.ok("network", "rm", "app")).toBe("app\n");
    const declined = await runShoal(["network", "prune"], { SHOAL_CONFIG: c.configPath }, "n\n");
    expect(declined.stdout).toMatch(/WARNING! This will remove all custom networks/);
    expect((await c.ok("network", "ls", "-q")).split("\n").filter(Boolean)).toHaveLength(3);
    expect(await c.ok("network", "prune", "-f")).toBe("Deleted Networks:\nfront\n");
    expect(await c.ok("network", "ls", "--format", "{{.Name}}")).toBe("back\ningress\n");
  });
});
