import { createLogger } from "./log.js";
import { Agent } from "./agent.js";
import { loadAgentConfig, usage, type AgentConfig } from "./config.js";
import { DockerClient } from "./docker/client.js";
import { leaveCluster } from "./leave.js";
import { commandRunner } from "./network/runner.js";

let config: AgentConfig | "help";
try {
  config = loadAgentConfig(process.argv.slice(2), process.env);
} catch (err) {
  process.stderr.write(`shoal-agent: ${(err as Error).message}\n\n${usage}`);
  process.exit(2);
}
if (config === "help") {
  process.stdout.write(usage);
  process.exit(0);
}

if (config.command === "leave") {
  try {
    process.stdout.write(`${await leaveCluster(config.stateDir, config.url, config.force === true)}\n`);
    process.exit(0);
  } catch (err) {
    process.stderr.write(`shoal-agent: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

const log = createLogger(config.logFormat);
const agent = new Agent(config, new DockerClient({ socketPath: config.dockerSocket }), log, commandRunner());
let signals = 0;
for (const signal of ["SIGTERM", "SIGINT"] as const)
  process.on(signal, () => {
    // First signal: stop polling, leave containers running. Second: exit now.
    if (++signals > 1) process.exit(1);
    log.info("stopping; containers keep running", { signal });
    agent.stop();
  });

try {
  await agent.run();
  // Stopped by a signal, or because the node was removed (left): either way not a failure to restart after,
  // which would make a node that left join again with the install's token.
  process.exit(agent.state === "stopped" ? 0 : 1);
} catch (err) {
  log.error("agent failed", { error: String(err instanceof Error ? err.message : err) });
  process.exit(1);
}
