import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateJwtSecret, importClusterKeys } from "../../src/auth/keys.js";
import { rootAdminToken } from "../../src/bootstrap.js";
import { errorStatus } from "../../src/http/errors.js";
import { maxBodyBytes } from "../../src/domain/limits.js";
import { nodeDescription } from "../helpers/app.js";
import { startNodeServer, type Started } from "../helpers/processes.js";
import { memoryDir } from "../helpers/temp.js";

/**
 * Issue 19: every request on the real Node server ends with an answer in the one error shape —
 * a body, URL or header fields past their limits, a request the parser refuses — rather than a
 * reset connection; long-polls and streams run past the request time limit (its 503 for a stuck
 * handler is tested in test/api/time-limit.test.ts).
 */
describe("request limits on the Node server", () => {
  const stateDir = memoryDir("shoal-limits-");
  const jwtKey = generateJwtSecret();
  const limitMs = 1500;
  let server: Started;
  let admin = "";
  let port = 0;
  beforeAll(async () => {
    admin = await rootAdminToken(await importClusterKeys(jwtKey));
    server = await startNodeServer({ stateDir, jwtKey, env: { SHOAL_REQUEST_TIMEOUT_MS: String(limitMs) } });
    port = Number(new URL(server.url).port);
  });
  afterAll(async () => server?.stop());

  const auth = () => ({ authorization: `Bearer ${admin}` });
  const expectProblem = (status: number, text: string, contentType: string | null, code: string) => {
    expect(status, text).toBe(errorStatus[code as keyof typeof errorStatus]);
    expect(contentType).toBe("application/problem+json");
    const problem = JSON.parse(text);
    expect(problem).toMatchObject({ status, code, type: `urn:shoal:problem:${code}` });
    expect(typeof problem.detail).toBe("string");
  };
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}${path}`, { headers: { ...auth(), ...headers } });
    return { status: res.status, text: await res.text(), type: res.headers.get("content-type") };
  };
  /** A raw HTTP/1.1 exchange: writes `head`, then `body` in 64 KiB pieces with a pause between, and only then reads. */
  const rawExchange = (head: string, body: Buffer) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1");
      let answer = "";
      socket.on("data", (d) => (answer += d));
      socket.on("error", reject);
      socket.on("close", () => resolve(answer));
      socket.on("connect", async () => {
        socket.write(head);
        for (let at = 0; at < body.length; at += 64 * 1024) {
          await new Promise<void>((done) => socket.write(body.subarray(at, at + 64 * 1024), () => done()));
          await new Promise((r) => setTimeout(r, 2));
        }
      });
    });
  const problemOf = (raw: string) => {
    const [head, text] = [raw.slice(0, raw.indexOf("\r\n\r\n")), raw.slice(raw.indexOf("\r\n\r\n") + 4)];
    return { status: Number(head.split(" ")[1]), type: /content-type: ([^\r]+)/i.exec(head)?.[1] ?? null, text };
  };

  it("answers an oversized body 413 after reading it, so the client reads the answer instead of a reset", async () => {
    for (const size of [maxBodyBytes + 1024, 8 * 1024 * 1024, 32 * 1024 * 1024]) {
      const res = await fetch(`${server.url}/v1/tokens`, {
        method: "POST",
        headers: { ...auth(), "content-type": "application/json" },
        body: JSON.stringify({ name: "x".repeat(size), scope: "read" }),
      });
      expectProblem(res.status, await res.text(), res.headers.get("content-type"), "payload_too_large");
    }
    // A client that writes its whole body before it reads (as many do): 4 MiB, a piece at a time.
    const body = Buffer.alloc(4 * 1024 * 1024, "x");
    const raw = await rawExchange(
      `POST /v1/tokens HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${admin}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
      body,
    );
    const answer = problemOf(raw);
    expectProblem(answer.status, answer.text, answer.type, "payload_too_large");
    // Chunked, with no length to refuse up front: read until past the limit.
    const chunked = await new Promise<{ status: number; text: string; type: string | null }>((resolve, reject) => {
      const req = httpRequest(`${server.url}/v1/tokens`, { method: "POST", headers: { ...auth(), "content-type": "application/json" } }, (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode!, text, type: res.headers["content-type"] ?? null }));
      });
      req.on("error", reject);
      for (let i = 0; i < 48; i++) req.write(Buffer.alloc(64 * 1024, "x"));
      req.end();
    });
    expectProblem(chunked.status, chunked.text, chunked.type, "payload_too_large");
    expect((await get("/healthz")).status).toBe(200);
  });

  it("answers a URL past the limit 414 and header fields past it 431, from the app and from Node's parser alike", async () => {
    for (const length of [10_000, 40_000]) {
      const res = await get(`/v1/nodes?role=${"w".repeat(length)}`);
      expectProblem(res.status, res.text, res.type, "uri_too_long");
    }
    for (const length of [20_000, 40_000]) {
      const res = await get("/v1/nodes", { "x-padding": "p".repeat(length) });
      expectProblem(res.status, res.text, res.type, "headers_too_large");
    }
    // Many small fields add up the same way.
    const many = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`x-field-${i}`, "v".repeat(60)]));
    const res = await get("/v1/nodes", many);
    expectProblem(res.status, res.text, res.type, "headers_too_large");
    // The Docker Engine API's paths answer in Docker's shape.
    const docker = await get(`/v1.41/nodes?x=${"a".repeat(10_000)}`);
    expect(docker.status).toBe(414);
    expect(JSON.parse(docker.text).message).toMatch(/limit is 8192/);
    expect((await get("/healthz")).status).toBe(200);
  });

  it("answers what is not HTTP 400 in the one error shape", async () => {
    const answer = problemOf(await rawExchange("NOT HTTP AT ALL\r\n\r\n", Buffer.alloc(0)));
    expectProblem(answer.status, answer.text, answer.type, "malformed_request");
  });

  it("lets the assignment long-poll wait past the limit, and an event stream run to its end", async () => {
    const swarm = await (await fetch(`${server.url}/v1/swarm`, { headers: auth() })).json() as any;
    await fetch(`${server.url}/v1/swarm?version=${swarm.version}`, { method: "PATCH", headers: { ...auth(), "content-type": "application/json" }, body: JSON.stringify({ heartbeatPeriodMs: 5000 }) });
    expect((await get("/v1/swarm")).status).toBe(200);
    const joinToken = ((await (await fetch(`${server.url}/v1/swarm/join-tokens`, { headers: auth() })).json()) as any).worker;
    const joined = await (
      await fetch(`${server.url}/v1/agent/join`, { method: "POST", headers: { authorization: `Bearer ${joinToken}`, "content-type": "application/json" }, body: JSON.stringify({ description: nodeDescription() }) })
    ).json() as any;
    expect(joined.credential, JSON.stringify(joined)).toBeTruthy();
    const node = { authorization: `Bearer ${joined.credential}` };
    const first = await (await fetch(`${server.url}/v1/agent/assignments?waitMs=0`, { headers: node })).json() as any;
    const started = performance.now();
    const poll = await fetch(`${server.url}/v1/agent/assignments?since=${first.generation}&waitMs=3000`, { headers: node });
    expect(poll.status, await poll.clone().text()).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(2900);

    const until = new Date(Date.now() + 3000).toISOString();
    const streamStarted = performance.now();
    const stream = await fetch(`${server.url}/v1/events/stream?until=${until}`, { headers: auth() });
    const text = await stream.text();
    expect(stream.status).toBe(200);
    expect(text).toMatch(/event: end/);
    expect(performance.now() - streamStarted).toBeGreaterThanOrEqual(2500);
  }, 30_000);
});
