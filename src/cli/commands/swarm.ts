import type { JoinTokens, Swarm } from "../api-types.js";
import { action, type CommandGroup } from "../cli.js";
import { retryOnStaleVersion } from "../client.js";
import { renderInspect } from "../format/output.js";
import { UsageError, formatDurationMs, parseCount, parseDurationMs } from "../format/units.js";

/** `shoal swarm …`: the cluster's settings and join tokens over /v1/swarm. */

function prettySwarm(s: Swarm): string {
  return [
    "Swarm: active",
    ` ClusterID: ${s.id}`,
    ` Created: ${s.createdAt}`,
    ` Nodes: ${s.status.nodeCount}`,
    " Orchestration:",
    `  Task History Retention Limit: ${s.spec.taskHistoryLimit}`,
    `  Default Strategy: ${s.spec.defaultStrategy}`,
    " Dispatcher:",
    `  Heartbeat Period: ${formatDurationMs(s.spec.heartbeatPeriodMs)}`,
    `  Heartbeat Period Now: ${formatDurationMs(s.status.heartbeatPeriodMs)}`,
    `  Missed Heartbeats Before Down: ${s.spec.missedHeartbeats}`,
    `  Node Down After: ${formatDurationMs(s.status.downAfterMs)}`,
    `  Max Heartbeats Per Second: ${s.spec.maxHeartbeatsPerSecond}`,
    "",
  ].join("\n");
}

export const registerSwarmCommands: CommandGroup = (program, cli) => {
  const swarm = program.command("swarm").description("Manage the swarm");

  swarm
    .command("info")
    .description("Display the cluster's settings and status")
    .option("-f, --format <format>", "Format output using a custom template ('json' or TEMPLATE)")
    .action(
      action(async (opts: { format?: string }) => {
        const s = await (await cli.client()).get<Swarm>("/v1/swarm");
        cli.out(opts.format ? renderInspect([s], { format: opts.format }) : prettySwarm(s));
      }),
    );

  swarm
    .command("join-token")
    .description("Manage join tokens")
    .argument("<role>", "worker or manager")
    .option("--rotate", "Rotate join token")
    .option("-q, --quiet", "Only display token")
    .action(
      action(async (role: string, opts: { rotate?: boolean; quiet?: boolean }) => {
        if (role !== "worker" && role !== "manager") throw new UsageError(`unknown role ${role}: worker or manager`);
        const client = await cli.client();
        const tokens = opts.rotate
          ? await client.call<JoinTokens>("POST", `/v1/swarm/join-tokens/${role}/rotate`)
          : await client.get<JoinTokens>("/v1/swarm/join-tokens");
        const token = tokens[role];
        if (opts.quiet) return cli.out(`${token}\n`);
        if (opts.rotate) cli.out(`Successfully rotated ${role} join token.\n\n`);
        cli.out(
          `To add a ${role} to this swarm, run the following command on the Docker host, in a clone of shoal:\n\n` +
            `    SHOAL_JOIN_TOKEN=${token} node agent/bin/shoal-agent.mjs join --url ${client.target.url}\n\n`,
        );
      }),
    );

  swarm
    .command("update")
    .description("Update the swarm")
    .option("--dispatcher-heartbeat <duration>", "Dispatcher heartbeat period (ns|us|ms|s|m|h)")
    .option("--task-history-limit <n>", "Task history retention limit")
    .option("--missed-heartbeats <n>", "Heartbeat periods missed before a node is down (shoal)")
    .option("--max-heartbeats-per-second <n>", "Heartbeats per second the cluster stays under (shoal)")
    .option("--default-strategy <strategy>", 'Scheduling strategy of services that name none: "spread", "binpack", "random" (shoal)')
    .action(
      action(async (opts: Record<string, string | undefined>) => {
        const body: Record<string, unknown> = {};
        const set = (flag: string, key: string, parse: (s: string) => unknown) => {
          const raw = opts[flag];
          if (raw === undefined) return;
          try {
            body[key] = parse(raw);
          } catch (err) {
            throw err instanceof UsageError ? new UsageError(`invalid argument for --${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${err.message}`) : err;
          }
        };
        set("dispatcherHeartbeat", "heartbeatPeriodMs", parseDurationMs);
        set("taskHistoryLimit", "taskHistoryLimit", parseCount);
        set("missedHeartbeats", "missedHeartbeats", parseCount);
        set("maxHeartbeatsPerSecond", "maxHeartbeatsPerSecond", parseCount);
        set("defaultStrategy", "defaultStrategy", (s) => s);
        if (Object.keys(body).length === 0) throw new UsageError("give at least one setting to change");
        const client = await cli.client();
        await retryOnStaleVersion(async () => {
          const current = await client.get<Swarm>("/v1/swarm");
          return client.call<Swarm>("PATCH", "/v1/swarm", { query: { version: String(current.version) }, body });
        });
        cli.out("Swarm updated.\n");
      }),
    );
};
