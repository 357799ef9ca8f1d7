import { createSocket, type Socket } from "node:dgram";
import { createServer, connect, type Server } from "node:net";
import dnsPacket from "dns-packet";
import type { NetworkDocument } from "../../../src/protocol/agent-v1.js";
import type { Logger } from "../log.js";

/** TTLs: short, so that answers follow the cluster (Swarm's blanket 600 s is behind its stale-answer complaints). */
export const vipTtlSeconds = 30;
export const taskTtlSeconds = 5;
/** Each upstream gets this long before the next is tried. */
const upstreamTimeoutMs = 2000;
const udpAnswerLimit = 512;

interface Record {
  ips: string[];
  ttl: number;
}

/** Names per network, and which networks a source address may see. Built from the document and the local tasks; pure. */
export interface DnsView {
  /** network id → lowercase name → addresses. */
  names: Map<string, Map<string, Record>>;
  /** This host's node IP on each network → the network. */
  nodeIps: Map<string, string>;
  /** A local task's address → every network that task is on. */
  sources: Map<string, string[]>;
}

/** The local tasks' addresses, as their assignments give them. */
export type LocalAttachments = { networkId: string; ip: string }[][];

const norm = (name: string) => name.toLowerCase().replace(/\.$/, "");

/**
 * What each network's DNS answers, as Swarm does: a service's name and aliases
 * give its VIP (dnsrr: its running tasks' addresses), `tasks.<name>` the
 * running tasks' addresses, `<service>.<slot>.<task id>` that task's address.
 */
export function buildDnsView(doc: NetworkDocument, local: LocalAttachments): DnsView {
  const names = new Map<string, Map<string, Record>>();
  const nodeIps = new Map<string, string>();
  for (const n of doc.networks) {
    nodeIps.set(n.nodeIp, n.id);
    const table = new Map<string, Record>();
    const add = (name: string, r: Record) => {
      const key = norm(name);
      const had = table.get(key);
      table.set(key, had ? { ips: [...new Set([...had.ips, ...r.ips])], ttl: Math.min(had.ttl, r.ttl) } : r);
    };
    for (const s of n.services) {
      const tasks = { ips: [...new Set(s.endpoints.map((e) => e.ip))].sort(), ttl: taskTtlSeconds };
      for (const name of [s.name, ...s.aliases]) {
        add(name, s.endpointMode === "vip" && s.vip ? { ips: [s.vip], ttl: vipTtlSeconds } : tasks);
        add(`tasks.${name}`, tasks);
      }
      for (const e of s.endpoints) add(e.dnsName, { ips: [e.ip], ttl: taskTtlSeconds });
    }
    names.set(n.id, table);
  }
  const sources = new Map<string, string[]>();
  for (const attachments of local) for (const a of attachments) sources.set(a.ip, attachments.map((x) => x.networkId));
  return { names, nodeIps, sources };
}

export type DnsAnswer = { kind: "records"; ips: string[]; ttl: number } | { kind: "nodata" } | { kind: "nxdomain" } | { kind: "forward" };

/**
 * The answer to one question asked of `localAddress` (a node IP) by `source`.
 * Names are scoped to the asker's networks: the one the query arrived on, then
 * the others its task is on. A known name has no AAAA (NOERROR, no data);
 * unknown names go upstream. Pure.
 */
export function answerQuestion(view: DnsView, source: string, localAddress: string, name: string, type: string): DnsAnswer {
  const networks = [view.nodeIps.get(localAddress), ...(view.sources.get(source) ?? [])].filter((n): n is string => n !== undefined);
  const key = norm(name);
  for (const id of new Set(networks)) {
    const r = view.names.get(id)?.get(key);
    if (!r) continue;
    if (r.ips.length === 0) return { kind: "nxdomain" };
    if (type === "A" || type === "ANY") return { kind: "records", ips: r.ips, ttl: r.ttl };
    return { kind: "nodata" };
  }
  return { kind: "forward" };
}

