import type { TaskRow } from "../db/tasks.js";
import type { ServiceView } from "./context.js";

/**
 * compose `depends_on`, which Swarm ignores: a service's new tasks are not
 * scheduled until every service it depends on has a running task (running
 * means healthy when the dependency has a healthcheck: the agent reports
 * `starting` until then). A job counts once one of its tasks completed.
 * Returns, per held-back service id, why it waits; the scheduler leaves
 * those tasks pending with that message. Pure; called by scheduleBook.
 */
export function planDependencyHolds(services: Map<string, ServiceView>, tasks: TaskRow[]): Map<string, string> {
  const holds = new Map<string, string>();
  if (![...services.values()].some((s) => s.spec.dependsOn?.length)) return holds;
  const byName = new Map([...services.values()].map((s) => [s.name, s]));
  const ready = new Set<string>();
  for (const t of tasks)
    if ((t.state === "running" && t.desiredState === "running") || t.state === "complete") ready.add(t.serviceId);
  for (const service of services.values()) {
    const waiting = (service.spec.dependsOn ?? []).filter((name) => {
      const dependency = byName.get(name);
      return !dependency || !ready.has(dependency.id);
    });
    if (waiting.length) holds.set(service.id, `waiting for ${waiting.join(", ")} to run (depends_on)`);
  }
  return holds;
}
