import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { cliConfigPath } from "../cli/config.js";
import { parseRequestTimeoutMs } from "../domain/limits.js";
import { loadWebhookSettings, type WebhookSettings } from "../webhooks/retry-schedule.js";

const usage = `Usage: shoal-server [options]

Runs the shoal control plane on Node. Every option can also be set by its
environment variable.

  --host HOST          address to listen on (SHOAL_HOST, default 127.0.0.1)
  --port PORT          port to listen on (SHOAL_PORT, default 8080)
  --state-dir DIR      keys and the embedded database (SHOAL_STATE_DIR, default ./.shoal)
  --db-url URL         a libSQL URL instead of the embedded file (SHOAL_DB_URL)
                       the auth token comes from SHOAL_DB_AUTH_TOKEN
  --public-url URL     the URL agents and the CLI use (SHOAL_PUBLIC_URL, default http://HOST:PORT)
  --no-login           do not write the admin token to the CLI config (SHOAL_NO_LOGIN=1)
  --no-agent           do not start a local agent even when a Docker socket is there (SHOAL_NO_AGENT=1)
  --docker-socket PATH the local Docker socket for that agent (DOCKER_SOCKET, default /var/run/docker.sock)
  --log-format FORMAT  text or json (SHOAL_LOG_FORMAT, default text)
  -h, --help           show this help

Outbound webhooks: SHOAL_WEBHOOK_RETRY_MS (comma-separated delays before each
retry, default Standard Webhooks' 5s,5m,30m,2h,5h,10h,10h) and
SHOAL_WEBHOOK_TIMEOUT_MS (per attempt, default 15000).

A request not answered within SHOAL_REQUEST_TIMEOUT_MS (default 25000) is
answered 503; the assignment long-poll gets its wait on top.

The signing key is read from SHOAL_JWT_KEY when set (several instances sharing
one libSQL server need the same key), else from STATE_DIR/jwt.key, which is
generated on first start. The CLI config is SHOAL_CONFIG, default
~/.config/shoal/config.json.
`;

const ConfigSchema = z.object({
  host: z.string().min(1),
  port: z.coerce.number().int().min(0).max(65535),
  stateDir: z.string().min(1),
  dbUrl: z.string().regex(/^(file|libsql|https?|wss?):/, "a libSQL URL: file:, libsql:, http(s): or ws(s):").optional(),
  dbAuthToken: z.string().optional(),
  publicUrl: z.url().optional(),
  login: z.boolean(),
  localAgent: z.boolean(),
  dockerSocket: z.string().min(1),
  logFormat: z.enum(["text", "json"]),
  jwtKey: z.string().optional(),
  cliConfigPath: z.string(),
});
export type NodeConfig = z.infer<typeof ConfigSchema> & { webhooks: WebhookSettings; requestTimeoutMs: number };

/** The Node entry's one config loader: flags, then environment, then defaults. Throws with usage on bad input. */
export function loadNodeConfig(argv: string[], env: NodeJS.ProcessEnv): NodeConfig | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      "state-dir": { type: "string" },
      "db-url": { type: "string" },
      "public-url": { type: "string" },
      "no-login": { type: "boolean" },
      "no-agent": { type: "boolean" },
      "docker-socket": { type: "string" },
      "log-format": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return "help";
  const parsed = ConfigSchema.safeParse({
    host: values.host ?? env.SHOAL_HOST ?? "127.0.0.1",
    port: values.port ?? env.SHOAL_PORT ?? "8080",
    stateDir: resolve(values["state-dir"] ?? env.SHOAL_STATE_DIR ?? ".shoal"),
    dbUrl: values["db-url"] ?? env.SHOAL_DB_URL,
    dbAuthToken: env.SHOAL_DB_AUTH_TOKEN,
    publicUrl: values["public-url"] ?? env.SHOAL_PUBLIC_URL,
    login: !(values["no-login"] || env.SHOAL_NO_LOGIN === "1"),
    localAgent: !(values["no-agent"] || env.SHOAL_NO_AGENT === "1"),
    dockerSocket: values["docker-socket"] ?? env.DOCKER_SOCKET ?? "/var/run/docker.sock",
    logFormat: values["log-format"] ?? env.SHOAL_LOG_FORMAT ?? "text",
    jwtKey: env.SHOAL_JWT_KEY,
    cliConfigPath: cliConfigPath(env),
  });
  if (!parsed.success)
    throw new Error(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n"));
  return { ...parsed.data, webhooks: loadWebhookSettings(env), requestTimeoutMs: parseRequestTimeoutMs(env.SHOAL_REQUEST_TIMEOUT_MS) };
}

export { usage };