/** `nameserver` lines of a resolv.conf, without `exclude` (our own addresses: no loops) and Docker's embedded 127.0.0.11. */
export function parseResolvConf(text: string, exclude: Set<string> = new Set()): string[] {
  return text
    .split("\n")
    .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((ip): ip is string => ip !== undefined && ip !== "127.0.0.11" && !exclude.has(ip));
}

const rcode = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, FORMERR: 1 } as const;

interface Listener {
  udp: Socket;
  tcp: Server;
}

/**
 * The DNS responder: one UDP socket and one TCP listener on each node IP
 * (containers get it as their Dns; Docker's embedded resolver forwards every
 * name it does not know itself here, from the container's own address).
 * Answers from the last document; forwards the rest to the host's upstreams.
 */
export class DnsResponder {
  private view: DnsView = { names: new Map(), nodeIps: new Map(), sources: new Map() };
  private readonly listeners = new Map<string, Listener>();
  private doc: NetworkDocument | undefined;
  private local: LocalAttachments = [];

  constructor(
    private readonly opts: {
      log: Logger;
      /** Upstream resolvers, tried in order. */
      upstreams: () => string[];
      /** 53 unless told (tests bind elsewhere). */
      port?: number;
      /** Port of the upstreams (53 unless told). */
      upstreamPort?: number;
    },
  ) {}

  /** The port a listener on `address` got (for tests binding port 0). */
  portOf(address: string): number | undefined {
    const l = this.listeners.get(address);
    return l ? l.udp.address().port : undefined;
  }

  /** A new document: new names, and listeners on exactly its node IPs. */
  async setDocument(doc: NetworkDocument): Promise<string[]> {
    this.doc = doc;
    this.view = buildDnsView(doc, this.local);
    return this.listen(doc.networks.map((n) => n.nodeIp));
  }

  /** The local tasks' attachments changed (who may see which network). */
  setLocalTasks(local: LocalAttachments): void {
    this.local = local;
    if (this.doc) this.view = buildDnsView(this.doc, local);
  }

  /** Opens listeners on `addresses` and closes the others; returns why any could not be opened. */
  private async listen(addresses: string[]): Promise<string[]> {
    const want = new Set(addresses);
    for (const [address, l] of this.listeners)
      if (!want.has(address)) {
        this.listeners.delete(address);
        l.udp.close();
        l.tcp.close();
      }
    const problems: string[] = [];
    for (const address of want) {
      if (this.listeners.has(address)) continue;
      try {
        this.listeners.set(address, await this.open(address));
      } catch (err) {
        problems.push(`DNS on ${address}:${this.opts.port ?? 53}: ${(err as Error).message}`);
      }
    }
    return problems;
  }

  async close(): Promise<void> {
    await this.listen([]);
  }

  private async open(address: string): Promise<Listener> {
    const udp = createSocket({ type: "udp4" });
    await new Promise<void>((resolve, reject) => {
      udp.once("error", reject);
      udp.bind(this.opts.port ?? 53, address, () => {
        udp.off("error", reject);
        resolve();
      });
    });
    udp.on("error", (err) => this.opts.log.warn("DNS socket error", { address, error: err.message }));
    udp.on("message", (msg, rinfo) => {
      void this.handle(msg, rinfo.address, address, "udp").then(
        (answer) => answer && udp.send(answer, rinfo.port, rinfo.address),
        () => undefined,
      );
    });
    const tcp = createServer((sock) => {
      let buffer = Buffer.alloc(0);
      sock.setTimeout(10_000, () => sock.destroy());
      sock.on("error", () => sock.destroy());
      sock.on("data", (chunk) => {
        buffer = Buffer.concat([buffer, chunk]);
        while (buffer.length >= 2 && buffer.length >= 2 + buffer.readUInt16BE(0)) {
          const msg = buffer.subarray(2, 2 + buffer.readUInt16BE(0));
          buffer = buffer.subarray(2 + msg.length);
          void this.handle(msg, sock.remoteAddress?.replace(/^::ffff:/, "") ?? "", address, "tcp").then(
            (answer) => answer && !sock.destroyed && sock.write(Buffer.concat([u16(answer.length), answer])),
            () => undefined,
          );
        }
      });
    });
    const port = udp.address().port;
    await new Promise<void>((resolve, reject) => {
      tcp.once("error", reject);
      tcp.listen(port, address, () => {
        tcp.off("error", reject);
        resolve();
      });
    });
    return { udp, tcp };
  }

