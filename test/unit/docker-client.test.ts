import http, { type IncomingMessage, type ServerResponse } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DockerClient, DockerError, isConflict, isNotFound, type DockerEvent, type PullProgress } from "../../agent/src/docker/client.js";
import { JsonLineParser } from "../../src/protocol/json-lines.js";
import { LogDemuxer } from "../../agent/src/docker/log-demux.js";

/** A fake Docker Engine API on a unix socket: tests register handlers per "METHOD /path" and see every request. */
type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

interface Seen {
  method: string;
  url: URL;
  body: string;
  contentType: string | undefined;
  registryAuth: string | string[] | undefined;
}

let dir: string;
let socketPath: string;
let server: http.Server;
let routes: Map<string, Handler>;
let seen: Seen[];

const route = (key: string, handler: Handler) => routes.set(key, handler);
const engine = (apiVersion: string, minApiVersion = "1.12") =>
  route("GET /version", (_req, res) => json(res, 200, { Version: "x", ApiVersion: apiVersion, MinAPIVersion: minApiVersion, Os: "linux", Arch: "amd64" }));
const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
};
const text = (res: ServerResponse, status: number, body = "") => {
  res.writeHead(status);
  res.end(body);
};
/** An empty answer, or the engine's error body with `message`. */
const status =
  (code: number, message?: string): Handler =>
  (_req, res) =>
    message === undefined ? text(res, code) : json(res, code, { message });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes each part as its own chunk (a pause between them keeps the client from seeing them joined), then ends. */
async function writeInParts(res: ServerResponse, parts: (string | Buffer)[], gapMs = 25): Promise<void> {
  res.writeHead(200, { "Content-Type": "application/json" });
  for (const part of parts) {
    res.write(part);
    await sleep(gapMs);
  }
  res.end();
}

/** One multiplexed log frame. */
function frame(type: number, payload: string | Buffer): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** Cuts a buffer at the given offsets. */
function cut(buffer: Buffer, ...offsets: number[]): Buffer[] {
  return [0, ...offsets].map((start, i) => buffer.subarray(start, offsets[i] ?? buffer.length));
}

function client(timeoutMs?: number): DockerClient {
  return new DockerClient({ socketPath, ...(timeoutMs ? { timeoutMs } : {}) });
}

async function rejection(promise: Promise<unknown>): Promise<DockerError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DockerError);
  return err as DockerError;
}

const paths = () => seen.map((s) => s.url.pathname);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "shoal-docker-"));
  socketPath = join(dir, "docker.sock");
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://docker");
      seen.push({ method: req.method ?? "", url, body: Buffer.concat(chunks).toString(), contentType: req.headers["content-type"], registryAuth: req.headers["x-registry-auth"] });
      const handler = routes.get(`${req.method} ${url.pathname}`);
      if (handler) void handler(req, res);
      else json(res, 404, { message: "page not found" });
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  routes = new Map();
  seen = [];
  engine("1.41");
});

describe("API version negotiation", () => {
  it.each([
    ["1.43", "1.41"],
    ["1.41", "1.41"],
    ["1.30", "1.30"],
    ["1.24", "1.24"],
  ])("engine %s: calls go to /v%s/", async (engineVersion, used) => {
    engine(engineVersion);
    route(`GET /v${used}/info`, (_req, res) => json(res, 200, { Name: "host1", NCPU: 4 }));
    const docker = client();
    expect(await docker.negotiate()).toBe(used);
    expect(docker.apiVersion).toBe(used);
    expect((await docker.info()).Name).toBe("host1");
    expect(paths()).toEqual(["/version", `/v${used}/info`]);
  });

  it("negotiates on the first versioned call when nobody did", async () => {
    route("GET /v1.41/containers/json", (_req, res) => json(res, 200, []));
    await client().listContainers();
    expect(paths()).toEqual(["/version", "/v1.41/containers/json"]);
  });

  it("refuses engines it cannot speak to", async () => {
    engine("1.23");
    expect((await rejection(client().negotiate())).engineMessage).toMatch(/older than 1.24/);
    engine("1.47", "1.44");
    expect((await rejection(client().negotiate())).engineMessage).toMatch(/requires API 1.44/);
  });

  it("answers version() from the unversioned endpoint", async () => {
    expect(await client().version()).toMatchObject({ ApiVersion: "1.41", Os: "linux" });
    expect(paths()).toEqual(["/version"]);
  });
});

