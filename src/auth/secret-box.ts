import { base64url } from "jose";
import type { RegistryAuth } from "../domain/registry-auth.js";
import type { ClusterKeys } from "./keys.js";

/**
 * Values the control plane must read back (webhook signing secrets, the data
 * of swarm secrets, services' registry credentials) are stored encrypted (AES-256-GCM) under keys derived from
 * the cluster key by HKDF, one per purpose, never in plain text. The cluster
 * key is the one the runtime loads (Node: the key file in the state dir, mode
 * 0600, made on first start; Workers: the SHOAL_JWT_KEY secret), so a stolen
 * database without it reveals none.
 */

type AesKey = Awaited<ReturnType<typeof crypto.subtle.deriveKey>>;
export type SealPurpose = "shoal webhook secrets" | "shoal swarm secrets" | "shoal registry credentials";
const derived = new WeakMap<ClusterKeys, Map<SealPurpose, Promise<AesKey>>>();

function sealingKey(keys: ClusterKeys, purpose: SealPurpose): Promise<AesKey> {
  let byPurpose = derived.get(keys);
  if (!byPurpose) derived.set(keys, (byPurpose = new Map()));
  let key = byPurpose.get(purpose);
  if (!key) {
    key = crypto.subtle
      .importKey("raw", keys.jwtKey, "HKDF", false, ["deriveKey"])
      .then((base) =>
        crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(), info: new TextEncoder().encode(purpose) },
          base,
          { name: "AES-GCM", length: 256 },
          false,
          ["encrypt", "decrypt"],
        ),
      );
    byPurpose.set(purpose, key);
  }
  return key;
}

/** `iv.ciphertext` in base64url; `boundTo` (the owning row's id) is the associated data, so rows cannot swap values. */
export async function sealBytes(keys: ClusterKeys, purpose: SealPurpose, boundTo: string, plain: Uint8Array): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = new TextEncoder().encode(boundTo);
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: data }, await sealingKey(keys, purpose), plain);
  return `${base64url.encode(iv)}.${base64url.encode(new Uint8Array(sealed))}`;
}

export async function openBytes(keys: ClusterKeys, purpose: SealPurpose, boundTo: string, sealed: string): Promise<Uint8Array> {
  const [iv, ciphertext] = sealed.split(".");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: base64url.decode(iv ?? ""), additionalData: new TextEncoder().encode(boundTo) },
    await sealingKey(keys, purpose),
    base64url.decode(ciphertext ?? ""),
  );
  return new Uint8Array(plain);
}

/** A webhook's signing secret, bound to the webhook id. */
export const sealSecret = (keys: ClusterKeys, webhookId: string, secret: string) =>
  sealBytes(keys, "shoal webhook secrets", webhookId, new TextEncoder().encode(secret));

export const openSecret = async (keys: ClusterKeys, webhookId: string, sealed: string) =>
  new TextDecoder().decode(await openBytes(keys, "shoal webhook secrets", webhookId, sealed));

/** A service's registry credentials (docker service create --with-registry-auth), bound to the service id. */
export const sealRegistryAuth = (keys: ClusterKeys, serviceId: string, auth: RegistryAuth) =>
  sealBytes(keys, "shoal registry credentials", serviceId, new TextEncoder().encode(JSON.stringify(auth)));

export const openRegistryAuth = async (keys: ClusterKeys, serviceId: string, sealed: string): Promise<RegistryAuth> =>
  JSON.parse(new TextDecoder().decode(await openBytes(keys, "shoal registry credentials", serviceId, sealed))) as RegistryAuth;
