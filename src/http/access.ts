import type { MiddlewareHandler } from "hono";
import { claimedKind, verifyCredential, type Credential } from "../auth/credentials.js";
import { getCluster, type ClusterRow } from "../db/cluster.js";
import { getNode, type NodeRow } from "../db/nodes.js";
import { getApiToken } from "../db/tokens.js";
import type { AppDeps, AppEnv } from "./context.js";
import { ApiError } from "./errors.js";

/** Who may call a route: API tokens (read or admin scope), a node's credential, or a join token. */
export type Access = "read" | "admin" | "node" | "join";

const needs: Record<Access, string> = {
  read: "an API token",
  admin: "an admin API token",
  node: "a node credential",
  join: "a join token",
};

function allows(access: Access, credential: Credential): boolean {
  switch (access) {
    case "read":
      return credential.kind === "api";
    case "admin":
      return credential.kind === "api" && credential.scope === "admin";
    case "node":
    case "join":
      return credential.kind === access;
  }
}

function describe(credential: Credential): string {
  switch (credential.kind) {
    case "api":
      return credential.scope === "admin" ? "an admin API token" : "a read-only API token";
    case "node":
      return "a node credential";
    case "join":
      return `a ${credential.role} join token`;
  }
}

export async function requireCluster(deps: AppDeps): Promise<ClusterRow> {
  const cluster = await getCluster(deps.db, deps.keys.clusterId);
  if (!cluster) throw new Error(`cluster ${deps.keys.clusterId} is not bootstrapped`);
  return cluster;
}

/** Checks revocation, which a signature cannot: the token row, the node's or the join token's generation. */
async function isRevoked(
  deps: AppDeps,
  cluster: ClusterRow,
  credential: Credential,
): Promise<{ revoked: boolean; node?: NodeRow }> {
  switch (credential.kind) {
    case "api": {
      const row = await getApiToken(deps.db, credential.tokenId);
      return { revoked: row?.scope !== credential.scope };
    }
    case "node": {
      const node = await getNode(deps.db, credential.nodeId);
      return { revoked: node?.credentialGeneration !== credential.generation, node };
    }
    case "join": {
      const current = credential.role === "worker" ? cluster.workerJoinGeneration : cluster.managerJoinGeneration;
      return { revoked: credential.generation !== current };
    }
  }
}

/**
 * Authenticates the bearer credential and refuses kinds the route does not
 * take; nothing else (the pipeline step after it reconciles: pipeline.ts).
 */
export function access(deps: AppDeps, level: Access): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "");
    if (!match) throw new ApiError("unauthorized", `missing credential: send "Authorization: Bearer <token>" with ${needs[level]}`);
    const token = match[1]!;
    const now = deps.clock.now();
    const kind = claimedKind(token);
    const credential = kind && (await verifyCredential(deps.keys, kind, token, now));
    if (!credential) throw new ApiError("unauthorized", "invalid or expired credential");
    if (credential.kind === "node") deps.nodeCalledIn?.(credential.nodeId, now);
    const cluster = await requireCluster(deps);
    const { revoked, node } = await isRevoked(deps, cluster, credential);
    if (revoked) throw new ApiError("unauthorized", `revoked credential: ${describe(credential)} that was revoked or rotated`);
    if (!allows(level, credential))
      throw new ApiError("forbidden", `this route needs ${needs[level]}; ${describe(credential)} was given`);
    c.set("credential", credential);
    c.set("cluster", cluster);
    c.set("node", node);
    c.set("now", now);
    await next();
  };
}
