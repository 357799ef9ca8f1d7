import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";

/**
 * A receiver's verification, written from the Standard Webhooks spec with
 * node:crypto (not shoal's signer): the signed content is
 * `{webhook-id}.{webhook-timestamp}.{body}`, the timestamp within 5 minutes.
 */
export function verifyStandardWebhook(secret: string, headers: IncomingHttpHeaders, body: string, nowSec = Date.now() / 1000): boolean {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  const signatures = headers["webhook-signature"];
  if (typeof id !== "string" || typeof timestamp !== "string" || typeof signatures !== "string") return false;
  if (Math.abs(nowSec - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest();
  return signatures.split(" ").some((s) => {
    const [version, sig] = s.split(",");
    const given = Buffer.from(sig ?? "", "base64");
    return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/** A real HTTP server on loopback that records every request and answers each path with scripted statuses, then 200. */
export async function startReceiver() {
  const received: Received[] = [];
  const scripts = new Map<string, number[]>();
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => (body += d));
    req.on("end", () => {
      const path = req.url ?? "/";
      const status = scripts.get(path)?.shift() ?? 200;
      received.push({ path, headers: req.headers, body, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    received,
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    /** Answer the next requests to `path` with these statuses. */
    respond(path: string, statuses: number[]) {
      scripts.set(path, [...statuses]);
    },
    at: (path: string) => received.filter((r) => r.path === path),
    /** Polls until `check` holds (or throws with what was received). */
    async waitFor(check: () => boolean, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out; received: ${JSON.stringify(received.map((r) => [r.path, r.status, r.body.slice(0, 80)]))}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
