import type { Credential } from "../auth/credentials.js";
import type { ClusterKeys } from "../auth/keys.js";
import type { Db } from "../db/client.js";
import type { ClusterRow } from "../db/cluster.js";
import type { NodeRow } from "../db/nodes.js";
import type { AssignmentNotifier, ReconcileDeps } from "../orchestrator/deps.js";
import type { TextBundle } from "../install/agent-bundle.js";

/** shoal's release, in the OpenAPI document and the Docker API's /version. */
export const shoalVersion = "0.1.0";

export interface Clock {
  now(): number;
}

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** What a runtime entry hands to `createApp`: the app itself knows neither Node nor Workers. */
export interface AppDeps {
  db: Db;
  keys: ClusterKeys;
  clock: Clock;
  logger: Logger;
  notifier: AssignmentNotifier;
  livenessHold?: ReconcileDeps["livenessHold"];
  /** Told of every request a node's valid credential makes, when it arrives (before any store I/O). */
  nodeCalledIn?: (nodeId: string, now: number) => void;
  /** The URL users and agents reach the control plane at; default: the request's origin. */
  publicUrl?: string;
  /** The agent as one file, served to the install script; undefined where the deployment has none. */
  agentBundle?: () => Promise<TextBundle | undefined>;
  /** The web view's script (src/ui/), served at /ui/app.js; undefined where the deployment has none. */
  uiBundle?: () => Promise<TextBundle | undefined>;
  /** How long a request may take to be handled before it is answered 503; default `defaultRequestTimeoutMs`. */
  requestTimeoutMs?: number;
}

/** Request-scoped values set by the access middleware. */
export interface AppEnv {
  Variables: {
    credential: Credential;
    cluster: ClusterRow;
    /** The calling node, for node credentials. */
    node?: NodeRow;
    now: number;
    /** Set by the pipeline step (pipeline.ts): a handler that wrote calls it before building its answer. */
    afterWrite: () => Promise<void>;
    /** Set by the time-limit middleware: a long-poll about to wait `waitMs` gets that much more time. */
    extendTimeLimit: (waitMs: number) => void;
  };
}
