import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateJwtSecret, importClusterKeys } from "../../src/auth/keys.js";
import { rootAdminToken } from "../../src/bootstrap.js";
import { HttpJsonClient } from "../../src/protocol/http-client.js";
import { nodeDescription } from "../helpers/app.js";
import { startNodeServer, type Started } from "../helpers/processes.js";
import { memoryDir } from "../helpers/temp.js";
import { startReceiver, verifyStandardWebhook } from "../helpers/webhook-receiver.js";

/**
 * Outbound webhooks from a real control plane process to a real receiver:
 * signatures verify, failures are retried on the (shortened) schedule with
 * the same webhook-id, 410 disables, a loopback name gets nothing, and a
 * pending retry survives a restart without being sent twice.
 */

const jwtKey = generateJwtSecret();
const stateDir = memoryDir("shoal-webhooks-");
// Jitter keeps each retry within 10 % of 2 s: long enough to stop the server between two attempts.
const env = { SHOAL_WEBHOOK_RETRY_MS: "2000,2000", SHOAL_WEBHOOK_TIMEOUT_MS: "2000" };
let server: Started;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let token = "";

const call = (method: string, path: string, body?: unknown, bearer = token): Promise<any> =>
  new HttpJsonClient({ url: server.url, token: bearer }).call(method, path, { body });
const join = async (hostname: string) =>
  call("POST", "/v1/agent/join", { description: nodeDescription({ hostname }) }, (await call("GET", "/v1/swarm/join-tokens")).worker);
const subscribe = (path: string, events: string[], extra: Record<string, unknown> = { allowPrivate: true }) =>
  call("POST", "/v1/webhooks", { url: receiver.url(path), events, ...extra });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  receiver = await startReceiver();
  server = await startNodeServer({ stateDir, jwtKey, env });
  token = await rootAdminToken(await importClusterKeys(jwtKey));
});
afterAll(async () => {
  await server?.stop();
  await receiver?.close();
});

describe("webhooks from a real control plane", () => {
  it("delivers signed events, retries after failures, disables on 410, refuses a loopback name", async () => {
    receiver.respond("/flaky", [500]);
    receiver.respond("/gone", [410]);
    const all = await subscribe("/all", []);
    const flaky = await subscribe("/flaky", ["node.join"]);
    const gone = await subscribe("/gone", ["node.*"]);
    const forbidden = await call("POST", "/v1/webhooks", { url: `http://localhost:${receiver.port}/forbidden` });

    await join("host-a");
    await call("POST", "/v1/services", { name: "web", task: { container: { image: "busybox:1" } } });

    await receiver.waitFor(() => receiver.at("/all").length >= 4 && receiver.at("/flaky").length >= 2 && receiver.at("/gone").length >= 1);
    const all4 = receiver.at("/all");
    expect(all4.map((r) => JSON.parse(r.body).type).sort()).toEqual(["node.join", "node.ready", "service.create", "task.create"]);
    for (const r of all4) {
      expect(verifyStandardWebhook(all.secret, r.headers, r.body)).toBe(true);
      expect(r.headers["content-type"]).toBe("application/json");
    }
    // A tampered body or another subscription's secret does not verify.
    expect(verifyStandardWebhook(all.secret, all4[0]!.headers, `${all4[0]!.body} `)).toBe(false);
    expect(verifyStandardWebhook(flaky.secret, all4[0]!.headers, all4[0]!.body)).toBe(false);

    const attempts = receiver.at("/flaky");
    expect(attempts.map((r) => r.status)).toEqual([500, 200]);
    expect(attempts[0]!.headers["webhook-id"]).toBe(attempts[1]!.headers["webhook-id"]);
    expect(Number(attempts[1]!.headers["webhook-timestamp"])).toBeGreaterThan(Number(attempts[0]!.headers["webhook-timestamp"]));
    for (const r of attempts) expect(verifyStandardWebhook(flaky.secret, r.headers, r.body)).toBe(true);

    expect(await call("GET", `/v1/webhooks/${gone.id}`)).toMatchObject({ state: "disabled", disabledReason: "the endpoint answered 410 Gone" });
    expect(receiver.at("/gone")).toHaveLength(1);

    await join("host-b");
    await receiver.waitFor(() => receiver.at("/all").length >= 6);
    await sleep(500);
    expect(receiver.at("/gone")).toHaveLength(1);
    expect(receiver.at("/forbidden")).toEqual([]);
    const log = await call("GET", `/v1/webhooks/${forbidden.id}/deliveries`);
    expect(log.length).toBeGreaterThan(0);
    for (const d of log) {
      expect(d.lastStatus).toBeNull();
      expect(d.lastError).toMatch(/^refused: localhost resolves to .*loopback address$/);
    }
  });

  it("a pending retry survives a restart and is sent once more, not twice", async () => {
    receiver.respond("/restart", [500]);
    const hook = await subscribe("/restart", ["node.join"]);
    await join("host-c");
    await receiver.waitFor(() => receiver.at("/restart").length === 1);
    await server.stop();
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();

    server = await startNodeServer({ stateDir, jwtKey, env });
    await receiver.waitFor(() => receiver.at("/restart").length === 2);
    await sleep(1500);
    const [first, second] = receiver.at("/restart");
    expect(receiver.at("/restart")).toHaveLength(2);
    expect([first!.status, second!.status]).toEqual([500, 200]);
    expect(second!.headers["webhook-id"]).toBe(first!.headers["webhook-id"]);
    expect(verifyStandardWebhook(hook.secret, second!.headers, second!.body)).toBe(true);
    expect((await call("GET", `/v1/webhooks/${hook.id}/deliveries`))[0]).toMatchObject({ state: "succeeded", attempts: 2, lastStatus: 200 });
  });
});
