import { describe, expect, it } from "vitest";
import { SignJWT, UnsecuredJWT } from "jose";
import {
  nodeCredentialLifetimeMs,
  signApiToken,
  signJoinToken,
  signNodeCredential,
  verifyCredential,
} from "../../src/auth/credentials.js";
import { generateJwtSecret, importClusterKeys } from "../../src/auth/keys.js";

const now = Date.parse("2026-01-01T00:00:00Z");

describe("credentials", async () => {
  const keys = await importClusterKeys(generateJwtSecret());
  const other = await importClusterKeys(generateJwtSecret());

  it("round-trips each kind", async () => {
    expect(await verifyCredential(keys, "api", await signApiToken(keys, "tok_a", "read"), now)).toEqual({
      kind: "api",
      tokenId: "tok_a",
      scope: "read",
    });
    expect(await verifyCredential(keys, "join", await signJoinToken(keys, "manager", 3), now)).toEqual({
      kind: "join",
      role: "manager",
      generation: 3,
    });
    const node = await verifyCredential(keys, "node", await signNodeCredential(keys, "node_a", 2, now), now);
    expect(node).toMatchObject({ kind: "node", nodeId: "node_a", generation: 2 });
  });

  it("never accepts one kind as another", async () => {
    const api = await signApiToken(keys, "tok_a", "admin");
    const join = await signJoinToken(keys, "worker", 1);
    const node = await signNodeCredential(keys, "node_a", 1, now);
    expect(await verifyCredential(keys, "node", api, now)).toBeUndefined();
    expect(await verifyCredential(keys, "api", join, now)).toBeUndefined();
    expect(await verifyCredential(keys, "join", node, now)).toBeUndefined();
  });

  it("refuses another cluster's key, an unsigned token, another algorithm and an expired credential", async () => {
    expect(await verifyCredential(keys, "api", await signApiToken(other, "tok_a", "admin"), now)).toBeUndefined();
    const unsecured = new UnsecuredJWT({ scope: "admin" })
      .setIssuer(keys.clusterId)
      .setAudience("shoal:api")
      .setSubject("tok_root")
      .encode();
    expect(await verifyCredential(keys, "api", unsecured, now)).toBeUndefined();
    const hs512 = await new SignJWT({ scope: "admin" })
      .setProtectedHeader({ alg: "HS512", typ: "shoal-api+jwt" })
      .setIssuer(keys.clusterId)
      .setAudience("shoal:api")
      .setSubject("tok_root")
      .sign(keys.jwtKey);
    expect(await verifyCredential(keys, "api", hs512, now)).toBeUndefined();
    const node = await signNodeCredential(keys, "node_a", 1, now);
    expect(await verifyCredential(keys, "node", node, now + nodeCredentialLifetimeMs + 1000)).toBeUndefined();
  });

  it("is deterministic, so join tokens can be shown again without being stored", async () => {
    expect(await signJoinToken(keys, "worker", 7)).toBe(await signJoinToken(keys, "worker", 7));
    expect(await signJoinToken(keys, "worker", 7)).not.toBe(await signJoinToken(keys, "worker", 8));
  });
});
