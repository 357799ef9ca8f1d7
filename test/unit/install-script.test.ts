import fc from "fast-check";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shellQuote } from "../../src/domain/shell-words.js";
import { defaultAgentImage, renderInstallScript } from "../../src/install/install-script.js";

/**
 * The installer, run by the real `sh` (dash on Debian) against a small HTTP server
 * serving a bundle, in --stage mode (nothing installed) or failing early. The full
 * install/upgrade/uninstall on a host with a real dockerd is test/e2e/install.test.ts.
 */

const bundle = "// the agent\nconsole.log('agent');\n";
const sha = createHash("sha256").update(bundle).digest("hex");
const token = "eyJ0eXAi.SECRET-join-token_123";
let server: Server;
let url = "";
let served = "";
let requests = 0;
const dir = mkdtempSync(join(tmpdir(), "shoal-install-test-"));

beforeAll(async () => {
  server = createServer((req, res) => {
    requests++;
    if (req.url === "/v1/agent/bundle") res.end(served);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

let runs = 0;
/** Runs a script text with sh (asynchronously: the bundle server is in this process); its exit status and output. */
function runScript(script: string, args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; output: string; stdout: string }> {
  const file = join(dir, `script-${++runs}.sh`);
  writeFileSync(file, script);
  return new Promise((resolve, reject) => {
    const child = spawn("sh", [file, ...args], { env: { PATH: process.env.PATH!, ...env }, stdio: ["ignore", "pipe", "pipe"], timeout: 20_000 });
    let stdout = "";
    let output = "";
    child.stdout.on("data", (d) => ((stdout += d), (output += d)));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, output, stdout }));
  });
}
const script = (over: { url?: string; sha?: string; image?: string } = {}) => renderInstallScript({ url: over.url ?? url, bundleSha256: over.sha ?? sha, image: over.image });
const stageDir = () => join(dir, `stage-${++runs}`);

describe("renderInstallScript", () => {
  it("is one function called on the last line, and parses as POSIX sh", async () => {
    const text = script();
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toBe("#!/bin/sh");
    expect(lines.at(-1)).toBe('_shoal_install "$@" --end-of-script');
    const start = lines.indexOf("_shoal_install() {");
    expect(lines.slice(1, start).every((l) => l === "" || l.startsWith("#"))).toBe(true);
    expect(lines.at(-3)).toBe("}");
    for (const shell of [["dash", "-n"], ["bash", "--posix", "-n"]]) {
      const res = spawnSync(shell[0]!, [...shell.slice(1)], { input: text, encoding: "utf8" });
      expect(res.status, `${shell.join(" ")}: ${res.stderr}`).toBe(0);
    }
    expect(text).not.toMatch(/set -[a-z]*x/);
  });

  it("refuses a checksum that is not 64 hex digits", async () => {
    expect(() => renderInstallScript({ url, bundleSha256: "abc" })).toThrow(/64 hex/);
  });

  it("shellQuote keeps any value literal", async () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }).filter((s) => !s.includes("\0")), (value) => {
        const res = spawnSync("sh", ["-c", `printf %s ${shellQuote(value)}`], { encoding: "utf8" });
        expect(res.stdout).toBe(value);
      }),
      { numRuns: 50 },
    );
  });

  it("a URL with quotes or newlines cannot break out of the script", async () => {
    const text = script({ url: "https://evil.example/'; touch /tmp/pwned; '\nrm -rf /" });
    expect(spawnSync("dash", ["-n"], { input: text }).status).toBe(0);
    const res = await runScript(text, ["--stage", stageDir(), "--token", token]);
    expect(res.status).toBe(1);
    expect(res.output).toMatch(/unexpected characters/);
  });
});

describe("a truncated download runs nothing", () => {
  const truncatedRuns = async (cut: number) => {
    const text = script();
    served = bundle;
    requests = 0;
    const stage = stageDir();
    const res = await runScript(text.slice(0, cut), ["--stage", stage, "--token", token], { SHOAL_JOIN_TOKEN: token });
    expect(requests, `cut at ${cut}: ${JSON.stringify(text.slice(cut - 30, cut))}`).toBe(0);
    expect(existsSync(stage)).toBe(false);
    expect(res.stdout).not.toMatch(/staged/);
  };

  it("cut anywhere (random offsets)", async () => {
    // Up to the last command's final character: cutting only the newline after it leaves the whole script.
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: script().trimEnd().length - 1 }), truncatedRuns), { numRuns: 60 });
  });

  it("cut anywhere in the last line", async () => {
    const text = script();
    for (let cut = text.lastIndexOf("_shoal_install "); cut < text.trimEnd().length; cut++) await truncatedRuns(cut);
  });

  it("whole, the same command stages", async () => {
    const text = script();
    served = bundle;
    const stage = stageDir();
    const res = await runScript(text, ["--stage", stage, "--token", token]);
    expect(res.status, res.output).toBe(0);
    expect(existsSync(join(stage, "shoal-agent.mjs"))).toBe(true);
  });
});

