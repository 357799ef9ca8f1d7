import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isCasFailure } from "../../src/db/cas.js";
import { getCluster, updateClusterSettings } from "../../src/db/cluster.js";
import { deleteNode, getNode, markNodeDown, updateNodeSpec } from "../../src/db/nodes.js";
import { getWebhook, updateWebhook } from "../../src/db/webhooks.js";
import { createTestApp, joinNode, type TestApp } from "../helpers/app.js";

// src/db/cas.ts: a data function whose compare-and-set lost throws a CAS
// failure and writes nothing, whether it guards a batch or a lone statement.

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(() => t.close());

async function expectLost(write: Promise<unknown>) {
  const err = await write.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "the write should have lost its compare-and-set").toBeDefined();
  expect(isCasFailure(err)).toBe(true);
}

describe("a lost compare-and-set throws", () => {
  it("node update with a stale version, removal of a ready node, marking down a node whose lease holds", async () => {
    const { id } = await joinNode(t);
    const node = (await getNode(t.db, id))!;
    const now = t.clock.now();
    await expectLost(updateNodeSpec(t.db, t.keys.clusterId, id, node.version + 1, { availability: "drain" }, now));
    await expectLost(deleteNode(t.db, t.keys.clusterId, node, false, now));
    await expectLost(markNodeDown(t.db, t.keys.clusterId, node, now, "heartbeat failure"));
    expect(await getNode(t.db, id)).toEqual(node);
  });

  it("cluster settings and a webhook with a stale version (lone statements)", async () => {
    const cluster = (await getCluster(t.db, t.keys.clusterId))!;
    await expectLost(updateClusterSettings(t.db, cluster.id, cluster.version + 1, { heartbeatPeriodMs: 7_000 }, t.clock.now()));
    expect(await getCluster(t.db, cluster.id)).toEqual(cluster);
    const created = await t.call("POST", "/v1/webhooks", { token: t.tokens.admin, body: { url: "https://hooks.example.com/cas" } });
    const webhook = (await getWebhook(t.db, created.body.id))!;
    await expectLost(updateWebhook(t.db, webhook.id, webhook.version + 1, { name: "other" }, t.clock.now()));
    expect(await getWebhook(t.db, webhook.id)).toEqual(webhook);
  });
});
