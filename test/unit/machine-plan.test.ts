import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/cli/format/units.js";
import {
  agentInstallScript,
  dockerInstallPlan,
  dockerInstallScript,
  eachBounded,
  explainSshFailure,
  hostProblem,
  machinesFromFlags,
  membership,
  outcomeLine,
  parseHostsFile,
  parseProbe,
  probeScript,
  summaryLines,
  type HostProbe,
} from "../../src/cli/machine-plan.js";

const probe = (over: Partial<HostProbe> = {}): HostProbe => ({
  uid: 0,
  sudo: false,
  os: "Linux",
  arch: "x86_64",
  distro: { id: "debian", idLike: [], pretty: "Debian GNU/Linux 12 (bookworm)" },
  packageManagers: ["apt-get"],
  systemd: true,
  fetcher: "curl",
  dockerCli: "/usr/bin/docker",
  dockerVersion: "20.10.24",
  dockerError: "",
  engineName: "h1",
  dockerSocket: "/var/run/docker.sock",
  machineId: "0123456789abcdef",
  agentPrefix: "",
  ...over,
});

describe("hosts file", () => {
  it("one NAME ADDR a line; comments, blank lines and extra spaces are skipped", () => {
    expect(parseHostsFile("# fleet\nweb1 10.0.0.1\n\n  web2\t10.0.0.2   # rack 2\ndb [fd00::5]\n", "hosts")).toEqual([
      { name: "web1", address: "10.0.0.1" },
      { name: "web2", address: "10.0.0.2" },
      { name: "db", address: "fd00::5" },
    ]);
  });

  it.each([
    ["web1\n", "hosts:1: expected NAME ADDR, got \"web1\""],
    ["web1 10.0.0.1\nweb2 10.0.0.2 22\n", "hosts:2: expected NAME ADDR, got \"web2 10.0.0.2 22\""],
    ["-x 10.0.0.1\n", "hosts:1: invalid machine name \"-x\""],
    ["web1 10.0.0.1;rm\n", "hosts:1: invalid address \"10.0.0.1;rm\""],
    ["web1 10.0.0.1\nweb1 10.0.0.2\n", "machine web1 is named twice"],
    ["# nothing\n\n", "hosts names no machine"],
  ])("%j is refused: %s", (text, message) => {
    expect(() => parseHostsFile(text, "hosts")).toThrow(UsageError);
    expect(() => parseHostsFile(text, "hosts")).toThrow(message);
  });

  it("any list of distinct names and addresses round-trips through the file format", () => {
    const name = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/);
    const ip = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join("."));
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(name, ip), { minLength: 1, maxLength: 20, selector: ([n]) => n }), (rows) => {
        const text = rows.map(([n, a]) => `${n} ${a}`).join("\n");
        expect(parseHostsFile(text, "f")).toEqual(rows.map(([n, a]) => ({ name: n, address: a })));
      }),
    );
  });

  it("flags: NAME --ip A is one machine; several --ip are NAME-1, NAME-2", () => {
    expect(machinesFromFlags("web", ["10.0.0.1"])).toEqual([{ name: "web", address: "10.0.0.1" }]);
    expect(machinesFromFlags("web", ["10.0.0.1", "10.0.0.2"])).toEqual([
      { name: "web-1", address: "10.0.0.1" },
      { name: "web-2", address: "10.0.0.2" },
    ]);
    expect(() => machinesFromFlags(undefined, ["10.0.0.1"])).toThrow(/give the machine's NAME/);
    expect(() => machinesFromFlags("web", [])).toThrow(/--ip ADDR/);
  });
});

