import { z } from "zod";
import {
  Assignments,
  HeartbeatAck,
  Joined,
  LogBatchAck,
  StatusApplied,
  agentV1Paths,
  type Heartbeat,
  type HostDescription,
  type ExecReport,
  type LogBatch,
  type NodeDescription,
  type TaskStatusUpdate,
} from "../../src/protocol/agent-v1.js";
import { HttpJsonClient, type CallOptions } from "../../src/protocol/http-client.js";

/** A call without a signal of its own gets this long (a cut link never answers). */
const callTimeoutMs = 5000;

/**
 * The agent's side of the agent protocol: the only way it talks to the control
 * plane, over the shared JSON client with connections kept open (the long-poll
 * and status reports reuse one TLS session). Answers are read with the
 * protocol's schemas.
 */
export class ControlPlaneClient {
  private readonly http: HttpJsonClient;

  constructor(url: string, credential: string) {
    this.http = new HttpJsonClient({ url, token: credential, keepAlive: true, serverName: "the control plane" });
  }

  get url(): string {
    return this.http.url;
  }

  /** Renewed credentials replace the one calls carry. */
  set credential(credential: string) {
    this.http.token = credential;
  }

  private async call<T>(answer: z.ZodType<T>, method: string, path: string, opts: CallOptions = {}): Promise<T> {
    return answer.parse(await this.http.call(method, path, { signal: AbortSignal.timeout(callTimeoutMs), ...opts }));
  }

  join(description: NodeDescription): Promise<Joined> {
    return this.call(Joined, "POST", agentV1Paths.join, { body: { description } });
  }

  /** The long-poll; also the node's heartbeat. `waitMs`: answer sooner than the heartbeat period when nothing changed. */
  assignments(since: number, netSince: string | undefined, signal: AbortSignal, waitMs?: number, logSince?: string): Promise<Assignments> {
    return this.call(Assignments, "GET", agentV1Paths.assignments, {
      query: {
        since,
        ...(netSince !== undefined ? { netSince } : {}),
        ...(waitMs !== undefined ? { waitMs } : {}),
        ...(logSince !== undefined ? { logSince } : {}),
      },
      signal,
    });
  }

  /** A heartbeat with the node's description; `engineDown` (why) marks the node down while the agent lives. */
  heartbeat(description: HostDescription, engineDown?: string, networkIssues?: Heartbeat["networkIssues"]): Promise<HeartbeatAck> {
    return this.call(HeartbeatAck, "POST", agentV1Paths.heartbeat, {
      body: { description, ...(engineDown ? { engineDown } : {}), ...(networkIssues ? { networkIssues } : {}) },
    });
  }

  /** Removes this node from the cluster; the credential stops working. */
  leave(): Promise<void> {
    return this.call(z.undefined(), "POST", agentV1Paths.leave);
  }

  /** A batch of a log session's lines. */
  sendLogs(batch: LogBatch): Promise<LogBatchAck> {
    return this.call(LogBatchAck, "POST", agentV1Paths.logs, { body: batch });
  }

  /** Claims a command, or sends its output and exit. */
  sendExec(report: ExecReport): Promise<LogBatchAck> {
    return this.call(LogBatchAck, "POST", agentV1Paths.exec, { body: report });
  }

  reportStatus(updates: TaskStatusUpdate[]): Promise<StatusApplied> {
    return this.call(StatusApplied, "POST", agentV1Paths.status, { body: { updates } });
  }
}