  /** One query → the answer's bytes (undefined: drop it). */
  private async handle(msg: Buffer, source: string, local: string, transport: "udp" | "tcp"): Promise<Buffer | undefined> {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return undefined;
    }
    if (query.type !== "query") return undefined;
    const q = query.questions?.[0];
    const reply = (code: number, answers: dnsPacket.Answer[] = []) => {
      const flags = (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
      const packet = {
        type: "response" as const,
        id: query.id,
        flags: flags | dnsPacket.RECURSION_AVAILABLE | (answers.length || code === rcode.NXDOMAIN ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | code,
        questions: query.questions,
        answers,
      };
      const bytes = dnsPacket.encode(packet);
      // Too big for UDP: truncated, the client asks again over TCP.
      if (transport === "udp" && bytes.length > udpAnswerLimit) return dnsPacket.encode({ ...packet, answers: [], flags: packet.flags | dnsPacket.TRUNCATED_RESPONSE });
      return bytes;
    };
    if (!q) return reply(rcode.FORMERR);
    const answer = answerQuestion(this.view, source, local, q.name, q.type);
    if (answer.kind === "records") return reply(rcode.NOERROR, answer.ips.map((ip) => ({ type: "A", name: q.name, ttl: answer.ttl, class: "IN", data: ip })));
    if (answer.kind === "nodata") return reply(rcode.NOERROR);
    if (answer.kind === "nxdomain") return reply(rcode.NXDOMAIN);
    const forwarded = await this.forward(msg, transport);
    return forwarded ?? reply(rcode.SERVFAIL);
  }

  /** The query as it came, to each upstream in turn; the first answer is returned as it came. */
  private async forward(msg: Buffer, transport: "udp" | "tcp"): Promise<Buffer | undefined> {
    const port = this.opts.upstreamPort ?? 53;
    for (const upstream of this.opts.upstreams()) {
      const answer = await (transport === "udp" ? forwardUdp(msg, upstream, port) : forwardTcp(msg, upstream, port)).catch(() => undefined);
      if (answer) return answer;
    }
    return undefined;
  }
}

const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};

function forwardUdp(msg: Buffer, host: string, port: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket(host.includes(":") ? "udp6" : "udp4");
    const done = (answer: Buffer | undefined) => {
      clearTimeout(timer);
      sock.close();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), upstreamTimeoutMs);
    sock.on("error", () => done(undefined));
    // Only the answer to this query (same id) counts.
    sock.on("message", (answer) => answer.length >= 2 && answer.readUInt16BE(0) === msg.readUInt16BE(0) && done(answer));
    sock.send(msg, port, host);
  });
}

function forwardTcp(msg: Buffer, host: string, port: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    let buffer = Buffer.alloc(0);
    const done = (answer: Buffer | undefined) => {
      sock.destroy();
      resolve(answer);
    };
    sock.setTimeout(upstreamTimeoutMs, () => done(undefined));
    sock.on("error", () => done(undefined));
    sock.on("connect", () => sock.write(Buffer.concat([u16(msg.length), msg])));
    sock.on("data", (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length >= 2 && buffer.length >= 2 + buffer.readUInt16BE(0)) done(buffer.subarray(2, 2 + buffer.readUInt16BE(0)));
    });
    sock.on("end", () => done(undefined));
  });
}
