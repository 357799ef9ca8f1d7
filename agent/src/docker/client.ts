import http, { type IncomingMessage } from "node:http";
import { StringDecoder } from "node:string_decoder";
import { pullArguments } from "../../../src/domain/image-ref.js";
import { encodeRegistryHeader, type RegistryAuth } from "../../../src/domain/registry-auth.js";
import { DockerError, isNotFound } from "./errors.js";
import { JsonLineParser } from "../../../src/protocol/json-lines.js";
import { LogDemuxer, type LogChunk } from "./log-demux.js";
import type {
  ContainerCreateBody,
  ContainerInspect,
  ContainerSummary,
  DockerEvent,
  EngineInfo,
  EngineVersion,
  EndpointSettings,
  NetworkCreateBody,
  NetworkSummary,
  PullProgress,
} from "./types.js";

export { DockerError, isConflict, isNotFound } from "./errors.js";
export type { LogChunk, LogStream } from "./log-demux.js";
export type * from "./types.js";

/** The newest API the client speaks (dockerd 20.10); newer engines are asked for this one. */
export const MAX_API_VERSION = "1.41";
/** The oldest API the client speaks (dockerd 1.12). */
export const MIN_API_VERSION = "1.24";

export interface DockerClientOptions {
  /** The engine's unix socket, usually /var/run/docker.sock. */
  socketPath: string;
  /** Limit for a whole non-streaming call, answer body included. Default 30 s. */
  timeoutMs?: number;
}

export interface ListContainersOptions {
  /** Include stopped containers (the engine's default is running ones only). */
  all?: boolean;
  /** "key" or "key=value"; a container must match all of them. */
  labelFilters?: string[];
}

export interface RemoveContainerOptions {
  /** Kill it first if running. */
  force?: boolean;
  /** Also remove its anonymous volumes. */
  volumes?: boolean;
}

export interface EventsOptions {
  /** The engine's event filters, e.g. `{ type: ["container"], label: ["shoal.task"] }`. */
  filters?: Record<string, string[]>;
  /** Unix seconds (fractions allowed): replay events since then before the live ones, to resume after a reconnect. */
  since?: number;
}

export interface ContainerLogsOptions {
  /** Last lines to return; default all. */
  tail?: number | "all";
  /** Default true. */
  stdout?: boolean;
  /** Default true. */
  stderr?: boolean;
  /** Prefix each line with its RFC 3339 time. Default false. */
  timestamps?: boolean;
  /** Whether the container has a TTY (its logs are then raw, not multiplexed); looked up when omitted. */
  tty?: boolean;
  /** Only lines stamped at or after this time: Unix seconds with up to 9 decimals, as the engine takes it. */
  since?: string;
}

function logsQuery(options: ContainerLogsOptions, follow: boolean): Record<string, QueryValue> {
  return {
    stdout: options.stdout ?? true,
    stderr: options.stderr ?? true,
    timestamps: options.timestamps ?? false,
    tail: options.tail ?? "all",
    since: options.since,
    follow,
  };
}

const DEFAULT_TIMEOUT_MS = 30_000;

type QueryValue = string | number | boolean | undefined;

interface CallOptions {
  query?: Record<string, QueryValue>;
  body?: unknown;
  /** Only GET /version is unversioned: it is how the version is chosen. */
  versioned?: boolean;
  timeoutMs?: number;
}

/** A request body sent as it is (not as JSON). */
class RawBody {
  constructor(
    readonly contentType: string,
    readonly bytes: Uint8Array,
  ) {}
}

/** An answer whose headers arrived with a non-error status; `res` is the unread body. */
interface Answer {
  res: IncomingMessage;
  status: number;
  call: string;
}

/**
 * The agent's client for the local Docker engine, over its unix socket.
 * Versioned calls negotiate the API version on first use (or after an
 * explicit `negotiate()`). Non-streaming calls have a deadline; streams
 * (pull, events) have none and end through their AbortSignal.
 */
export class DockerClient {
  private readonly socketPath: string;
  private readonly timeoutMs: number;
  private negotiatedVersion: string | undefined;