describe("what it installs", () => {
  it("the bundle as served, an env file of mode 0600 holding the token, a systemd unit and a supervisor", async () => {
    served = bundle;
    const stage = stageDir();
    const res = await runScript(script(), ["--stage", stage, "--token", token, "--prefix", "/srv/x", "--docker-socket", "/run/d.sock", "--addr", "10.0.0.5"]);
    expect(res.status, res.output).toBe(0);
    expect(res.output).toContain("node runtime");
    expect(readFileSync(join(stage, "shoal-agent.mjs"), "utf8")).toBe(bundle);
    expect(statSync(join(stage, "agent.env")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(stage, "agent.env"), "utf8")).toBe(
      [
        "SHOAL_RUNTIME=node",
        `SHOAL_URL=${url}`,
        `SHOAL_JOIN_TOKEN=${token}`,
        "SHOAL_AGENT_STATE_DIR=/srv/x/var/lib/shoal-agent",
        "DOCKER_SOCKET=/run/d.sock",
        "SHOAL_AGENT_ADDR=10.0.0.5",
        "",
      ].join("\n"),
    );
    const unit = readFileSync(join(stage, "shoal-agent.service"), "utf8");
    expect(unit).toContain("EnvironmentFile=/srv/x/etc/shoal-agent/agent.env\n");
    expect(unit).toContain(`ExecStart=${process.execPath} /srv/x/opt/shoal-agent/shoal-agent.mjs run\n`);
    expect(unit).toContain("Restart=on-failure\n");
    expect(unit).toContain("WantedBy=multi-user.target\n");
    expect(unit).not.toContain(token);
    const supervise = readFileSync(join(stage, "supervise"), "utf8");
    expect(supervise).toContain(`  ${process.execPath} /srv/x/opt/shoal-agent/shoal-agent.mjs run &\n`);
    expect(spawnSync("dash", ["-n"], { input: supervise }).status).toBe(0);
    const cli = readFileSync(join(stage, "shoal-agent"), "utf8");
    expect(cli).toContain("set -a; . /srv/x/etc/shoal-agent/agent.env; set +a\n");
    expect(cli).toContain(`exec ${process.execPath} /srv/x/opt/shoal-agent/shoal-agent.mjs "$@"\n`);
    expect(spawnSync("dash", ["-n"], { input: cli }).status).toBe(0);
  });

  it("the unit passes systemd-analyze verify where systemd's tools are installed", async () => {
    served = bundle;
    const stage = stageDir();
    expect((await runScript(script(), ["--stage", stage, "--token", token])).status).toBe(0);
    const analyze = spawnSync("sh", ["-c", "command -v systemd-analyze"], { encoding: "utf8" }).stdout.trim();
    const unit = readFileSync(join(stage, "shoal-agent.service"), "utf8");
    expect(unit.split("\n").filter((l) => /^\[(Unit|Service|Install)\]$/.test(l))).toEqual(["[Unit]", "[Service]", "[Install]"]);
    if (analyze) {
      const file = join(stage, "verify", "shoal-agent.service");
      rmSync(join(stage, "verify"), { recursive: true, force: true });
      spawnSync("mkdir", ["-p", join(stage, "verify")]);
      writeFileSync(file, unit);
      const res = spawnSync(analyze, ["verify", file], { encoding: "utf8" });
      expect(res.stderr.split("\n").filter((l) => l.includes("shoal-agent.service"))).toEqual([]);
      expect(res.status).toBe(0);
    }
  });

  it("without Node.js >= 20 the agent runs in a Node container, with the Docker socket mounted", async () => {
    served = bundle;
    const bin = join(dir, "fakebin");
    spawnSync("mkdir", ["-p", bin]);
    writeFileSync(join(bin, "node"), "#!/bin/sh\nexit 1\n"); // an old Node: the version check fails
    writeFileSync(join(bin, "docker"), "#!/bin/sh\nexit 0\n");
    chmodSync(join(bin, "node"), 0o755);
    chmodSync(join(bin, "docker"), 0o755);
    for (const image of [undefined, "registry.example/node:22"]) {
      const stage = stageDir();
      const res = await runScript(script(), ["--stage", stage, "--token", token, ...(image ? ["--image", image] : [])], { PATH: `${bin}:${process.env.PATH}` });
      expect(res.status, res.output).toBe(0);
      expect(res.output).toContain("container runtime");
      const unit = readFileSync(join(stage, "shoal-agent.service"), "utf8");
      expect(unit).toContain(`ExecStartPre=-${bin}/docker -H unix:///var/run/docker.sock rm -f shoal-agent\n`);
      expect(unit).toMatch(
        new RegExp(`ExecStart=${bin}/docker -H unix:///var/run/docker.sock run --rm --name shoal-agent --network host --env-file /etc/shoal-agent/agent.env -v /var/run/docker.sock:/var/run/docker.sock -v /opt/shoal-agent:/opt/shoal-agent:ro -v /var/lib/shoal-agent:/var/lib/shoal-agent .*${(image ?? defaultAgentImage).replaceAll(".", "\\.")} node /opt/shoal-agent/shoal-agent.mjs run\n`),
      );
      expect(readFileSync(join(stage, "agent.env"), "utf8")).toContain("SHOAL_AGENT_STATE_DIR=/var/lib/shoal-agent\nDOCKER_SOCKET=/var/run/docker.sock\n");
      // The shoal-agent command runs in a container of its own, not the agent's (--name would clash).
      expect(readFileSync(join(stage, "shoal-agent"), "utf8")).toMatch(
        new RegExp(`exec ${bin}/docker -H unix:///var/run/docker.sock run --rm --network host --env-file /etc/shoal-agent/agent.env .* node /opt/shoal-agent/shoal-agent.mjs "\\$@"\n`),
      );
    }
    const forced = await runScript(script(), ["--stage", stageDir(), "--token", token, "--runtime", "node"], { PATH: `${bin}:${process.env.PATH}` });
    expect(forced.status).toBe(1);
    expect(forced.output).toMatch(/needs Node.js 20/);
  });
});

