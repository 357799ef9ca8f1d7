import { base64url } from "jose";

/**
 * The cluster's signing key and the identity derived from it. Node generates the
 * secret on first start; Workers get it as the SHOAL_JWT_KEY secret.
 */
export interface ClusterKeys {
  /** HS256 key signing every credential the control plane issues. */
  jwtKey: Uint8Array;
  /** Derived from the key, so a Worker and the tool that made its secret agree on it. */
  clusterId: string;
}

const minKeyBytes = 32;

export function generateJwtSecret(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(minKeyBytes)));
}

export async function importClusterKeys(secret: string): Promise<ClusterKeys> {
  let jwtKey: Uint8Array;
  try {
    jwtKey = base64url.decode(secret.trim());
  } catch {
    throw new Error("the JWT key is not base64url");
  }
  if (jwtKey.length < minKeyBytes) throw new Error(`the JWT key must hold at least ${minKeyBytes} bytes`);
  const label = new TextEncoder().encode("shoal cluster id");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array([...label, ...jwtKey])));
  const clusterId = `clu_${base64url.encode(digest).replace(/[-_]/g, "").slice(0, 20).toLowerCase()}`;
  return { jwtKey, clusterId };
}