describe("the host probe", () => {
  it("the script is POSIX sh (dash parses it)", () => {
    expect(spawnSync("dash", ["-n"], { input: probeScript }).status).toBe(0);
  });

  it("runs here and reads back what it printed", () => {
    const res = spawnSync("sh", ["-s"], { input: probeScript, encoding: "utf8", env: { ...process.env, SHOAL_AGENT_PREFIX: "/nonexistent", SHOAL_MACHINE_ID: "probe-test-id" } });
    expect(res.status).toBe(0);
    const p = parseProbe(res.stdout);
    expect(p).toMatchObject({ os: "Linux", machineId: "probe-test-id", agentPrefix: "/nonexistent", fetcher: "curl" });
    expect(p.uid).toBe(process.getuid!());
    expect(p.joined).toBeUndefined();
  });

  it("parses every field; a stored credential gives the cluster URL and node, never the credential", () => {
    const p = parseProbe(
      [
        "uid=1000",
        "sudo=yes",
        "os=Linux",
        "arch=aarch64",
        "id=rocky",
        "id_like=rhel centos fedora",
        "pretty=Rocky Linux 9.3 (Blue Onyx)",
        "pkg=dnf",
        "pkg=yum",
        "fetcher=wget",
        "docker_cli=/usr/bin/docker",
        "docker_error=Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
        "engine_name=",
        "docker_socket=/run/user/1000/docker.sock",
        "machine_id=abcdef0123456789",
        "prefix=",
        "joined_url=https://cp.example",
        "joined_node=node_abc",
        "",
      ].join("\n"),
    );
    expect(p).toEqual({
      uid: 1000,
      sudo: true,
      os: "Linux",
      arch: "aarch64",
      distro: { id: "rocky", idLike: ["rhel", "centos", "fedora"], pretty: "Rocky Linux 9.3 (Blue Onyx)" },
      packageManagers: ["dnf", "yum"],
      systemd: false,
      fetcher: "wget",
      dockerCli: "/usr/bin/docker",
      dockerVersion: "",
      dockerError: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
      engineName: "",
      dockerSocket: "/run/user/1000/docker.sock",
      machineId: "abcdef0123456789",
      agentPrefix: "",
      joined: { url: "https://cp.example", nodeId: "node_abc" },
    });
    expect(() => parseProbe("bash: sh: command not found\n")).toThrow(/did not answer the probe/);
  });

  it.each([
    [probe(), "root", undefined],
    [probe({ os: "Darwin" }), "root", /runs Darwin, not Linux/],
    [probe({ uid: 1000 }), "ops", /ops is not root there and sudo asks for a password: use --ssh-user root/],
    [probe({ uid: 1000, sudo: true }), "ops", undefined],
    [probe({ fetcher: "" }), "root", /neither curl nor wget/],
  ])("host problems %#", (p, user, problem) => {
    const found = hostProblem(p, user);
    if (problem) expect(found).toMatch(problem);
    else expect(found).toBeUndefined();
  });

  it("membership: none, this cluster (its node exists), or another (or a node removed since)", () => {
    expect(membership(undefined, "https://a", false)).toBe("none");
    expect(membership({ url: "https://a/", nodeId: "n" }, "https://a", true)).toBe("this");
    expect(membership({ url: "https://a", nodeId: "n" }, "https://a", false)).toBe("other");
    expect(membership({ url: "https://b", nodeId: "n" }, "https://a", true)).toBe("other");
  });
});