  constructor(options: DockerClientOptions) {
    this.socketPath = options.socketPath;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** The API version in use ("1.41"), once negotiated. */
  get apiVersion(): string | undefined {
    return this.negotiatedVersion;
  }

  /**
   * Picks min(engine's API version, MAX_API_VERSION) for later calls. Fails
   * for engines older than MIN_API_VERSION or that no longer accept
   * MAX_API_VERSION, rather than letting every later call fail obscurely.
   */
  async negotiate(): Promise<string> {
    const engine = await this.version();
    const call = "GET /version";
    const version = compareApiVersions(engine.ApiVersion, MAX_API_VERSION, call) < 0 ? engine.ApiVersion : MAX_API_VERSION;
    if (compareApiVersions(version, MIN_API_VERSION, call) < 0) {
      throw new DockerError(200, `engine API ${version} is older than ${MIN_API_VERSION}, the oldest supported`, call);
    }
    if (engine.MinAPIVersion && compareApiVersions(engine.MinAPIVersion, version, call) > 0) {
      throw new DockerError(200, `engine requires API ${engine.MinAPIVersion} or newer; this client speaks up to ${MAX_API_VERSION}`, call);
    }
    this.negotiatedVersion = version;
    return version;
  }

  /** Resolves when the engine answers GET /_ping within `timeoutMs`: notices a dead or hung engine quickly. */
  ping(timeoutMs: number): Promise<void> {
    return this.call("GET", "/_ping", { versioned: false, timeoutMs });
  }

  version(): Promise<EngineVersion> {
    return this.json("GET", "/version", { versioned: false });
  }

  info(): Promise<EngineInfo> {
    return this.json("GET", "/info");
  }

  async imageExists(ref: string): Promise<boolean> {
    try {
      await this.call("GET", `/images/${encodeImageRef(ref)}/json`);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * Pulls `ref` (a missing tag means "latest", never all tags). The engine
   * answers 200 before it knows whether the pull works, so a failure can
   * arrive as an `error` line inside the stream; that rejects too. `auth`:
   * the registry credentials the engine pulls with (X-Registry-Auth).
   */
  async pullImage(ref: string, opts: { auth?: RegistryAuth; onProgress?: (progress: PullProgress) => void; signal?: AbortSignal } = {}): Promise<void> {
    const { name, tag } = pullArguments(ref);
    const { auth, onProgress, signal } = opts;
    const headers: Record<string, string> = auth ? { "X-Registry-Auth": encodeRegistryHeader(auth) } : {};
    const answer = await this.open("POST", await this.url("/images/create", { fromImage: name, tag }), undefined, signal, headers);
    await forEachJsonLine(answer, (value) => {
      const line = value as PullProgress & { error?: string; errorDetail?: { message?: string } };
      if (line.error !== undefined || line.errorDetail !== undefined) {
        throw new DockerError(answer.status, line.errorDetail?.message ?? line.error ?? "pull failed", answer.call);
      }
      onProgress?.(line);
    });
  }

  /** Returns the new container's id. 409 when the name is taken. */
  async createContainer(name: string, body: ContainerCreateBody): Promise<string> {
    const created = await this.json<{ Id: string }>("POST", "/containers/create", { query: { name }, body });
    return created.Id;
  }

  /**
   * Extracts a tar archive into a container's filesystem at `path` (PUT
   * /containers/{id}/archive), keeping the archive's owners (copyUIDGID) and
   * refusing to replace a directory with a file or the reverse. Works on a
   * created container; it writes the container's layer, never into its tmpfs
   * mounts, which exist only inside the running container.
   */
  async putArchive(id: string, path: string, tar: Uint8Array): Promise<void> {
    await this.call("PUT", `/containers/${encodeURIComponent(id)}/archive`, {
      query: { path, copyUIDGID: true, noOverwriteDirNonDir: true },
      body: new RawBody("application/x-tar", tar),
    });
  }

  /** Succeeds (304) when already running. */
  async startContainer(id: string): Promise<void> {
    await this.call("POST", `/containers/${encodeURIComponent(id)}/start`);
  }

  /**
   * Sends the container's StopSignal (chosen at create: below API 1.42 the
   * stop call cannot pick one), then SIGKILL after `timeoutSeconds`.
   * Succeeds (304) when already stopped.
   */
  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    await this.call("POST", `/containers/${encodeURIComponent(id)}/stop`, {
      query: { t: timeoutSeconds },
      // The engine answers only once the container is down, up to t seconds later.
      timeoutMs: timeoutSeconds * 1000 + this.timeoutMs,
    });
  }

  /** 409 when it is not running. */
  async killContainer(id: string, signal: string): Promise<void> {
    await this.call("POST", `/containers/${encodeURIComponent(id)}/kill`, { query: { signal } });
  }

  async removeContainer(id: string, options: RemoveContainerOptions = {}): Promise<void> {
    await this.call("DELETE", `/containers/${encodeURIComponent(id)}`, {
      query: { force: options.force ?? false, v: options.volumes ?? false },
    });
  }

  inspectContainer(id: string): Promise<ContainerInspect> {
    return this.json("GET", `/containers/${encodeURIComponent(id)}/json`);
  }

  listContainers(options: ListContainersOptions = {}): Promise<ContainerSummary[]> {
    const labels = options.labelFilters ?? [];
    return this.json("GET", "/containers/json", {
      query: { all: options.all ?? false, filters: labels.length > 0 ? JSON.stringify({ label: labels }) : undefined },
    });
  }

  /** Idempotent: the engine answers 201 for a volume that already exists, keeping its labels. */
  async createVolume(name: string, labels: Record<string, string> = {}): Promise<void> {
    await this.call("POST", "/volumes/create", { body: { Name: name, Labels: labels } });
  }

  /** 404 when gone, 409 while a container uses it. */
  async removeVolume(name: string): Promise<void> {
    await this.call("DELETE", `/volumes/${encodeURIComponent(name)}`);
  }

  /** Networks carrying all of `labelFilters` ("key" or "key=value"). */
  listNetworks(labelFilters: string[] = []): Promise<NetworkSummary[]> {
    return this.json("GET", "/networks", { query: { filters: labelFilters.length > 0 ? JSON.stringify({ label: labelFilters }) : undefined } });
  }

  /** Returns the new network's id. 409 when the name is taken. */
  async createNetwork(body: NetworkCreateBody): Promise<string> {
    const created = await this.json<{ Id: string }>("POST", "/networks/create", { body: { CheckDuplicate: true, ...body } });
    return created.Id;
  }

  /** 404 when gone; 403 while containers are connected. */
  async removeNetwork(id: string): Promise<void> {
    await this.call("DELETE", `/networks/${encodeURIComponent(id)}`);
  }

  /** Connects a (created, not yet started) container; 403 when already connected. */
  async connectNetwork(id: string, container: string, endpoint: EndpointSettings = {}): Promise<void> {
    await this.call("POST", `/networks/${encodeURIComponent(id)}/connect`, { body: { Container: container, EndpointConfig: endpoint } });
  }

  /**
   * Streams engine events to `onEvent` with no idle limit (the stream may be
   * silent for hours). Resolves when `signal` aborts or the engine ends the
   * stream; rejects if the connection fails or breaks, or `onEvent` throws.
   * Either way the caller reconnects, with `since` set to the last event's time.
   */
  async events(options: EventsOptions, onEvent: (event: DockerEvent) => void, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const filters = options.filters && Object.keys(options.filters).length > 0 ? JSON.stringify(options.filters) : undefined;
    const url = await this.url("/events", { since: options.since, filters });
    try {
      await forEachJsonLine(await this.open("GET", url, undefined, signal), (value) => onEvent(value as DockerEvent));
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
  }

  /** The logs so far (never follows), split by stream. */
  async containerLogs(id: string, options: ContainerLogsOptions = {}): Promise<LogChunk[]> {
    const tty = options.tty ?? (await this.inspectContainer(id)).Config.Tty;
    const chunks: LogChunk[] = [];
    await this.exchange("GET", `/containers/${encodeURIComponent(id)}/logs`, { query: logsQuery(options, false) }, (answer) =>
      readLogs(answer, tty, (more) => chunks.push(...more)),
    );
    // A TTY's stream has no frames: what arrived is one text, however the socket cut it.
    if (tty && chunks.length > 1) return [{ stream: "stdout", text: chunks.map((c) => c.text).join("") }];
    return chunks;
  }

  /**
   * Streams a container's logs to `onChunks` as they arrive, split by stream. Without
   * `follow` it resolves once the engine sent the logs so far; with it, when the
   * container stops or `signal` aborts (then quietly). No deadline: a followed
   * container may be silent for hours.
   */
  async streamLogs(id: string, options: ContainerLogsOptions & { follow: boolean; tty: boolean }, onChunks: (chunks: LogChunk[]) => void, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const url = await this.url(`/containers/${encodeURIComponent(id)}/logs`, logsQuery(options, options.follow));
    try {
      await readLogs(await this.open("GET", url, undefined, signal), options.tty, onChunks);
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
  }

  /** Creates a non-interactive exec of `cmd` in a running container (stdout and stderr attached); returns its id. */
  async createExec(containerId: string, cmd: string[]): Promise<string> {
    const body = { AttachStdin: false, AttachStdout: true, AttachStderr: true, Tty: false, Cmd: cmd };
    const created = await this.json<{ Id: string }>("POST", `/containers/${encodeURIComponent(containerId)}/exec`, { body });
    return created.Id;
  }

  /**
   * Starts an exec and streams its output (multiplexed, as a non-TTY container's logs)
   * to `onChunks` until the command ends and the engine closes the connection; then
   * answers its exit code. No deadline: a command may run long.
   */
  async runExec(execId: string, onChunks: (chunks: LogChunk[]) => void, signal: AbortSignal): Promise<number | null> {
    const answer = await this.open("POST", await this.url(`/exec/${encodeURIComponent(execId)}/start`), { Detach: false, Tty: false }, signal);
    await readLogs(answer, false, onChunks);
    const inspected = await this.json<{ ExitCode: number | null }>("GET", `/exec/${encodeURIComponent(execId)}/json`);
    return inspected.ExitCode;
  }

  /** A call's JSON answer. */
  private async json<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    return this.exchange(method, path, options, async (answer) => {
      const body = await readAll(answer);
      try {
        return JSON.parse(body.toString("utf8")) as T;
      } catch (err) {
        throw new DockerError(answer.status, `unparsable JSON answer: ${(err as Error).message}`, answer.call, { cause: err });
      }
    });
  }

  /** A call whose answer body only needs draining. */
  private async call(method: string, path: string, options: CallOptions = {}): Promise<void> {
    await this.exchange(method, path, options, readAll);
  }

  /** One non-streaming call: `read` consumes the answer, all within the deadline. */
  private async exchange<T>(method: string, path: string, options: CallOptions, read: (answer: Answer) => Promise<T>): Promise<T> {
    const url = await this.url(path, options.query, options.versioned ?? true);
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    try {
      return await read(await this.open(method, url, options.body, deadline.signal));
    } catch (err) {
      if (deadline.signal.aborted && !(err instanceof DockerError && err.statusCode !== 0)) {
        throw new DockerError(0, `no complete answer within ${timeoutMs} ms`, `${method} ${url}`, { cause: err });
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The request path: versioned paths wait for the negotiated version. */
  private async url(path: string, query: Record<string, QueryValue> = {}, versioned = true): Promise<string> {
    const prefix = versioned ? `/v${this.negotiatedVersion ?? (await this.negotiate())}` : "";
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    const search = params.toString();
    return `${prefix}${path}${search ? `?${search}` : ""}`;
  }

  /** Sends a request and waits for the answer's headers; error statuses become DockerErrors carrying the engine's message. */
  private async open(method: string, url: string, body: unknown, signal: AbortSignal | undefined, headers: Record<string, string> = {}): Promise<Answer> {
    const call = `${method} ${url}`;
    const payload = body === undefined ? undefined : body instanceof RawBody ? Buffer.from(body.bytes) : Buffer.from(JSON.stringify(body));
    const contentType = body instanceof RawBody ? body.contentType : "application/json";
    try {
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = http.request(
          {
            socketPath: this.socketPath,
            method,
            path: url,
            // A connection per call, clear of the shared global Agent's pool and its 5 s socket timeout; a unix socket connects cheaply.
            agent: false,
            signal,
            headers: { ...headers, ...(payload ? { "Content-Type": contentType, "Content-Length": payload.length } : {}) },
          },
          resolve,
        );
        req.on("error", reject);
        req.end(payload);
      });
      const status = res.statusCode ?? 0;
      const answer = { res, status, call };
      if (status >= 400) throw new DockerError(status, engineMessage(await readAll(answer), status), call);
      return answer;
    } catch (err) {
      throw err instanceof DockerError ? err : transportError(err, call);
    }
  }
}

/** Image references keep their "/" separators in the path (the engine routes /images/{name:.*}/json). */
function encodeImageRef(ref: string): string {
  return ref.split("/").map(encodeURIComponent).join("/");
}

/** Orders "major.minor" API versions numerically ("1.9" < "1.41"). */
function compareApiVersions(a: string, b: string, call: string): number {
  const [aMajor, aMinor] = parseApiVersion(a, call);
  const [bMajor, bMinor] = parseApiVersion(b, call);
  return aMajor - bMajor || aMinor - bMinor;
}

function parseApiVersion(version: string, call: string): [number, number] {
  const match = /^(\d+)\.(\d+)$/.exec(version);
  if (!match) throw new DockerError(200, `unparsable API version ${JSON.stringify(version)}`, call);
  return [Number(match[1]), Number(match[2])];
}

/** The `message` of the engine's error body, else its text, else the status's name. */
function engineMessage(body: Buffer, status: number): string {
  const text = body.toString("utf8").trim();
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === "string") return parsed.message;
  } catch {
    // Not JSON (proxies, very old engines): the raw text is the message.
  }
  return text || (http.STATUS_CODES[status] ?? "error");
}

function transportError(err: unknown, call: string): DockerError {
  return new DockerError(0, err instanceof Error ? err.message : String(err), call, { cause: err });
}

/** A body's chunks as they arrive; a connection that breaks mid-body becomes a DockerError. */
async function* readChunks(answer: Answer): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of answer.res) yield chunk as Buffer;
  } catch (err) {
    throw transportError(err, answer.call);
  }
}

