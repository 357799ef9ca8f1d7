/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256
 * over `{webhook-id}.{webhook-timestamp}.{body}` with a `whsec_` secret, sent
 * as `v1,<base64>`. WebCrypto only, so Node and Workers sign alike.
 */

const secretPrefix = "whsec_";
/** The spec asks for 24 to 64 random bytes. */
const minSecretBytes = 24;
const maxSecretBytes = 64;

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

function fromBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  try {
    return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** A new secret: `whsec_` and 32 random bytes in base64. */
export const generateWebhookSecret = () => `${secretPrefix}${toBase64(crypto.getRandomValues(new Uint8Array(32)))}`;

/** The key bytes of a `whsec_` secret; undefined when it is not one (bad prefix, base64 or length). */
export function decodeWebhookSecret(secret: string): Uint8Array | undefined {
  if (!secret.startsWith(secretPrefix)) return undefined;
  const key = fromBase64(secret.slice(secretPrefix.length));
  return key && key.length >= minSecretBytes && key.length <= maxSecretBytes ? key : undefined;
}

export const webhookSecretRule = `"${secretPrefix}" and the base64 of ${minSecretBytes} to ${maxSecretBytes} random bytes`;

/** The three Standard Webhooks headers for one attempt (the timestamp is the attempt's, in Unix seconds). */
export async function signWebhook(
  secret: string,
  msgId: string,
  timestampSec: number,
  body: string,
): Promise<{ "webhook-id": string; "webhook-timestamp": string; "webhook-signature": string }> {
  const key = decodeWebhookSecret(secret);
  if (!key) throw new Error("not a webhook secret");
  const hmacKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", hmacKey, new TextEncoder().encode(`${msgId}.${timestampSec}.${body}`));
  return {
    "webhook-id": msgId,
    "webhook-timestamp": String(timestampSec),
    "webhook-signature": `v1,${toBase64(new Uint8Array(mac))}`,
  };
}