describe("errors", () => {
  it("maps 404 and 409 and keeps the engine's message and the call", async () => {
    route("POST /v1.41/containers/gone/start", status(404, "No such container: gone"));
    route("POST /v1.41/containers/create", status(409, 'Conflict. The container name "/web" is already in use'));
    const docker = client();

    const notFound = await rejection(docker.startContainer("gone"));
    expect(isNotFound(notFound)).toBe(true);
    expect(isConflict(notFound)).toBe(false);
    expect(notFound.statusCode).toBe(404);
    expect(notFound.engineMessage).toBe("No such container: gone");
    expect(notFound.call).toBe("POST /v1.41/containers/gone/start");
    expect(notFound.message).toBe("POST /v1.41/containers/gone/start: 404 No such container: gone");

    const conflict = await rejection(docker.createContainer("web", { Image: "nginx" }));
    expect(isConflict(conflict)).toBe(true);
    expect(isNotFound(conflict)).toBe(false);
  });

  it("uses a non-JSON error body as the message", async () => {
    route("GET /v1.41/info", (_req, res) => text(res, 500, "boom\n"));
    const err = await rejection(client().info());
    expect([err.statusCode, err.engineMessage]).toEqual([500, "boom"]);
    expect(isNotFound(err) || isConflict(err)).toBe(false);
  });

  it("reports an unparsable JSON answer as a DockerError", async () => {
    route("GET /v1.41/info", (_req, res) => text(res, 200, "{not json"));
    const err = await rejection(client().info());
    expect(err.statusCode).toBe(200);
    expect(err.engineMessage).toMatch(/unparsable JSON answer/);
  });

  it("times out a call whose answer never arrives, or never completes", async () => {
    route("GET /v1.41/info", () => undefined);
    route("GET /v1.41/containers/x/json", (_req, res) => {
      res.writeHead(200);
      res.write('{"Id":');
    });
    const docker = client(200);
    await docker.negotiate();
    for (const call of [docker.info(), docker.inspectContainer("x")]) {
      const err = await rejection(call);
      expect(err.statusCode).toBe(0);
      expect(err.engineMessage).toBe("no complete answer within 200 ms");
    }
  });

  it("reports an absent engine as a DockerError without status", async () => {
    const err = await rejection(new DockerClient({ socketPath: join(dir, "missing.sock") }).version());
    expect(err.statusCode).toBe(0);
    expect(err.call).toBe("GET /version");
  });
});