async function readAll(answer: Answer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of readChunks(answer)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Feeds each JSON line of a streamed answer to `onValue`, which may throw to stop reading (the connection is then closed). */
async function forEachJsonLine(answer: Answer, onValue: (value: unknown) => void): Promise<void> {
  const parser = new JsonLineParser();
  const parse = (values: () => unknown[]): unknown[] => {
    try {
      return values();
    } catch (err) {
      throw new DockerError(answer.status, `unparsable JSON line: ${(err as Error).message}`, answer.call, { cause: err });
    }
  };
  for await (const chunk of readChunks(answer)) for (const value of parse(() => parser.push(chunk))) onValue(value);
  for (const value of parse(() => parser.end())) onValue(value);
}

/** A logs answer as it arrives: raw text for a TTY container (all of it stdout), else demultiplexed frames. */
async function readLogs(answer: Answer, tty: boolean, onChunks: (chunks: LogChunk[]) => void): Promise<void> {
  if (tty) {
    const decoder = new StringDecoder("utf8");
    for await (const chunk of readChunks(answer)) {
      const text = decoder.write(chunk);
      if (text !== "") onChunks([{ stream: "stdout", text }]);
    }
    const rest = decoder.end();
    if (rest !== "") onChunks([{ stream: "stdout", text: rest }]);
    return;
  }
  const demuxer = new LogDemuxer();
  for await (const chunk of readChunks(answer)) {
    const chunks = demux(answer, () => demuxer.push(chunk));
    if (chunks.length) onChunks(chunks);
  }
  const rest = demux(answer, () => demuxer.end());
  if (rest.length) onChunks(rest);
}

function demux(answer: Answer, frames: () => LogChunk[]): LogChunk[] {
  try {
    return frames();
  } catch (err) {
    throw new DockerError(answer.status, (err as Error).message, answer.call, { cause: err });
  }
}
