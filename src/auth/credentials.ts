import { SignJWT, decodeProtectedHeader, jwtVerify } from "jose";
import type { NodeRole } from "../domain/node.js";
import type { ApiTokenScope } from "../db/schema/index.js";
import type { ClusterKeys } from "./keys.js";

/**
 * The credential kinds. Each has its own audience and JOSE `typ`, both checked on
 * verification, so a credential of one kind never passes as another.
 */
export const credentialKinds = {
  api: { audience: "shoal:api", typ: "shoal-api+jwt" },
  node: { audience: "shoal:node", typ: "shoal-node+jwt" },
  join: { audience: "shoal:join", typ: "shoal-join+jwt" },
} as const;
export type CredentialKind = keyof typeof credentialKinds;

const algorithm = "HS256";

/** Node credentials expire; agents get a fresh one on a heartbeat in the second half of its life. */
export const nodeCredentialLifetimeMs = 30 * 24 * 3600 * 1000;

export type Credential =
  | { kind: "api"; tokenId: string; scope: ApiTokenScope }
  | { kind: "node"; nodeId: string; generation: number; expiresAt: number }
  | { kind: "join"; role: NodeRole; generation: number };

async function sign(
  keys: ClusterKeys,
  kind: CredentialKind,
  subject: string,
  claims: Record<string, unknown>,
  expiresAtMs?: number,
): Promise<string> {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: algorithm, typ: credentialKinds[kind].typ })
    .setIssuer(keys.clusterId)
    .setAudience(credentialKinds[kind].audience)
    .setSubject(subject);
  if (expiresAtMs !== undefined) jwt.setExpirationTime(Math.floor(expiresAtMs / 1000));
  return jwt.sign(keys.jwtKey);
}

/** Tokens carry no issue time, so the same row always yields the same token (HMAC is deterministic). */
export const signApiToken = (keys: ClusterKeys, tokenId: string, scope: ApiTokenScope) =>
  sign(keys, "api", tokenId, { scope });

export const signJoinToken = (keys: ClusterKeys, role: NodeRole, generation: number) =>
  sign(keys, "join", `join:${role}`, { role, gen: generation });

export const signNodeCredential = (keys: ClusterKeys, nodeId: string, generation: number, nowMs: number) =>
  sign(keys, "node", nodeId, { gen: generation }, nowMs + nodeCredentialLifetimeMs);

/** The kind a token claims to be (unverified): only used to pick how to verify it. */
export function claimedKind(token: string): CredentialKind | undefined {
  try {
    const { typ } = decodeProtectedHeader(token);
    return (Object.keys(credentialKinds) as CredentialKind[]).find((k) => credentialKinds[k].typ === typ);
  } catch {
    return undefined;
  }
}

/**
 * Verifies signature, algorithm, issuer, audience, typ and expiry. Returns the
 * credential, or undefined when any check fails. Revocation (the token row,
 * the node's or the join token's generation) is the caller's to check.
 */
export async function verifyCredential(
  keys: ClusterKeys,
  kind: CredentialKind,
  token: string,
  nowMs: number,
): Promise<Credential | undefined> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, keys.jwtKey, {
      algorithms: [algorithm],
      issuer: keys.clusterId,
      audience: credentialKinds[kind].audience,
      typ: credentialKinds[kind].typ,
      currentDate: new Date(nowMs),
      requiredClaims: kind === "node" ? ["sub", "exp"] : ["sub"],
    }));
  } catch {
    return undefined;
  }
  const sub = payload.sub as string;
  const gen = payload.gen;
  switch (kind) {
    case "api":
      return payload.scope === "admin" || payload.scope === "read"
        ? { kind, tokenId: sub, scope: payload.scope }
        : undefined;
    case "node":
      return Number.isInteger(gen) ? { kind, nodeId: sub, generation: gen as number, expiresAt: payload.exp! * 1000 } : undefined;
    case "join":
      return (payload.role === "worker" || payload.role === "manager") && Number.isInteger(gen)
        ? { kind, role: payload.role, generation: gen as number }
        : undefined;
  }
}
