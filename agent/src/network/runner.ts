import { spawn } from "node:child_process";

/** A command that failed: which, how, and what it printed on stderr. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${command}: ${exitCode === null ? "killed" : `exit ${exitCode}`}${stderr ? `: ${stderr}` : ""}`);
    this.name = "CommandError";
  }
}

/** Runs iproute2, nft, iptables, conntrack and sysctl as binaries; the only place the network code starts processes. */
export interface CommandRunner {
  /** Resolves to stdout; rejects with a CommandError unless the exit code is in `okCodes` (default [0]). */
  run(cmd: string, args: string[], opts?: { input?: string; okCodes?: number[] }): Promise<string>;
}

const timeoutMs = 20_000;

/**
 * The runner for this host. `prefix` goes before every command (e.g. `nsenter
 * --net=/var/run/netns/X`, to act on another network namespace).
 */
export function commandRunner(prefix: string[] = []): CommandRunner {
  return {
    run(cmd, args, opts = {}) {
      const [file, ...rest] = [...prefix, cmd, ...args];
      const shown = [cmd, ...args].join(" ");
      return new Promise((resolve, reject) => {
        const child = spawn(file!, rest, { stdio: ["pipe", "pipe", "pipe"], timeout: timeoutMs, killSignal: "SIGKILL", env: { ...process.env, LC_ALL: "C" } });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (d: Buffer) => out.push(d));
        child.stderr.on("data", (d: Buffer) => err.push(d));
        child.on("error", (e) => reject(new CommandError(shown, null, e.message)));
        child.on("close", (code) => {
          if (code !== null && (opts.okCodes ?? [0]).includes(code)) resolve(Buffer.concat(out).toString("utf8"));
          else reject(new CommandError(shown, code, Buffer.concat(err).toString("utf8").trim()));
        });
        child.stdin.on("error", () => undefined);
        child.stdin.end(opts.input);
      });
    },
  };
}
