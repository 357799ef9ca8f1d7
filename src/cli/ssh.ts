import { spawn } from "node:child_process";
import { explainSshFailure } from "./machine-plan.js";

/**
 * The CLI's SSH: the system's OpenSSH client (Debian's openssh-client), which
 * already does host keys, agents and ProxyJump right. Host keys are checked
 * against the CLI's own known_hosts file; a host seen for the first time is
 * trusted and its key recorded there (StrictHostKeyChecking=accept-new), a
 * changed key is refused. Never a password prompt (BatchMode).
 */

export interface SshTarget {
  address: string;
  port: number;
  user: string;
  keyPath?: string;
  knownHostsFile: string;
}

export function sshArgs(t: SshTarget, opts: { tty?: boolean; connectTimeoutS?: number } = {}): string[] {
  return [
    ...(t.keyPath ? ["-i", t.keyPath, "-o", "IdentitiesOnly=yes"] : []),
    "-p",
    String(t.port),
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=accept-new",
    "-o",
    `UserKnownHostsFile=${t.knownHostsFile}`,
    "-o",
    `ConnectTimeout=${opts.connectTimeoutS ?? 10}`,
    "-o",
    "LogLevel=ERROR",
    opts.tty ? "-t" : "-T",
    `${t.user}@${t.address}`,
  ];
}

export interface RemoteResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** An SSH connection that failed (not the remote command): what happened and what to do. */
export class SshError extends Error {
  override name = "SshError";
}

/** Runs a shell script on the host (`sh -s`, the script on stdin); rejects with an SshError when ssh itself failed. */
export function runRemote(t: SshTarget, script: string, opts: { timeoutMs?: number; connectTimeoutS?: number } = {}): Promise<RemoteResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", [...sshArgs(t, { connectTimeoutS: opts.connectTimeoutS }), "sh", "-s"], {
      stdio: ["pipe", "pipe", "pipe"],
      timeout: opts.timeoutMs ?? 600_000,
      killSignal: "SIGKILL",
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", (e) => reject(new SshError(`cannot run ssh (the OpenSSH client; on Debian: apt-get install openssh-client): ${e.message}`)));
    child.stdin.on("error", () => {}); // a host that hangs up before reading the script: the exit code tells
    child.on("close", (code, signal) => {
      const result = { code: code ?? -1, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
      if (signal) return reject(new SshError(`ssh to ${t.address}:${t.port} did not finish in ${Math.round((opts.timeoutMs ?? 600_000) / 1000)} s`));
      if (result.code === 255) return reject(new SshError(explainSshFailure(result.stderr, t) ?? `ssh to ${t.address}:${t.port} failed: ${result.stderr.trim()}`));
      resolve(result);
    });
    child.stdin.end(script);
  });
}

/** Whether known_hosts already holds a key for the host (else the first connection trusts and records it). */
export function knowsHost(t: SshTarget): Promise<boolean> {
  const host = t.port === 22 ? t.address : `[${t.address}]:${t.port}`;
  return new Promise((resolve) => {
    const child = spawn("ssh-keygen", ["-F", host, "-f", t.knownHostsFile], { stdio: "ignore" });
    child.on("error", () => resolve(false));
    child.on("close", (code) => resolve(code === 0));
  });
}
