import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nodeStates } from "../../src/domain/node.js";
import { taskStates } from "../../src/domain/task-states.js";
import { applyEvent, type ClusterView } from "../../src/ui/state.js";
import { apiEvent, apiNode, apiService, apiTask } from "./fixtures.js";

const view = (): ClusterView => ({
  nodes: [apiNode("n1", "host1"), apiNode("n2", "host2")],
  services: [apiService("s1", { name: "web", replicas: 2 }), apiService("s2", { name: "db" })],
  tasks: [
    apiTask("t1", "s1", { nodeId: "n1", state: "starting" }),
    apiTask("t2", "s1", { nodeId: "n2", slot: 2 }),
    apiTask("t3", "s2", { nodeId: "n2" }),
  ],
});

describe("the web view's state from events", () => {
  it("a node going down turns its state down, with the reason", () => {
    const next = applyEvent(view(), apiEvent(1, "node", "down", "n2", { hostname: "host2", reason: "engine unreachable" }));
    expect(next.nodes.find((n) => n.id === "n2")!.status).toMatchObject({ state: "down", message: "engine unreachable" });
    expect(next.nodes.find((n) => n.id === "n1")!.status.state).toBe("ready");
  });

  it("a node coming back is ready again, its old message cleared", () => {
    const down = applyEvent(view(), apiEvent(1, "node", "down", "n1", { reason: "missed heartbeats" }));
    const back = applyEvent(down, apiEvent(2, "node", "ready", "n1", { hostname: "host1" }));
    expect(back.nodes.find((n) => n.id === "n1")!.status).toMatchObject({ state: "ready", message: "" });
  });

  it("a removed node leaves the view", () => {
    expect(applyEvent(view(), apiEvent(1, "node", "remove", "n1")).nodes.map((n) => n.id)).toEqual(["n2"]);
  });

  it("a task's report moves its state forward, with its time, error and exit code", () => {
    const next = applyEvent(view(), apiEvent(1, "task", "failed", "t2", { service: "s1", node: "n2", error: "exit 3", exitCode: "3" }));
    expect(next.tasks.find((t) => t.id === "t2")!.status).toEqual({
      state: "failed",
      message: "",
      error: "exit 3",
      exitCode: 3,
      timestamp: "2026-01-01T00:01:00.000Z",
    });
  });

  it("a late report of an earlier state is ignored, as the control plane ignores it", () => {
    const v = view();
    expect(applyEvent(v, apiEvent(1, "task", "starting", "t2"))).toEqual(v);
  });

  it("a removed service takes its tasks with it", () => {
    const next = applyEvent(view(), apiEvent(1, "service", "remove", "s1", { name: "web" }));
    expect(next.services.map((s) => s.id)).toEqual(["s2"]);
    expect(next.tasks.map((t) => t.id)).toEqual(["t3"]);
  });

  it("a scale sets the replicas at once", () => {
    const next = applyEvent(view(), apiEvent(1, "service", "update", "s1", { name: "web", replicas: "5" }));
    expect(next.services.find((s) => s.id === "s1")!.spec.replicas).toBe(5);
  });

  it.each([
    ["an unknown node", apiEvent(1, "node", "down", "n9")],
    ["an unknown task", apiEvent(1, "task", "running", "t9")],
    ["an action that is no state", apiEvent(1, "node", "update", "n1", { availability: "drain" })],
    ["a stack event", apiEvent(1, "stack", "deploy", "st")],
    ["a service update without replicas", apiEvent(1, "service", "update", "s1", { name: "web" })],
  ])("%s changes nothing (the re-read of the lists brings the rest)", (_what, e) => {
    const v = view();
    expect(applyEvent(v, e)).toEqual(v);
  });

  it("never adds objects and never touches the ones the event is not about", () => {
    const ids = ["n1", "n2", "t1", "t2", "t3", "s1", "s2", "x"];
    const events = fc.record({
      type: fc.constantFrom("node", "task", "service", "stack"),
      action: fc.constantFrom(...nodeStates, ...taskStates, "update", "remove", "create", "join"),
      actor: fc.constantFrom(...ids),
      replicas: fc.option(fc.nat(20).map(String), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(events, { maxLength: 20 }), (list) => {
        let v = view();
        for (const [i, e] of list.entries()) {
          const before = v;
          v = applyEvent(v, apiEvent(i, e.type, e.action, e.actor, e.replicas === undefined ? {} : { replicas: e.replicas }));
          expect(v.nodes.length).toBeLessThanOrEqual(before.nodes.length);
          expect(v.tasks.length).toBeLessThanOrEqual(before.tasks.length);
          for (const n of v.nodes) if (n.id !== e.actor) expect(n).toBe(before.nodes.find((b) => b.id === n.id));
          for (const t of v.tasks) if (t.id !== e.actor) expect(t).toBe(before.tasks.find((b) => b.id === t.id));
        }
      }),
    );
  });
});
