import { createSocket, type Socket } from "node:dgram";
import { connect } from "node:net";
import dnsPacket from "dns-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NetworkDocument, OverlayNetwork } from "../../src/protocol/agent-v1.js";
import { DnsResponder, parseResolvConf, taskTtlSeconds, vipTtlSeconds } from "../../agent/src/network/dns.js";
import { silentLogger } from "../helpers/app.js";

/** Network A answers on 127.0.0.1, network B on 127.0.0.2; a task on B asks from 127.0.0.5. */
function net(id: string, nodeIp: string, services: OverlayNetwork["services"]): OverlayNetwork {
  return { id, name: id, vni: 1, subnet: "127.0.0.0/8", mtu: 1350, encrypted: false, internal: false, ingress: false, nodeIp, vtepMac: "02:00:00:00:00:01", peers: [], routes: [], services };
}
const ep = (taskId: string, ip: string, dnsName: string) => ({ taskId, nodeId: "node_a", ip, dnsName });
const doc: NetworkDocument = {
  token: "t",
  mesh: [],
  networks: [
    net("net_a", "127.0.0.1", [
      { id: "svc_web", name: "web", aliases: ["front"], endpointMode: "vip", vip: "10.0.0.250", ports: [], endpoints: [ep("task_1", "10.0.0.11", "web.1.task_1"), ep("task_2", "10.0.0.12", "web.2.task_2")] },
      { id: "svc_rr", name: "rr", aliases: [], endpointMode: "dnsrr", ports: [], endpoints: [ep("task_3", "10.0.0.13", "rr.1.task_3")] },
      { id: "svc_none", name: "none", aliases: [], endpointMode: "vip", vip: "10.0.0.251", ports: [], endpoints: [] },
    ]),
    net("net_b", "127.0.0.2", [{ id: "svc_db", name: "db", aliases: [], endpointMode: "vip", vip: "10.1.0.250", ports: [], endpoints: [ep("task_4", "10.1.0.11", "db.1.task_4")] }]),
  ],
};

