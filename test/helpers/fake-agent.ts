import { randomUUID } from "node:crypto";

/**
 * An agent without Docker, speaking the real agent protocol over HTTP: joins
 * with a join token, long-polls its assignments and reports each task
 * starting then running (or failed, for images `fails` names), and shutdown
 * when the control plane stops it. For CLI and API tests against a real
 * control plane process.
 */
export class FakeAgent {
  nodeId = "";
  private credential = "";
  private running = true;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly url: string,
    readonly hostname: string,
    private readonly opts: { fails?: (image: string) => boolean } = {},
  ) {}

  private async call(method: string, path: string, token: string, body?: unknown) {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<any>;
  }

  async join(joinToken: string, engineVersion = "27.3.1"): Promise<this> {
    const joined = await this.call("POST", "/v1/agent/join", joinToken, {
      description: {
        machineId: `machine-${randomUUID()}`,
        hostname: this.hostname,
        platform: { os: "linux", architecture: "x86_64" },
        resources: { nanoCpus: 4e9, memoryBytes: 8 * 1024 ** 3 },
        engine: { version: engineVersion, labels: {} },
        addr: "10.0.0.1",
      },
    });
    this.nodeId = joined.nodeId;
    this.credential = joined.credential;
    this.loop = this.run();
    return this;
  }

  private async run() {
    let since = -1;
    while (this.running) {
      try {
        const a = await this.call("GET", `/v1/agent/assignments?since=${since}&waitMs=300`, this.credential);
        since = a.generation;
        const updates = a.tasks.flatMap((t: any) => {
          if (t.desiredState === "running" && t.state !== "running" && t.state !== "failed") {
            if (this.opts.fails?.(t.spec.task.container.image)) return [{ taskId: t.id, state: "failed", error: "task: non-zero exit (1)", exitCode: 1 }];
            return [{ taskId: t.id, state: "running", message: "started" }];
          }
          if ((t.desiredState === "shutdown" || t.desiredState === "remove") && ["assigned", "accepted", "preparing", "ready", "starting", "running"].includes(t.state))
            return [{ taskId: t.id, state: "shutdown", message: "shutdown" }];
          return [];
        });
        if (updates.length) await this.call("POST", "/v1/agent/status", this.credential, { updates });
      } catch {
        if (!this.running) return;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  async stop() {
    this.running = false;
    await this.loop;
  }
}