describe("images", () => {
  it("tells whether an image exists, keeping the reference's slashes in the path", async () => {
    route("GET /v1.41/images/localhost%3A5000/team/app%3Av2/json", (_req, res) => json(res, 200, { Id: "sha256:1" }));
    const docker = client();
    expect(await docker.imageExists("localhost:5000/team/app:v2")).toBe(true);
    expect(await docker.imageExists("nope")).toBe(false);
  });

  it("pulls, reporting progress lines split across chunks", async () => {
    const lines = [
      { status: "Pulling from library/nginx", id: "1.25" },
      { status: "Downloading", id: "a1", progressDetail: { current: 10, total: 100 } },
      { status: "Status: Downloaded newer image for nginx:1.25" },
    ];
    const text = `${lines.map((l) => JSON.stringify(l)).join("\r\n")}\r\n`;
    route("POST /v1.41/images/create", (_req, res) => writeInParts(res, [text.slice(0, 7), text.slice(7, 60), text.slice(60, 61), text.slice(61)]));
    const progress: PullProgress[] = [];
    await client().pullImage("nginx:1.25", { onProgress: (p) => progress.push(p) });
    expect(progress).toEqual(lines);
    const pull = seen.at(-1)!;
    expect(Object.fromEntries(pull.url.searchParams)).toEqual({ fromImage: "nginx", tag: "1.25" });
    expect(pull.registryAuth).toBeUndefined();
  });

  it("pulls with registry credentials in X-Registry-Auth, base64url JSON as the docker CLI sends it", async () => {
    route("POST /v1.41/images/create", (_req, res) => res.end(`${JSON.stringify({ status: "Status: Downloaded newer image" })}\n`));
    const auth = { username: "ci", password: "pa?ss>>~", serveraddress: "registry.example:5000" };
    await client().pullImage("registry.example:5000/acme/web:1", { auth });
    const header = String(seen.at(-1)!.registryAuth);
    expect(header).toMatch(/^[A-Za-z0-9_-]+=*$/);
    expect(JSON.parse(Buffer.from(header, "base64url").toString())).toEqual(auth);
  });

  it("rejects a pull whose error arrives inside the 200 stream, split across chunks", async () => {
    const error = JSON.stringify({ errorDetail: { message: "manifest for nginx:nope not found" }, error: "manifest for nginx:nope not found" });
    const text = `${JSON.stringify({ status: "Pulling from library/nginx" })}\n${error}\n`;
    const at = text.indexOf("errorDetail") + 5;
    route("POST /v1.41/images/create", (_req, res) => writeInParts(res, [text.slice(0, at), text.slice(at, at + 9), text.slice(at + 9)]));
    const progress: PullProgress[] = [];
    const err = await rejection(client().pullImage("nginx:nope", { onProgress: (p) => progress.push(p) }));
    expect(err.statusCode).toBe(200);
    expect(err.engineMessage).toBe("manifest for nginx:nope not found");
    expect(err.call).toBe("POST /v1.41/images/create?fromImage=nginx&tag=nope");
    expect(progress).toEqual([{ status: "Pulling from library/nginx" }]);
  });

  it("maps a pull refused with HTTP 404", async () => {
    route("POST /v1.41/images/create", status(404, "pull access denied for nope, repository does not exist"));
    const err = await rejection(client().pullImage("nope"));
    expect(isNotFound(err)).toBe(true);
    expect(err.engineMessage).toMatch(/pull access denied/);
  });
});

describe("containers", () => {
  it("creates with the name in the query and the body as JSON", async () => {
    route("POST /v1.41/containers/create", (_req, res) => json(res, 201, { Id: "c1", Warnings: [] }));
    const id = await client().createContainer("web.1", { Image: "nginx", Labels: { a: "b" }, StopSignal: "SIGQUIT" });
    expect(id).toBe("c1");
    const create = seen.at(-1)!;
    expect(create.url.searchParams.get("name")).toBe("web.1");
    expect(create.contentType).toBe("application/json");
    expect(JSON.parse(create.body)).toEqual({ Image: "nginx", Labels: { a: "b" }, StopSignal: "SIGQUIT" });
  });

  it("puts an archive as a tar body, keeping owners and refusing to swap a directory for a file", async () => {
    route("PUT /v1.41/containers/c1/archive", status(200));
    await client().putArchive("c1", "/", Buffer.from("tar bytes"));
    const put = seen.at(-1)!;
    expect(put.contentType).toBe("application/x-tar");
    expect(put.body).toBe("tar bytes");
    expect(Object.fromEntries(put.url.searchParams)).toEqual({ path: "/", copyUIDGID: "true", noOverwriteDirNonDir: "true" });
  });

  it("treats starting a running container and stopping a stopped one as done (304)", async () => {
    route("POST /v1.41/containers/c1/start", status(304));
    route("POST /v1.41/containers/c1/stop", status(304));
    const docker = client();
    await docker.startContainer("c1");
    await docker.stopContainer("c1", 10);
    expect(seen.at(-1)!.url.search).toBe("?t=10");
  });

  it("kills with the signal and removes with force and volumes", async () => {
    route("POST /v1.41/containers/c1/kill", status(204));
    route("DELETE /v1.41/containers/c1", status(204));
    route("POST /v1.41/containers/c2/kill", status(409, "Container c2 is not running"));
    const docker = client();
    await docker.killContainer("c1", "SIGKILL");
    expect(seen.at(-1)!.url.search).toBe("?signal=SIGKILL");
    await docker.removeContainer("c1", { force: true, volumes: true });
    expect(seen.at(-1)!.url.search).toBe("?force=true&v=true");
    await docker.removeContainer("c1");
    expect(seen.at(-1)!.url.search).toBe("?force=false&v=false");
    expect(isConflict(await rejection(docker.killContainer("c2", "SIGTERM")))).toBe(true);
  });

  it("inspects", async () => {
    const state = { Status: "exited", Running: false, ExitCode: 137, OOMKilled: true, Error: "", StartedAt: "a", FinishedAt: "b" };
    route("GET /v1.41/containers/c1/json", (_req, res) =>
      json(res, 200, { Id: "c1", Name: "/web", State: state, Config: { Image: "nginx", Labels: { k: "v" }, Tty: false }, HostConfig: {} }),
    );
    const c = await client().inspectContainer("c1");
    expect(c.State).toEqual(state);
    expect(c.Config.Labels).toEqual({ k: "v" });
  });

  it("lists with the label filters encoded as JSON", async () => {
    const summary = { Id: "c1", Names: ["/web"], Labels: { "io.shoal.task.id": "t1" }, State: "running", Status: "Up 1 second" };
    route("GET /v1.41/containers/json", (_req, res) => json(res, 200, [summary]));
    const docker = client();
    expect(await docker.listContainers({ all: true, labelFilters: ["io.shoal.task.id", "env=prod a"] })).toEqual([summary]);
    const list = seen.at(-1)!;
    expect(list.url.searchParams.get("all")).toBe("true");
    expect(JSON.parse(list.url.searchParams.get("filters")!)).toEqual({ label: ["io.shoal.task.id", "env=prod a"] });

    await docker.listContainers();
    expect(seen.at(-1)!.url.search).toBe("?all=false");
  });
});

