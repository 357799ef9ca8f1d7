import { createLogger } from "./log.js";
import { Agent } from "./agent.js";
import { loadAgentConfig, usage, type AgentConfig } from "./config.js";
import { DockerClient } from "./docker/client.js";

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

const log = createLogger(config.logFormat);
const agent = new Agent(config, new DockerClient({ socketPath: config.dockerSocket }), log);
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
  process.exit(agent.state === "stopped" && signals > 0 ? 0 : 1);
} catch (err) {
  log.error("agent failed", { error: String(err instanceof Error ? err.message : err) });
  process.exit(1);
}
