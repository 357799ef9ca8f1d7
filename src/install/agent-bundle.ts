import { sha256Hex } from "../auth/sha256.js";

/** A bundle served as one text file (the agent, the web view) and its SHA-256 (install.sh checks the agent's; it is the ETag). */
export interface TextBundle {
  text: string;
  sha256: string;
}

/**
 * Wraps a loader of the bundle's text so that it runs once per process (or isolate);
 * a failed load is retried on the next call. Undefined: this deployment has no bundle.
 */
export function cachedBundle(load: () => Promise<string | undefined>): () => Promise<TextBundle | undefined> {
  let pending: Promise<TextBundle | undefined> | undefined;
  return () => {
    pending ??= load()
      .then(async (text) => (text === undefined ? undefined : { text, sha256: await sha256Hex(text) }))
      .catch((err) => {
        pending = undefined;
        throw err;
      });
    return pending;
  };
}