describe("what it refuses", () => {
  it.each([
    ["https://shoal.example", [], true],
    ["http://127.0.0.1:1", [], true],
    ["http://localhost:1", [], true],
    ["http://[::1]:1", [], true],
    ["http://10.1.2.3:1", [], false],
    ["http://127.evil.example:1", [], false],
    ["http://127.0.0.1.evil.example:1", [], false],
    ["http://127.0.0.1", [], true],
    ["http://localhost.evil.example:1", [], false],
    ["http://[::1]@10.1.2.3:1", [], false],
    ["http://[::1].evil.example:1", [], false],
    ["http://127.0.0.1@10.1.2.3:1", [], false],
    ["http://10.1.2.3:1", ["--insecure"], true],
    ["ftp://shoal.example", ["--insecure"], false],
  ] as const)("the URL %s %j: allowed=%s", async (target, flags, allowed) => {
    // Port 1 and an unresolvable name: an allowed URL gets as far as the download, which fails.
    const res = await runScript(script({ url: target.replace("https://shoal.example", "https://shoal.invalid") }), ["--stage", stageDir(), "--token", token, ...flags]);
    expect(res.status).toBe(1);
    expect(res.output).toMatch(allowed ? /could not download/ : /refusing|must start with https/);
  });

  it("a bundle that does not match its checksum; nothing staged", async () => {
    served = `${bundle}// tampered\n`;
    const stage = stageDir();
    const res = await runScript(script(), ["--stage", stage, "--token", token]);
    expect(res.status).toBe(1);
    expect(res.output).toContain(`SHA-256 is ${createHash("sha256").update(served).digest("hex")}, not ${sha}: refusing to install it`);
    expect(existsSync(stage)).toBe(false);
  });

  it("no token, an unknown option, a bad runtime", async () => {
    const stage = stageDir();
    expect((await runScript(script(), ["--stage", stage])).output).toMatch(/give the join token/);
    expect((await runScript(script(), ["--stage", stage, "--token", token, "--tokn", "x"])).output).toMatch(/unknown option --tokn/);
    expect((await runScript(script(), ["--stage", stage, "--token"])).output).toMatch(/--token needs a value/);
    expect((await runScript(script(), ["--stage", stage, "--token", token, "--runtime", "podman"])).output).toMatch(/--runtime must be/);
    // The image goes into generated command lines: nothing that could split or chain them.
    expect((await runScript(script(), ["--stage", stage, "--token", token, "--image", "node:20; touch /tmp/x"])).output).toMatch(/unexpected characters/);
    expect(existsSync(stage)).toBe(false);
  });

  it("never prints the token, whatever happens", async () => {
    const outputs: string[] = [];
    for (const [bundleText, args, env] of [
      [bundle, ["--stage", stageDir(), "--token", token], {}],
      [bundle, ["--stage", stageDir()], { SHOAL_JOIN_TOKEN: token }],
      [`${bundle}x`, ["--stage", stageDir(), "--token", token], {}],
      [bundle, ["--stage", stageDir(), "--token", token, "--url", "http://10.0.0.1"], {}],
      [bundle, ["--stage", stageDir(), "--token", token, "--url", "http://127.0.0.1:1"], {}],
      [bundle, ["--help", "--token", token], {}],
    ] as const) {
      served = bundleText;
      outputs.push((await runScript(script(), [...args], env)).output);
    }
    expect(outputs.filter((o) => o.includes("shoal-agent:") || o.includes("Usage"))).toHaveLength(outputs.length);
    for (const o of outputs) expect(o).not.toContain("SECRET");
  });
});