describe("DNS responder over real sockets on 127.0.0.1", () => {
  let dns: DnsResponder;
  let upstream: Socket;
  let port: number;
  const upstreamSeen: string[] = [];

  beforeAll(async () => {
    // The host's upstream resolver: knows example.test, nothing else.
    upstream = createSocket("udp4");
    upstream.on("message", (msg, rinfo) => {
      const q = dnsPacket.decode(msg);
      const name = q.questions![0]!.name;
      upstreamSeen.push(name);
      const known = name === "example.test";
      upstream.send(
        dnsPacket.encode({ type: "response", id: q.id, flags: known ? 0 : 3, questions: q.questions, answers: known ? [{ type: "A", name, ttl: 60, class: "IN", data: "192.0.2.7" }] : [] }),
        rinfo.port,
        rinfo.address,
      );
    });
    await new Promise<void>((r) => upstream.bind(0, "127.0.0.3", r));
    dns = new DnsResponder({ log: silentLogger, upstreams: () => ["127.0.0.3"], port: 0, upstreamPort: upstream.address().port });
    expect(await dns.setDocument(doc)).toEqual([]);
    dns.setLocalTasks([[{ networkId: "net_b", ip: "127.0.0.5" }]]);
    port = dns.portOf("127.0.0.1")!;
  });
  afterAll(async () => {
    await dns.close();
    upstream.close();
  });

  function ask(name: string, type: "A" | "AAAA" = "A", opts: { server?: string; from?: string } = {}): Promise<dnsPacket.DecodedPacket> {
    const server = opts.server ?? "127.0.0.1";
    return new Promise((resolve, reject) => {
      const sock = createSocket("udp4");
      const timer = setTimeout(() => reject(new Error(`no answer for ${name}`)), 5000);
      sock.on("message", (msg) => {
        clearTimeout(timer);
        sock.close();
        resolve(dnsPacket.decode(msg));
      });
      sock.bind(0, opts.from ?? "127.0.0.1", () =>
        sock.send(dnsPacket.encode({ type: "query", id: 42, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }), dns.portOf(server)!, server),
      );
    });
  }
  const rcode = (p: dnsPacket.DecodedPacket) => (p as unknown as { rcode: string }).rcode;
  const ips = (p: dnsPacket.DecodedPacket) => (p.answers ?? []).map((a) => (a as { data: string }).data).sort();

  it("answers a service name and its aliases with the VIP (TTL 30 s)", async () => {
    for (const name of ["web", "front", "WEB."]) {
      const a = await ask(name);
      expect(rcode(a)).toBe("NOERROR");
      expect(ips(a)).toEqual(["10.0.0.250"]);
      expect(a.answers![0]).toMatchObject({ ttl: vipTtlSeconds });
      expect(a.id).toBe(42);
    }
  });

  it("answers tasks.<service>, <service>.<slot>.<task id> and dnsrr names with task addresses (TTL 5 s)", async () => {
    expect(ips(await ask("tasks.web"))).toEqual(["10.0.0.11", "10.0.0.12"]);
    expect(ips(await ask("web.2.task_2"))).toEqual(["10.0.0.12"]);
    const rr = await ask("rr");
    expect(ips(rr)).toEqual(["10.0.0.13"]);
    expect(rr.answers![0]).toMatchObject({ ttl: taskTtlSeconds });
    expect(rcode(await ask("tasks.none"))).toBe("NXDOMAIN");
  });

  it("answers AAAA of a known name with NOERROR and no data", async () => {
    const a = await ask("web", "AAAA");
    expect(rcode(a)).toBe("NOERROR");
    expect(a.answers).toEqual([]);
  });

  it("forwards anything else upstream, and scopes names to the asker's networks", async () => {
    expect(ips(await ask("example.test"))).toEqual(["192.0.2.7"]);
    expect(rcode(await ask("nothing.test"))).toBe("NXDOMAIN");
    // db is on network B: not visible to a container asking network A's resolver from an address of no B task…
    upstreamSeen.length = 0;
    expect(rcode(await ask("db"))).toBe("NXDOMAIN");
    expect(upstreamSeen).toEqual(["db"]);
    // …visible on B's own resolver, and to the B task asking A's.
    expect(ips(await ask("db", "A", { server: "127.0.0.2" }))).toEqual(["10.1.0.250"]);
    expect(ips(await ask("db", "A", { from: "127.0.0.5" }))).toEqual(["10.1.0.250"]);
    expect(rcode(await ask("web", "A", { server: "127.0.0.2" }))).toBe("NXDOMAIN");
  });

  it("answers over TCP too", async () => {
    const answer = await new Promise<dnsPacket.Packet>((resolve, reject) => {
      const sock = connect({ host: "127.0.0.1", port });
      let buf = Buffer.alloc(0);
      sock.on("error", reject);
      sock.on("connect", () => sock.write(dnsPacket.streamEncode({ type: "query", id: 7, questions: [{ type: "A", name: "tasks.web" }] })));
      sock.on("data", (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          sock.destroy();
          resolve(dnsPacket.streamDecode(buf));
        }
      });
    });
    expect(answer.id).toBe(7);
    expect((answer.answers ?? []).map((a) => (a as { data: string }).data).sort()).toEqual(["10.0.0.11", "10.0.0.12"]);
  });

  it("follows a new document: a removed network's listener closes, new names answer", async () => {
    await dns.setDocument({ ...doc, networks: [doc.networks[0]!] });
    expect(dns.portOf("127.0.0.2")).toBeUndefined();
    expect(dns.portOf("127.0.0.1")).toBe(port);
    await dns.setDocument(doc);
  });
});

describe("parseResolvConf", () => {
  it("takes nameservers, leaving out Docker's embedded one and our own addresses", () => {
    expect(parseResolvConf("# c\nnameserver 10.0.0.53\nnameserver 127.0.0.11\nsearch x\n nameserver 10.9.0.2\nnameserver 192.168.1.1\n", new Set(["10.9.0.2"]))).toEqual(["10.0.0.53", "192.168.1.1"]);
  });
});
