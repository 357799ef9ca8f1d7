import type { TaskState } from "../../src/domain/task-states.js";
import { taskSpecOf } from "../../src/domain/task-spec.js";
import type { Assignment } from "../../src/protocol/agent-v1.js";
import type { Report } from "../../agent/src/reporter.js";
import { fixtureSpec } from "./cluster-fixtures.js";

/** An assignment of a task of service `web` in slot 1; the body overrides the spec. */
export function fixtureAssignment(id: string, body: Record<string, unknown> = {}, over: Partial<Assignment> = {}): Assignment {
  return {
    id,
    containerName: `web.1.${id}`,
    serviceId: "svc_1",
    serviceName: "web",
    slot: 1,
    desiredState: "running",
    state: "assigned",
    spec: taskSpecOf(fixtureSpec({ name: "web", ...body })),
    attachments: [],
    secrets: [],
    configs: [],
    ...over,
  };
}

/** A Report that records what was reported. */
export function recordingReport(): { report: Report; states: (taskId?: string) => TaskState[]; reports: Parameters<Report>[] } {
  const reports: Parameters<Report>[] = [];
  return {
    reports,
    report: (...args) => void reports.push(args),
    states: (taskId) => reports.filter(([id]) => !taskId || id === taskId).map(([, state]) => state),
  };
}
