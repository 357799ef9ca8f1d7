import { lookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from "node:dns";
import http from "node:http";
import https from "node:https";
import { checkWebhookUrl, classifyAddress } from "./address-guard.js";
import type { WebhookSender } from "./deliver.js";
import { parseRetryAfter } from "./retry-schedule.js";

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * Resolves like dns.lookup, but fails when any address the name has is in a
 * refused range. The socket connects to exactly the addresses checked here,
 * so a name cannot resolve to a public address for the check and a private
 * one for the connection (DNS rebinding).
 */
function guardedLookup(hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback): void {
  lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const refused = addresses.find((a) => classifyAddress(a.address).reason);
    if (refused)
      return callback(
        Object.assign(new Error(`refused: ${hostname} resolves to ${refused.address}, a ${classifyAddress(refused.address).reason} address`), { code: "EREFUSEDADDR" }),
        [],
      );
    if (options.all) return callback(null, addresses);
    const first = addresses[0]!;
    callback(null, first.address, first.family);
  });
}

/**
 * Node's sender: node:http(s) with the SSRF guard on the literal address and
 * on every resolved one (unless the subscription allows private targets). A
 * fresh connection per attempt, so no pooled socket skips the check; no redirects.
 */
export const nodeSender: WebhookSender = {
  send: ({ url, headers, body, allowPrivate, timeoutMs }) =>
    new Promise((resolve) => {
      const refused = checkWebhookUrl(url, allowPrivate);
      if (refused) return resolve({ error: `refused: ${refused}` });
      const target = new URL(url);
      const req = (target.protocol === "https:" ? https : http).request(target, {
        method: "POST",
        headers: { ...headers, "content-length": Buffer.byteLength(body) },
        agent: false,
        signal: AbortSignal.timeout(timeoutMs),
        ...(allowPrivate ? {} : { lookup: guardedLookup }),
      });
      req.on("response", (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, retryAfterMs: parseRetryAfter(res.headers["retry-after"], Date.now()) });
      });
      req.on("error", (err) => resolve({ error: err.name === "AbortError" ? `no answer within ${timeoutMs} ms` : err.message }));
      req.end(body);
    }),
};
