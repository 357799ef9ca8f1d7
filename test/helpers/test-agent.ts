import { randomUUID } from "node:crypto";
import { Agent } from "../../agent/src/agent.js";
import { FakeEngine, type FakeEngineOptions } from "./fake-engine.js";
import { memoryDir } from "./temp.js";
import { silentLogger } from "./app.js";

export interface TestAgent {
  nodeId: string;
  hostname: string;
  engine: FakeEngine;
  /** Stops the agent (containers stay) and waits until it has. */
  stop(): Promise<void>;
}

/**
 * The real agent (session, worker, reporter, controllers) in this process, on
 * an in-memory engine: for tests of the control plane and the CLI over the
 * agent protocol where no real container is needed. Joins with `joinToken`
 * and resolves once joined.
 */
export async function startTestAgent(url: string, hostname: string, joinToken: string, engine: FakeEngineOptions = {}): Promise<TestAgent> {
  const fake = new FakeEngine(engine);
  const agent = new Agent(
    {
      command: "join",
      url,
      joinToken,
      stateDir: memoryDir("shoal-agent-"),
      dockerSocket: "/nonexistent",
      addr: "10.0.0.1",
      machineId: `machine-${randomUUID()}`,
      hostname,
      logFormat: "text",
    },
    fake,
    silentLogger,
  );
  const done = agent.run();
  while (!agent.nodeId) {
    if (agent.state === "stopped") throw new Error(`agent ${hostname} stopped before it joined`);
    await Promise.race([done, new Promise((r) => setTimeout(r, 10))]);
  }
  return {
    nodeId: agent.nodeId,
    hostname,
    engine: fake,
    async stop() {
      agent.stop();
      await done;
    },
  };
}
