import http from "node:http";
import https from "node:https";
import type { z } from "zod";
import {
  Assignments,
  HeartbeatAck,
  Joined,
  StatusApplied,
  agentV1Paths,
  type HostDescription,
  type NodeDescription,
  type TaskStatusUpdate,
} from "../../src/protocol/agent-v1.js";

const callTimeoutMs = 5000;

/** Connections kept open between calls: the long-poll and status reports reuse one TLS session. */
const keepAlive = { "http:": new http.Agent({ keepAlive: true }), "https:": new https.Agent({ keepAlive: true }) };

/** The control plane answered with an error (its problem+json detail in the message). */
export class ControlPlaneError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ControlPlaneError";
  }
}

/**
 * The agent's outbound HTTPS client: the only way it talks to the control plane.
 * It uses node:http(s), not fetch: loading fetch (undici) adds about 20 MB of
 * resident memory, a third of the agent's footprint.
 */
export class ControlPlaneClient {
  constructor(
    readonly url: string,
    public credential: string,
  ) {}

  /** `signal` bounds the call; without one it gets a few seconds (a cut link never answers). */
  private async call<T>(answer: z.ZodType<T>, method: string, path: string, body?: unknown, signal = AbortSignal.timeout(callTimeoutMs)): Promise<T> {
    const url = new URL(path, this.url);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const secure = url.protocol === "https:";
      const req = (secure ? https : http).request(
        url,
        {
          method,
          agent: keepAlive[secure ? "https:" : "http:"],
          signal,
          headers: {
            authorization: `Bearer ${this.credential}`,
            ...(payload ? { "content-type": "application/json", "content-length": payload.length } : {}),
          },
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on("data", (chunk: Buffer) => chunks.push(chunk));
          answer.on("end", () => resolve({ status: answer.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
          answer.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
    const { text } = res;
    if (res.status < 200 || res.status >= 300) {
      let detail = text;
      try {
        detail = (JSON.parse(text) as { detail?: string }).detail ?? text;
      } catch {
        // not problem+json: keep the text
      }
      throw new ControlPlaneError(res.status, `${method} ${path}: ${res.status} ${detail}`);
    }
    return answer.parse(JSON.parse(text));
  }

  join(description: NodeDescription): Promise<Joined> {
    return this.call(Joined, "POST", agentV1Paths.join, { description });
  }

  /** The long-poll; also the node's heartbeat. */
  assignments(since: number, signal: AbortSignal): Promise<Assignments> {
    return this.call(Assignments, "GET", `${agentV1Paths.assignments}?since=${since}`, undefined, signal);
  }

  /** A heartbeat with the node's description; `engineDown` (why) marks the node down while the agent lives. */
  heartbeat(description: HostDescription, engineDown?: string): Promise<HeartbeatAck> {
    return this.call(HeartbeatAck, "POST", agentV1Paths.heartbeat, { description, ...(engineDown ? { engineDown } : {}) });
  }

  reportStatus(updates: TaskStatusUpdate[]): Promise<StatusApplied> {
    return this.call(StatusApplied, "POST", agentV1Paths.status, { updates });
  }
}
