import { openBytes } from "../auth/secret-box.js";
import type { FileObjectRow } from "../db/file-objects.js";
import type { AppDeps } from "./context.js";
import { invalidField } from "./errors.js";

/**
 * A secret's or config's bytes as stored and as sent: the API's file-object
 * writes and the dispatcher's assignments (a task's files) read them here.
 */

const canonicalBase64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function decodeBase64(data: string, path = "body.data"): Uint8Array {
  if (!canonicalBase64.test(data)) throw invalidField(path, "data must be base64 (A–Z, a–z, 0–9, '+', '/', padded with '=')");
  const text = atob(data);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

export function encodeBase64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

/** The plain bytes of a secret or config: for a task's assignment and for stacks comparing a file with what is stored. */
export async function readFileObject(deps: Pick<AppDeps, "keys">, row: FileObjectRow): Promise<Uint8Array> {
  return row.kind === "secret" ? openBytes(deps.keys, "shoal swarm secrets", row.id, row.data) : decodeBase64(row.data);
}
