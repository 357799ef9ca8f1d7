import type { Node, Service, Task } from "./api-types.js";
import type { Cli } from "./cli.js";
import type { ApiClient } from "./client.js";
import { judgeUpdateStatus, planProgress, type ProgressLine, type WaitKind } from "./progress.js";

const pollMs = 500;

/** Prints progress lines: redrawn in place on a terminal, otherwise a line whenever one changes. */
export class ProgressPrinter {
  private drawn = 0;
  private last = new Map<string, string>();
  constructor(private readonly cli: Cli) {}

  show(lines: ProgressLine[]) {
    const text = (l: ProgressLine) => `${l.id}: ${l.text} `;
    if (this.cli.stdoutIsTty) {
      const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : "";
      this.cli.out(`${up}${lines.map((l) => `\x1b[2K${text(l)}\n`).join("")}`);
      this.drawn = lines.length;
      return;
    }
    for (const l of lines)
      if (this.last.get(l.id) !== l.text) {
        this.last.set(l.id, l.text);
        this.cli.out(`${text(l)}\n`);
      }
  }

  /** A line that stays above the redrawn block. */
  note(line: ProgressLine) {
    this.drawn = 0;
    this.cli.out(`${line.id}: ${line.text} \n`);
  }
}

/**
 * Waits until the service converged on its current spec, showing progress as
 * docker does. Throws (exit 1) when the update paused or rolled back. `since`
 * is the service's updatedAt answered by the change being waited for.
 */
export async function waitForService(cli: Cli, client: ApiClient, serviceId: string, kind: WaitKind, since: string, quiet: boolean): Promise<void> {
  const printer = quiet ? undefined : new ProgressPrinter(cli);
  let rollingBack = kind === "rollback";
  let convergedAt: number | undefined;
  let verifying = false;
  for (;;) {
    const [service, tasks, nodes] = await Promise.all([
      client.get<Service>(`/v1/services/${encodeURIComponent(serviceId)}`),
      client.get<Task[]>("/v1/tasks", { service: serviceId }),
      client.get<Node[]>("/v1/nodes"),
    ]);
    const verdict = judgeUpdateStatus(service, kind, since);
    if ("rollingBack" in verdict && !rollingBack) {
      rollingBack = true;
      printer?.note({ id: "rollback", text: verdict.rollingBack });
    }
    const view = planProgress(service, tasks, nodes, rollingBack);
    if (!verifying) printer?.show(view.lines);
    if ("failed" in verdict) throw new Error(verdict.failed);
    const jobs = service.spec.mode.endsWith("-job");
    const monitorMs = jobs ? 0 : (kind === "rollback" ? service.spec.rollback : service.spec.update).monitorMs;
    if (!view.converged) {
      convergedAt = undefined;
      verifying = false;
    } else {
      convergedAt ??= cli.now();
      // The API's update status, when there is one for this change, has monitored the tasks already.
      const stable = "done" in verdict || ("waiting" in verdict && !isUpdating(service, since) && cli.now() - convergedAt >= monitorMs);
      if (stable) {
        printer?.note({ id: "verify", text: jobs ? "Job complete" : "Service converged" });
        return;
      }
      if (!verifying && monitorMs > 0 && !isUpdating(service, since)) {
        verifying = true;
        printer?.note({ id: "verify", text: `Waiting ${Math.round(monitorMs / 1000)} seconds to verify that tasks are stable...` });
      }
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

const isUpdating = (s: Service, since: string) =>
  s.updateStatus !== undefined && Date.parse(s.updateStatus.startedAt) >= Date.parse(since) && s.updateStatus.state === "updating";