describe("installing Docker, per distribution", () => {
  const distro = (id: string, idLike: string[] = []) => ({ id, idLike, pretty: "" });
  it.each([
    ["Debian", distro("debian"), ["apt-get"], "apt-get", ["apt-get update", "DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io"]],
    ["Ubuntu", distro("ubuntu", ["debian"]), ["apt-get"], "apt-get", ["apt-get update", "DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io"]],
    ["Linux Mint", distro("linuxmint", ["ubuntu", "debian"]), ["apt-get"], "apt-get", ["apt-get update", "DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io"]],
    ["Fedora", distro("fedora"), ["dnf"], "dnf", ["dnf install -y moby-engine"]],
    ["Amazon Linux 2", distro("amzn", ["centos", "rhel", "fedora"]), ["yum"], "yum", ["yum install -y docker"]],
    [
      "Rocky 9",
      distro("rocky", ["rhel", "centos", "fedora"]),
      ["dnf", "yum"],
      "dnf",
      ["dnf install -y dnf-plugins-core", "dnf config-manager --add-repo https://download.docker.com/linux/centos/docker-ce.repo", "dnf install -y docker-ce docker-ce-cli containerd.io"],
    ],
    [
      "CentOS 7",
      distro("centos", ["rhel", "fedora"]),
      ["yum"],
      "yum",
      ["yum install -y yum-utils", "yum-config-manager --add-repo https://download.docker.com/linux/centos/docker-ce.repo", "yum install -y docker-ce docker-ce-cli containerd.io"],
    ],
    ["RHEL 9", distro("rhel", ["fedora"]), ["dnf"], "dnf", ["dnf install -y dnf-plugins-core", "dnf config-manager --add-repo https://download.docker.com/linux/centos/docker-ce.repo", "dnf install -y docker-ce docker-ce-cli containerd.io"]],
  ])("%s: %s", (_name, d, managers, manager, commands) => {
    expect(dockerInstallPlan({ distro: d, packageManagers: managers, systemd: false })).toEqual({ manager, commands });
    expect(dockerInstallPlan({ distro: d, packageManagers: managers, systemd: true })).toEqual({ manager, commands: [...commands, "systemctl enable --now docker"] });
  });

  it.each([
    [distro("alpine"), ["apk"], /no supported package manager for alpine \(Debian, Ubuntu and the RHEL family are: apt-get, dnf or yum\)/],
    [distro("arch"), [], /no supported package manager/],
    [distro("debian"), [], /has no apt-get/],
    [distro("rocky", ["rhel"]), [], /has neither dnf nor yum/],
  ])("unsupported: %j", (d, managers, error) => {
    const plan = dockerInstallPlan({ distro: d, packageManagers: managers, systemd: true });
    expect("error" in plan && plan.error).toMatch(error);
  });

  it("the script runs each command in turn (through sudo when not root), stopping at the first failure", () => {
    const plan = { commands: ["echo one", "echo two >&2; false", "echo three"] };
    const res = spawnSync("sh", ["-s"], { input: dockerInstallScript(plan, false), encoding: "utf8" });
    expect(res.status).toBe(3);
    expect(res.stdout).toBe("running=echo one\nrunning=echo two >&2; false\nfailed=echo two >&2; false\none\ntwo\n");
    expect(dockerInstallScript(plan, true)).toContain(`sudo -n sh -c 'echo one' </dev/null`);
    expect(spawnSync("dash", ["-n"], { input: dockerInstallScript(plan, true) }).status).toBe(0);
  });
});

describe("installing the agent", () => {
  it("the token is set in the script (on ssh's stdin), never on a command line; the options follow the host", () => {
    const script = agentInstallScript(probe({ uid: 1000, agentPrefix: "/srv/h1", machineId: "m-123456789", dockerSocket: "/srv/h1/docker.sock" }), {
      url: "https://cp.example/",
      joinToken: "SWMTKN-1-x'y",
      insecure: false,
    });
    expect(script).toContain(`SHOAL_JOIN_TOKEN='SWMTKN-1-x'\\''y'; export SHOAL_JOIN_TOKEN`);
    expect(script).toContain(`curl -fsS --max-time 20 -o "$script" 'https://cp.example/install.sh'`);
    expect(script).toContain(
      `sudo -n --preserve-env=SHOAL_JOIN_TOKEN sh "$script" '--url' 'https://cp.example' '--docker-socket' '/srv/h1/docker.sock' '--prefix' '/srv/h1' '--machine-id' 'm-123456789'\n`,
    );
    expect(spawnSync("dash", ["-n"], { input: script }).status).toBe(0);
  });

  it("an upgrade keeps the stored token; uninstall and --insecure pass through; wget when there is no curl", () => {
    const script = agentInstallScript(probe({ fetcher: "wget" }), { url: "http://10.0.0.1:8080", insecure: true, uninstall: true });
    expect(script).toContain("unset SHOAL_JOIN_TOKEN");
    expect(script).toContain(`wget -q -T 20 -O "$script" 'http://10.0.0.1:8080/install.sh'`);
    expect(script).toContain(`  sh "$script" '--url' 'http://10.0.0.1:8080' '--docker-socket' '/var/run/docker.sock' '--insecure' '--uninstall'\n`);
  });

  it("a control plane the host can't reach: unreachable=… and exit 4", () => {
    const res = spawnSync("sh", ["-s"], { input: agentInstallScript(probe(), { url: "http://127.0.0.1:9", joinToken: "t", insecure: false }), encoding: "utf8" });
    expect(res.status).toBe(4);
    expect(res.stdout).toMatch(/^unreachable=curl: \(7\) .*\n$/);
  });
});

