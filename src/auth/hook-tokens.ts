import { sha256Hex } from "./sha256.js";

/**
 * Webhook trigger tokens: 256 random bits, so a plain SHA-256 is enough to store
 * them (no guessing, no dictionary). crypto.subtle works on Node and Workers.
 */
const prefix = "shk_";

export function newHookToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return prefix + btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** What the store keeps of a token, and what a presented token is looked up by. */
export const hashHookToken = (token: string) => sha256Hex(token);
