import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { leaveCluster } from "../../agent/src/leave.js";

/** `shoal-agent leave` when the control plane can't be told; the e2e machine test leaves a real one. */
describe("shoal-agent leave", () => {
  const stateDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "shoal-leave-"));
    writeFileSync(join(dir, "credential.json"), JSON.stringify({ url: "http://127.0.0.1:9", nodeId: "node_abc", credential: "secret" }), { mode: 0o600 });
    return dir;
  };

  it("without -f, an unreachable control plane stops it: the credential stays, and it says how to force", async () => {
    const dir = stateDir();
    await expect(leaveCluster(dir, undefined, false)).rejects.toThrow(
      /^could not tell the control plane at http:\/\/127\.0\.0\.1:9 \(.+\); shoal-agent leave -f leaves anyway \(then remove the node there: shoal node rm -f node_abc\)$/,
    );
    expect(existsSync(join(dir, "credential.json"))).toBe(true);
  });

  it("-f forgets the credential anyway and says the control plane was not told", async () => {
    const dir = stateDir();
    expect(await leaveCluster(dir, undefined, true)).toMatch(/^Node node_abc left \(forced: the control plane at http:\/\/127\.0\.0\.1:9 was not told: .+\)\.$/);
    expect(existsSync(join(dir, "credential.json"))).toBe(false);
  });

  it("a host that never joined has nothing to leave", async () => {
    expect(await leaveCluster(mkdtempSync(join(tmpdir(), "shoal-leave-")), undefined, false)).toMatch(/not part of a cluster/);
  });
});
