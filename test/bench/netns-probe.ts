/**
 * The network side of bench:e2e, run inside a network namespace (a host's, or a
 * container's: `nsenter --net=/proc/PID/ns/net`), so that what it measures takes
 * the path a process there takes. Prints one JSON line.
 *  - `dns NAME COUNT`: COUNT A queries for NAME to the resolver in the container's
 *    resolv.conf (Docker's 127.0.0.11), one after another; each one's ms and answer.
 *  - `load URL MS CONCURRENCY`: HTTP GETs for MS ms, each on a new connection
 *    (as a client without keep-alive): how many were answered, how many failed.
 *  - `watch URL MS CONCURRENCY CONNECT_MS`: the same, logging each request's
 *    start (epoch ms), whether it connected within CONNECT_MS, and its answer body
 *    or FAILED.
 */
import { createSocket } from "node:dgram";
import { request } from "node:http";
import dnsPacket from "dns-packet";

const [mode, target, a, b, c] = process.argv.slice(2);

/** A GET on a new connection: whether it connected within `connectMs` (a dead backend never does), and the body, or FAILED. */
function get(url: string, connectMs: number): Promise<{ connected: boolean; answer: string }> {
  return new Promise((resolve) => {
    let connected = false;
    const done = (answer: string) => resolve({ connected, answer });
    const req = request(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => done(res.statusCode === 200 ? body.trim() : "FAILED"));
      res.on("error", () => done("FAILED"));
    });
    req.on("socket", (socket) => {
      const timer = setTimeout(() => req.destroy(), connectMs);
      socket.once("connect", () => {
        connected = true;
        clearTimeout(timer);
      });
    });
    // A slow answer on a machine under load is not a failed backend: give a connected request 10 s.
    req.setTimeout(10_000, () => req.destroy());
    req.on("error", () => done("FAILED"));
    req.end();
  });
}

async function loops(concurrency: number, ms: number, one: () => Promise<void>): Promise<void> {
  const until = Date.now() + ms;
  process.stderr.write("started\n");
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) await one();
    }),
  );
}

function query(socket: ReturnType<typeof createSocket>, name: string, id: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer for ${name} within 5 s`)), 5000);
    const onMessage = (msg: Buffer) => {
      const answer = dnsPacket.decode(msg);
      if (answer.id !== id) return;
      clearTimeout(timer);
      socket.off("message", onMessage);
      resolve((answer.answers ?? []).flatMap((r) => (r.type === "A" ? [r.data] : [])));
    };
    socket.on("message", onMessage);
    socket.send(dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name }] }), 53, "127.0.0.11");
  });
}

if (mode === "dns") {
  const socket = createSocket("udp4");
  const out: { ms: number; ips: string[] }[] = [];
  for (let i = 0; i < Number(a); i++) {
    const start = performance.now();
    const ips = await query(socket, target!, (i % 65535) + 1);
    out.push({ ms: performance.now() - start, ips });
  }
  socket.close();
  console.log(JSON.stringify(out));
} else if (mode === "load") {
  let answered = 0;
  let failed = 0;
  await loops(Number(b), Number(a), async () => {
    if ((await get(target!, 2000)).answer === "FAILED") failed++;
    else answered++;
  });
  console.log(JSON.stringify({ answered, failed }));
} else if (mode === "watch") {
  const log: { at: number; connected: boolean; answer: string }[] = [];
  await loops(Number(b), Number(a), async () => {
    const at = Date.now();
    log.push({ at, ...(await get(target!, Number(c))) });
  });
  console.log(JSON.stringify(log));
} else throw new Error(`unknown mode ${mode}`);
