import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBin, spawnBin } from "../cli/harness.js";
import { shoalContainers, startShoalCluster, type ShoalCluster } from "./cluster.js";
import { TEST_IMAGE } from "./hosts.js";

/** `docker service logs`' prefix: name.slot.task-id (12 characters)@node, padded, then "    | ". */
const prefixed = /^logsvc\.(\d)\.(task_\w{7})@(\S+)\s{4}\| (.*)$/;

/** Lines of a CLI output parsed by their prefix. */
const parse = (text: string) =>
  text
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const m = prefixed.exec(l);
      if (!m) throw new Error(`line without docker's prefix: ${JSON.stringify(l)}`);
      return { slot: m[1]!, task: m[2]!, node: m[3]!, text: m[4]! };
    });

/** Service logs and exec relayed by real agents from real engines on 2 namespaced hosts, with the real CLI. */
describe("shoal service logs and exec on real engines", () => {
  let c: ShoalCluster;
  /** The task whose container the -f test kills. */
  let killed = "";
  const env = () => ({ SHOAL_URL: c.controlPlane.url, SHOAL_TOKEN: c.admin });
  const shoal = (...args: string[]) => runBin(args, env());
  beforeAll(async () => {
    c = await startShoalCluster({ hosts: 2, prefix: "logs" });
    // Each task prints a numbered line to stdout and one to stderr every 200 ms.
    const script = 'i=0; while true; do i=$((i+1)); echo "out $i"; echo "err $i" >&2; sleep 0.2; done';
    const r = await shoal("service", "create", "--name", "logsvc", "--replicas", "2", "--stop-grace-period", "0s", TEST_IMAGE, "sh", "-c", script);
    expect(r.code, r.stderr).toBe(0);
    await c.waitFor("a task printing on each host", async () => {
      const per = await Promise.all(c.hosts.hosts.map((h) => shoalContainers(h)));
      return per.every((cs) => cs.length === 1 && cs[0]!.state === "running") && per;
    });
    // A few lines each.
    await new Promise((r) => setTimeout(r, 1500));
  }, 240_000);
  afterAll(() => c?.stop(), 120_000);

  it("shows both tasks' lines with docker's prefix, stdout on stdout and stderr on stderr", async () => {
    const r = await shoal("service", "logs", "logsvc");
    expect(r.code, r.stderr).toBe(0);
    const out = parse(r.stdout);
    const err = parse(r.stderr);
    expect(out.every((l) => /^out \d+$/.test(l.text))).toBe(true);
    expect(err.every((l) => /^err \d+$/.test(l.text))).toBe(true);
    // Both tasks, one per host, each with its slot.
    expect(new Set(out.map((l) => l.node))).toEqual(new Set(c.hosts.hosts.map((h) => h.name)));
    expect(new Set(out.map((l) => l.slot))).toEqual(new Set(["1", "2"]));
    expect(new Set(err.map((l) => l.task))).toEqual(new Set(out.map((l) => l.task)));
    // Each task's lines in its own order: out 1, out 2, …
    for (const task of new Set(out.map((l) => l.task))) {
      const numbers = out.filter((l) => l.task === task).map((l) => Number(l.text.split(" ")[1]));
      expect(numbers.slice(0, 3)).toEqual([1, 2, 3]);
    }
    // Merged by time: with -t, the times never go back.
    const stamped = await shoal("service", "logs", "-t", "--raw", "logsvc");
    const times = stamped.stdout.split("\n").filter(Boolean).map((l) => l.split(" ")[0]!);
    expect(times.length).toBeGreaterThan(4);
    expect([...times].sort()).toEqual(times);
  });

  it("--tail 1 shows one line per task", async () => {
    const r = await shoal("service", "logs", "--tail", "1", "logsvc");
    expect(r.code, r.stderr).toBe(0);
    const lines = [...parse(r.stdout), ...parse(r.stderr)];
    expect(lines).toHaveLength(2);
    expect(new Set(lines.map((l) => l.node)).size).toBe(2);
  });

  it("a task's logs alone, by its id; bad input is refused naming the field", async () => {
    const task = (await c.api<{ id: string; desiredState: string }[]>("GET", "/v1/tasks?service=logsvc")).body.find((t) => t.desiredState === "running")!;
    const r = await shoal("service", "logs", "--tail", "2", "--no-task-ids", task.id);
    expect(r.code, r.stderr).toBe(0);
    expect(`${r.stdout}${r.stderr}`.split("\n").filter(Boolean)).toHaveLength(2);
    expect(`${r.stdout}${r.stderr}`).toMatch(/^logsvc\.\d@\S+\s{4}\| (out|err) \d+$/m);
    const tail = await shoal("service", "logs", "--tail", "-5", "logsvc");
    expect(tail.code).toBe(1);
    expect(tail.stderr).toMatch(/query\.tail/);
    const since = await shoal("service", "logs", "--since", "someday", "logsvc");
    expect(since.stderr).toMatch(/query\.since/);
    const unknown = await shoal("service", "logs", "nope");
    expect(unknown).toMatchObject({ code: 1, stderr: expect.stringMatching(/no such task or service: nope/) });
  });

  it("-f shows a line printed after it started, within 2 s, and stops when interrupted", async () => {
    const child = spawnBin(["service", "logs", "-f", "--tail", "0", "logsvc"], env());
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    // Following: the loop's new lines come.
    await c.waitFor("followed lines", async () => stdout.includes("| out "), 10_000);
    // A line written into the first host's container's stdout now.
    const [container] = await shoalContainers(c.hosts.hosts[0]!);
    await c.hosts.hosts[0]!.docker(["exec", container!.id, "sh", "-c", "echo late-marker > /proc/1/fd/1"]);
    const written = Date.now();
    await c.waitFor("the late line", async () => stdout.includes("| late-marker"), 5_000);
    expect(Date.now() - written).toBeLessThan(2000);
    expect(stdout).toMatch(new RegExp(`^logsvc\\.\\d\\.task_\\w{7}@${c.hosts.hosts[0]!.name}\\s{4}\\| late-marker$`, "m"));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/\| err \d+/);
  });

  it("shoal exec runs a command in a task's container: its output, stderr apart, and its exit code; recorded as an event", async () => {
    const task = (await c.api<{ id: string; desiredState: string }[]>("GET", "/v1/tasks?service=logsvc")).body.find((t) => t.desiredState === "running")!;
    const r = await shoal("exec", task.id, "--", "sh", "-c", "echo hi; echo oops >&2; exit 3");
    expect(r).toEqual({ code: 3, stdout: "hi\n", stderr: "oops\n" });
    const ok = await shoal("exec", task.id, "--", "cat", "/proc/1/cmdline");
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("sh");
    const events = (await c.api("GET", "/v1/events?type=task&event=exec")).body.events;
    expect(events.map((e: any) => e.actor.attributes.command)).toEqual(['["sh","-c","echo hi; echo oops >&2; exit 3"]', '["cat","/proc/1/cmdline"]']);
    expect(events[0].actor).toMatchObject({ id: task.id, attributes: { service: "logsvc", tokenId: expect.stringMatching(/^tok_/) } });
  });

  it("-f picks up tasks that start after it began: a scale-up's new task and a task replaced after its container was killed", async () => {
    const child = spawnBin(["service", "logs", "-f", "--tail", "0", "logsvc"], env());
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await c.waitFor("followed lines", async () => stdout.includes("| out "), 10_000);
    const running = async () => ((await c.api<{ id: string; slot: number; desiredState: string; status: { state: string } }[]>("GET", "/v1/tasks?service=logsvc")).body).filter((t) => t.desiredState === "running");

    expect((await shoal("service", "scale", "logsvc=3")).code).toBe(0);
    const third = await c.waitFor("slot 3 running", async () => (await running()).find((t) => t.slot === 3 && t.status.state === "running"), 60_000);
    // Its whole log, from its first line: all of it was written after the follow began.
    await c.waitFor("slot 3's first line", async () => new RegExp(`^logsvc\\.3\\.${third.id.slice(0, 12)}@\\S+\\s{4}\\| out 1$`, "m").test(stdout), 20_000);

    // Slot 1's container killed on its host: the task fails, its replacement's lines come in the same stream.
    const first = (await running()).find((t) => t.slot === 1)!;
    killed = first.id;
    const host = (await Promise.all(c.hosts.hosts.map(async (h) => ((await shoalContainers(h)).some((x) => x.task === first.id) ? h : undefined)))).find(Boolean)!;
    const [container] = (await shoalContainers(host)).filter((x) => x.task === first.id);
    await host.docker(["kill", container!.id]);
    const replacement = await c.waitFor("slot 1 replaced", async () => (await running()).find((t) => t.slot === 1 && t.id !== first.id && t.status.state === "running"), 60_000);
    await c.waitFor("the replacement's lines", async () => new RegExp(`^logsvc\\.1\\.${replacement.id.slice(0, 12)}@\\S+\\s{4}\\| out 1$`, "m").test(stdout), 20_000);
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect((await shoal("service", "scale", "logsvc=2")).code).toBe(0);
  });

  it("a task that ended keeps its stopped container on its host, and service logs still show its lines; removing the service removes it", async () => {
    expect(killed).not.toBe("");
    const host = await c.waitFor("the killed task's container", async () => {
      for (const h of c.hosts.hosts) if ((await shoalContainers(h, true)).some((x) => x.task === killed && x.state === "exited")) return h;
      return undefined;
    });
    // Still there some seconds later: the agent keeps it while the task is in the history.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await shoalContainers(host, true)).filter((x) => x.task === killed).map((x) => x.state)).toEqual(["exited"]);
    const r = await shoal("service", "logs", "logsvc");
    expect(r.code, r.stderr).toBe(0);
    const lines = parse(r.stdout).filter((l) => killed.startsWith(l.task));
    expect(lines.length).toBeGreaterThan(3);
    expect(lines[0]).toMatchObject({ slot: "1", node: host.name, text: "out 1" });
    expect(r.stderr).not.toMatch(/warning/);
    expect((await shoal("service", "rm", "logsvc")).code).toBe(0);
    await c.waitFor("no containers left", async () => (await Promise.all(c.hosts.hosts.map((h) => shoalContainers(h, true)))).every((l) => l.length === 0), 30_000);
  });
});