describe("SSH failures", () => {
  const t = { user: "root", address: "10.0.0.5", port: 22, keyPath: "/k/id", knownHostsFile: "/c/known_hosts" };
  it.each([
    ["ssh: connect to host 10.0.0.5 port 22: Connection refused\n", /^cannot reach 10\.0\.0\.5:22 over SSH \(ssh: connect to host 10\.0\.0\.5 port 22: Connection refused\): check the address, that sshd runs/],
    ["ssh: connect to host 10.0.0.5 port 22: No route to host\n", /^cannot reach 10\.0\.0\.5:22/],
    ["ssh: connect to host 10.0.0.5 port 22: Connection timed out\n", /^cannot reach/],
    ["root@10.0.0.5: Permission denied (publickey).\n", /^10\.0\.0\.5:22 refused the SSH key \/k\/id for root \(root@10\.0\.0\.5: Permission denied \(publickey\)\.\): add the public key to ~root\/\.ssh\/authorized_keys on the host \(ssh-copy-id -i \/k\/id root@10\.0\.0\.5\)/],
    ["@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n...\nHost key verification failed.\n", /^the host key of 10\.0\.0\.5:22 is not the one recorded in \/c\/known_hosts: .* ssh-keygen -R 10\.0\.0\.5 -f \/c\/known_hosts/],
  ])("%j", (stderr, message) => {
    expect(explainSshFailure(stderr, t)).toMatch(message);
  });

  it("a non-default port is how known_hosts names it; an unknown failure is left as ssh said it", () => {
    expect(explainSshFailure("Host key verification failed.\n", { ...t, port: 2222 })).toContain(`ssh-keygen -R '[10.0.0.5]:2222'`);
    expect(explainSshFailure("something else\n", t)).toBeUndefined();
  });
});

describe("progress and summary", () => {
  it("a line per outcome; failures again at the end, then the counts", () => {
    expect(outcomeLine({ state: "created", nodeId: "node_1", hostname: "web1" })).toBe("ready: node node_1 (web1)");
    expect(outcomeLine({ state: "already", nodeId: "node_2", hostname: "web2" })).toBe("already a node (node_2, web2); nothing changed");
    expect(outcomeLine({ state: "failed", error: "cannot reach" })).toBe("failed: cannot reach");
    expect(
      summaryLines([
        ["web1", { state: "created", nodeId: "node_1", hostname: "web1" }],
        ["web2", { state: "already", nodeId: "node_2", hostname: "web2" }],
        ["web3", { state: "failed", error: "cannot reach 10.0.0.3:22 over SSH" }],
      ]),
    ).toEqual(["web3: cannot reach 10.0.0.3:22 over SSH", "3 machines: 1 created, 1 already nodes, 1 failed"]);
    expect(summaryLines([["a", { state: "created", nodeId: "n", hostname: "a" }]])).toEqual(["1 machine: 1 created, 0 already nodes, 0 failed"]);
  });

  it("eachBounded runs every item once, never more than the limit at a time", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 8 }), async (n, limit) => {
        let running = 0;
        let peak = 0;
        const done: number[] = [];
        await eachBounded([...Array(n).keys()], limit, async (i) => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, i % 3));
          done.push(i);
          running--;
        });
        expect(done.sort((x, y) => x - y)).toEqual([...Array(n).keys()]);
        expect(peak).toBe(Math.min(limit, n));
      }),
      { numRuns: 30 },
    );
  });
});
