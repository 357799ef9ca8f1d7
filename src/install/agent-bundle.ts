import { sha256Hex } from "../auth/sha256.js";

/** The agent bundle (agent/dist/shoal-agent.mjs) and its SHA-256, which install.sh checks. */
export interface AgentBundle {
  text: string;
  sha256: string;
}

/**
 * Wraps a loader of the bundle's text so that it runs once per process (or isolate);
 * a failed load is retried on the next call. Undefined: this deployment has no bundle.
 */
export function cachedAgentBundle(load: () => Promise<string | undefined>): () => Promise<AgentBundle | undefined> {
  let pending: Promise<AgentBundle | undefined> | undefined;
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