describe("volumes", () => {
  it("creates (201 also when it exists) and removes", async () => {
    route("POST /v1.41/volumes/create", (_req, res) => json(res, 201, { Name: "data" }));
    route("DELETE /v1.41/volumes/data", status(204));
    route("DELETE /v1.41/volumes/busy", status(409, "volume is in use"));
    const docker = client();
    await docker.createVolume("data", { svc: "s1" });
    expect(JSON.parse(seen.at(-1)!.body)).toEqual({ Name: "data", Labels: { svc: "s1" } });
    await docker.removeVolume("data");
    expect(isConflict(await rejection(docker.removeVolume("busy")))).toBe(true);
  });
});

describe("events", () => {
  const event = (id: string, time: number): DockerEvent => ({
    Type: "container",
    Action: "die",
    Actor: { ID: id, Attributes: { exitCode: "1" } },
    scope: "local",
    time,
    timeNano: time * 1e9,
  });

  it("delivers events split across chunks, stays open through > 2 s of silence, and ends on abort", async () => {
    const first = `${JSON.stringify(event("c1", 100))}\n`;
    const second = `${JSON.stringify(event("c2", 101))}\n`;
    route("GET /v1.41/events", async (_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.write(first.slice(0, 20));
      await sleep(25);
      res.write(first.slice(20) + second.slice(0, 10));
      await sleep(2_200);
      res.write(second.slice(10));
    });
    const docker = client(100);
    const abort = new AbortController();
    const received: DockerEvent[] = [];
    const ended = docker.events({ filters: { type: ["container"], label: ["io.shoal.task.id"] }, since: 99 }, (e) => received.push(e), abort.signal);

    await expect.poll(() => received.length, { timeout: 5_000 }).toBe(2);
    expect(received).toEqual([event("c1", 100), event("c2", 101)]);
    const request = seen.at(-1)!;
    expect(request.url.searchParams.get("since")).toBe("99");
    expect(JSON.parse(request.url.searchParams.get("filters")!)).toEqual({ type: ["container"], label: ["io.shoal.task.id"] });

    abort.abort();
    await expect(ended).resolves.toBeUndefined();
  });

  it("resolves when the engine ends the stream", async () => {
    route("GET /v1.41/events", (_req, res) => writeInParts(res, [`${JSON.stringify(event("c1", 1))}\n`]));
    const received: DockerEvent[] = [];
    await client().events({}, (e) => received.push(e), new AbortController().signal);
    expect(received).toHaveLength(1);
    expect(seen.at(-1)!.url.search).toBe("");
  });

  it("does not connect when already aborted", async () => {
    await client().events({}, () => undefined, AbortSignal.abort());
    expect(seen).toEqual([]);
  });

  it("rejects with what onEvent throws, and on engine errors", async () => {
    route("GET /v1.41/events", (_req, res) => {
      res.writeHead(200);
      res.write(`${JSON.stringify(event("c1", 1))}\n`);
    });
    const failure = new Error("handler failed");
    await expect(
      client().events(
        {},
        () => {
          throw failure;
        },
        new AbortController().signal,
      ),
    ).rejects.toBe(failure);

    route("GET /v1.41/events", status(400, 'invalid filter "nope"'));
    expect((await rejection(client().events({ filters: { nope: ["x"] } }, () => undefined, new AbortController().signal))).statusCode).toBe(400);
  });
});

