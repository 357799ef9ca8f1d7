import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { importEdges, referencesTo, sourceFiles, violations, type Edge } from "../helpers/import-layers.js";

// Issue 12: the layers and their order are in test/helpers/import-layers.ts; the README's layout follows them.
const root = fileURLToPath(new URL("../..", import.meta.url));
const files = [...sourceFiles(root, "src"), ...sourceFiles(root, "agent/src")];

describe("import direction", () => {
  it("no file under src/ or agent/src/ imports a layer it may not", () => {
    const edges = importEdges(root, files);
    expect(edges.length).toBeGreaterThan(500);
    expect(violations(edges)).toEqual([]);
  });

  it("names the importing file and the forbidden one", () => {
    const injected: Edge[] = [
      ["src/db/services.ts", "src/orchestrator/rollout.ts"],
      ["src/dispatcher/routes.ts", "src/api/file-object-writes.ts"],
      ["src/api/routes/logs.ts", "src/dispatcher/log-routes.ts"],
      ["src/cli/machine-plan.ts", "src/install/install-script.ts"],
      ["agent/src/worker.ts", "src/db/tasks.ts"],
      ["src/domain/node.ts", "src/protocol/agent-v1.ts"],
      ["src/orchestrator/context.ts", "src/reconcile.ts"],
      ["src/api/routes/services.ts", "src/cli/run.ts"],
      ["src/newfolder/x.ts", "src/domain/node.ts"],
    ];
    expect(violations(injected)).toEqual([
      "src/db/services.ts imports src/orchestrator/rollout.ts: db may import only domain, protocol, not allocation/orchestrator",
      expect.stringMatching(/^src\/dispatcher\/routes\.ts imports src\/api\/file-object-writes\.ts: dispatcher may import only domain, .*, not api$/),
      expect.stringMatching(/^src\/api\/routes\/logs\.ts imports src\/dispatcher\/log-routes\.ts: api may import only .*, not dispatcher$/),
      "src/cli/machine-plan.ts imports src/install/install-script.ts: cli may import only domain, protocol, not install",
      "agent/src/worker.ts imports src/db/tasks.ts: agent may import only domain, protocol, not db",
      "src/domain/node.ts imports src/protocol/agent-v1.ts: domain may import only itself, not protocol",
      expect.stringMatching(/^src\/orchestrator\/context\.ts imports src\/reconcile\.ts: allocation\/orchestrator may import only .*, not reconciler$/),
      expect.stringMatching(/^src\/api\/routes\/services\.ts imports src\/cli\/run\.ts: .*, not cli$/),
      "src/newfolder/x.ts is in no layer: add its folder to test/helpers/import-layers.ts",
    ]);
  });

  it("allows a layer's own files, the layers below it, and the runtime's bundling of the clients", () => {
    const fine: Edge[] = [
      ["src/api/routes/services.ts", "src/api/service-writes.ts"],
      ["src/api/routes/services.ts", "src/http/pipeline.ts"],
      ["src/dispatcher/routes.ts", "src/http/file-object-data.ts"],
      ["src/http/pipeline.ts", "src/reconcile.ts"],
      ["src/reconcile.ts", "src/orchestrator/reconcile-tasks.ts"],
      ["src/orchestrator/schedule.ts", "src/scheduler/node-info.ts"],
      ["src/db/tasks.ts", "src/domain/node.ts"],
      ["src/cli/run.ts", "src/protocol/http-client.ts"],
      ["src/ui/app.tsx", "src/cli/task-table.ts"],
      ["agent/src/session.ts", "src/protocol/agent-v1.ts"],
      ["src/runtime/nodejs.ts", "agent/scripts/build.ts"],
    ];
    expect(violations(fine)).toEqual([]);
  });
});

describe("reconcile call sites", () => {
  it("the pipeline step, the Node timer and the Workers cron call reconcile, once each; only reconcile calls the orchestrator's pass", () => {
    expect(referencesTo(root, files, "src/reconcile.ts", "reconcile")).toEqual({
      "src/http/pipeline.ts": 1,
      "src/runtime/nodejs.ts": 1,
      "src/runtime/workers.ts": 1,
    });
    expect(referencesTo(root, files, "src/orchestrator/reconcile-tasks.ts", "reconcileTasks")).toEqual({ "src/reconcile.ts": 1 });
  });
});
