import { base64url } from "jose";
import type { ClusterKeys } from "../auth/keys.js";

/**
 * Webhook signing secrets must be read back to sign, so they are stored
 * encrypted (AES-256-GCM) under a key derived from the cluster key by HKDF,
 * never in plain text. A stolen database without the cluster key reveals none.
 */

type AesKey = Awaited<ReturnType<typeof crypto.subtle.deriveKey>>;
const derived = new WeakMap<ClusterKeys, Promise<AesKey>>();

function sealingKey(keys: ClusterKeys): Promise<AesKey> {
  let key = derived.get(keys);
  if (!key) {
    key = crypto.subtle
      .importKey("raw", keys.jwtKey, "HKDF", false, ["deriveKey"])
      .then((base) =>
        crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(), info: new TextEncoder().encode("shoal webhook secrets") },
          base,
          { name: "AES-GCM", length: 256 },
          false,
          ["encrypt", "decrypt"],
        ),
      );
    derived.set(keys, key);
  }
  return key;
}

/** `iv.ciphertext` in base64url; the webhook id is bound in as associated data, so rows cannot swap secrets. */
export async function sealSecret(keys: ClusterKeys, webhookId: string, secret: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = new TextEncoder().encode(webhookId);
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: data }, await sealingKey(keys), new TextEncoder().encode(secret));
  return `${base64url.encode(iv)}.${base64url.encode(new Uint8Array(sealed))}`;
}

export async function openSecret(keys: ClusterKeys, webhookId: string, sealed: string): Promise<string> {
  const [iv, ciphertext] = sealed.split(".");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: base64url.decode(iv ?? ""), additionalData: new TextEncoder().encode(webhookId) },
    await sealingKey(keys),
    base64url.decode(ciphertext ?? ""),
  );
  return new TextDecoder().decode(plain);
}