describe("logs", () => {
  it("demultiplexes frames split across chunk boundaries", async () => {
    // "é" is two bytes; the stdout frames cut it in half, and the HTTP chunks cut headers and payloads.
    const bytes = Buffer.concat([
      frame(1, "hello\n"),
      frame(2, "warn: disk\n"),
      frame(1, Buffer.from("caf\xc3", "latin1")),
      frame(1, Buffer.from("\xa9\n", "latin1")),
    ]);
    route("GET /v1.41/containers/c1/logs", (_req, res) => writeInParts(res, cut(bytes, 3, 11, 20, 33, 40)));
    const chunks = await client().containerLogs("c1", { tty: false, tail: 50, timestamps: true });
    expect(chunks).toEqual([
      { stream: "stdout", text: "hello\n" },
      { stream: "stderr", text: "warn: disk\n" },
      { stream: "stdout", text: "caf" },
      { stream: "stdout", text: "é\n" },
    ]);
    expect(Object.fromEntries(seen.at(-1)!.url.searchParams)).toEqual({ stdout: "true", stderr: "true", timestamps: "true", tail: "50", follow: "false" });
  });

  it("returns a TTY container's raw stream as stdout, looking the TTY up when not told", async () => {
    route("GET /v1.41/containers/c1/json", (_req, res) => json(res, 200, { Id: "c1", Config: { Tty: true } }));
    route("GET /v1.41/containers/c1/logs", (_req, res) => writeInParts(res, ["\x01raw ", "output\r\n"]));
    expect(await client().containerLogs("c1", { stderr: false })).toEqual([{ stream: "stdout", text: "\x01raw output\r\n" }]);
    expect(seen.at(-1)!.url.searchParams.get("stderr")).toBe("false");
  });

  it("rejects an engine error frame", async () => {
    route("GET /v1.41/containers/c1/logs", (_req, res) => writeInParts(res, [frame(1, "ok\n"), frame(3, "log driver failed")]));
    const err = await rejection(client().containerLogs("c1", { tty: false }));
    expect(err.engineMessage).toMatch(/log driver failed/);
  });
});

describe("LogDemuxer", () => {
  it("gives the same text fed one byte at a time", () => {
    const bytes = Buffer.concat([frame(1, "a€b\n"), frame(2, "err\n"), frame(0, "in")]);
    const demuxer = new LogDemuxer();
    const chunks = [...bytes].flatMap((b) => demuxer.push(Buffer.from([b]))).concat(demuxer.end());
    expect(chunks).toEqual([
      { stream: "stdout", text: "a€b\n" },
      { stream: "stderr", text: "err\n" },
      { stream: "stdout", text: "in" },
    ]);
  });

  it("rejects a stream ending inside a frame, and unknown stream types", () => {
    const truncated = new LogDemuxer();
    truncated.push(frame(1, "abc").subarray(0, 9));
    expect(() => truncated.end()).toThrow(/inside a frame/);
    expect(() => new LogDemuxer().push(frame(7, "x"))).toThrow(/unknown log stream type 7/);
  });
});

describe("JsonLineParser", () => {
  it("gives the same values fed one byte at a time, including an unterminated last line", () => {
    const values = [{ a: "ü€" }, { b: [1, 2] }, "s"];
    const bytes = Buffer.from(`${JSON.stringify(values[0])}\r\n\n${JSON.stringify(values[1])}\n${JSON.stringify(values[2])}`);
    const parser = new JsonLineParser();
    expect([...bytes].flatMap((b) => parser.push(Buffer.from([b]))).concat(parser.end())).toEqual(values);
  });

  it("throws on a malformed line", () => {
    expect(() => new JsonLineParser().push(Buffer.from("{oops}\n"))).toThrow(SyntaxError);
  });
});
