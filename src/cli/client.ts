import { readFileSync } from "node:fs";
import { ApiCallError, HttpJsonClient } from "../protocol/http-client.js";
import type { Target } from "./config.js";

/** The CLI's one way to call the API: the shared bearer-token JSON client, aimed at the configured target. */
export class ApiClient extends HttpJsonClient {
  constructor(readonly target: Target) {
    super({
      url: target.url,
      token: target.token,
      ca: target.caFile ? readFileSync(target.caFile) : undefined,
      idleTimeoutMs: 30_000,
      serverName: "the shoal API",
    });
  }
}

/**
 * Runs a read-then-write (the write carries the version read); when someone
 * else changed the object in between (409 version_conflict), reads and writes again.
 */
export async function retryOnStaleVersion<T>(readAndWrite: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readAndWrite();
    } catch (err) {
      if (!(err instanceof ApiCallError && err.code === "version_conflict" && attempt < attempts)) throw err;
    }
  }
}
