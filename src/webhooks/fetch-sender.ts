import { checkWebhookUrl, isLocalName } from "./address-guard.js";
import type { WebhookSender } from "./deliver.js";
import { parseRetryAfter } from "./retry-schedule.js";

/**
 * The Workers sender: fetch, without following redirects. Workers cannot
 * resolve a name before connecting, so the SSRF guard checks literal
 * addresses and refuses local names (localhost, *.local, *.internal, …);
 * a Worker's fetch leaves from Cloudflare's network, which does not reach
 * the deployment's private networks or loopback anyway.
 */
export const fetchSender: WebhookSender = {
  async send({ url, headers, body, allowPrivate, timeoutMs }) {
    const refused = checkWebhookUrl(url, allowPrivate);
    if (refused) return { error: `refused: ${refused}` };
    const { hostname } = new URL(url);
    if (!allowPrivate && isLocalName(hostname)) return { error: `refused: ${hostname} is a local name; set allowPrivate to send there` };
    try {
      const res = await fetch(url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel();
      return { status: res.status, retryAfterMs: parseRetryAfter(res.headers.get("retry-after"), Date.now()) };
    } catch (err) {
      const e = err as Error;
      return { error: e.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : e.message };
    }
  },
};
