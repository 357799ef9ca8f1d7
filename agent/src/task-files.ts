import { statfsSync } from "node:fs";
import { chmod, chown, mkdir, readdir, rm, statfs, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pack } from "tar-stream";
import { secretsDir, type FileReference } from "../../src/domain/service-spec.js";
import type { Assignment, FileData } from "../../src/protocol/agent-v1.js";

/** One secret or config as a file in a task's container. */
export interface TaskFile {
  /** Absolute path in the container. */
  target: string;
  data: Buffer;
  uid: number;
  gid: number;
  mode: number;
}

function filesOf(refs: FileReference[], delivered: FileData[], kind: "secret" | "config"): TaskFile[] {
  const byId = new Map(delivered.map((f) => [f.id, f]));
  return refs.map((r) => {
    const f = byId.get(r.id);
    // The dispatcher sends every object the spec refers to while the task is to run; a missing one was removed meanwhile.
    if (!f) throw new Error(`${kind} ${r.source} (${r.id}) was not delivered with the task: it no longer exists`);
    return { target: r.target, data: Buffer.from(f.data, "base64"), uid: r.uid, gid: r.gid, mode: r.mode };
  });
}

/**
 * The files an assignment puts in its container: each secret and config
 * reference with the bytes delivered for it, its owner and mode. Pure.
 * Throws when a referenced object was not delivered (the task is then rejected).
 */
export function planTaskFiles(a: Assignment): { secrets: TaskFile[]; configs: TaskFile[] } {
  return { secrets: filesOf(a.spec.task.secrets, a.secrets, "secret"), configs: filesOf(a.spec.task.configs, a.configs, "config") };
}

/**
 * A tar archive (in memory) of `files`, named relative to `/`, with each
 * file's owner and mode, for the Engine API's PUT /containers/{id}/archive at
 * `/` with copyUIDGID. It has no directory entries: directories the image has
 * keep their owner and mode, and the engine makes missing parents.
 * tar-stream writes the headers (ustar, with pax records for long names),
 * which a hand-written encoder would get wrong at the edges.
 */
export async function tarFiles(files: TaskFile[]): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    tar.on("data", (chunk) => chunks.push(chunk as Buffer));
    tar.on("end", () => resolve(Buffer.concat(chunks)));
    tar.on("error", reject);
  });
  for (const f of files) {
    await new Promise<void>((resolve, reject) =>
      tar.entry({ name: f.target.replace(/^\/+/, ""), type: "file", mode: f.mode, uid: f.uid, gid: f.gid, mtime: new Date(0) }, f.data, (err) => (err ? reject(err) : resolve())),
    );
  }
  tar.finalize();
  return done;
}

/** statfs f_type of tmpfs and ramfs: memory-backed file systems. */
const memoryFsTypes = new Set([0x01021994, 0x858458f6]);

/** Where secrets go by default: under /run when it is in memory (systemd hosts), else under /dev/shm. */
export function defaultSecretsDir(): string {
  try {
    if (memoryFsTypes.has(statfsSync("/run").type)) return "/run/shoal-agent/secrets";
  } catch {
    // No /run: /dev/shm it is.
  }
  return "/dev/shm/shoal-agent/secrets";
}

const taskDirName = /^task_[a-v0-9]{1,40}$/;

/**
 * The in-memory home of tasks' secrets on this host: one directory per task,
 * on a tmpfs, bind-mounted read-only at /run/secrets in the task's container
 * (as Swarm's daemon does with its own tmpfs). The Engine API cannot write
 * into a container's tmpfs mount (an archive sent to a created container, or
 * to a running one, lands in its writable layer on disk, under the mount), so
 * the agent writes the files itself, and only after checking that the
 * directory is memory-backed: a secret is never written to disk.
 */
export class SecretFiles {
  constructor(readonly dir: string) {}

  /** The directory of one task's secrets (the bind mount's source). */
  taskDir(taskId: string): string {
    if (!taskDirName.test(taskId)) throw new Error(`not a task id: ${taskId}`);
    return join(this.dir, taskId);
  }

  /** Writes a task's secrets afresh (what an earlier run left is replaced), each with its owner and mode. Returns the task's directory. */
  async write(taskId: string, files: TaskFile[]): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const { type } = await statfs(this.dir);
    if (!memoryFsTypes.has(type))
      throw new Error(`secrets are kept in memory only, and ${this.dir} is not on a tmpfs; give the agent --secrets-dir on one`);
    await chmod(this.dir, 0o700);
    const root = this.taskDir(taskId);
    await rm(root, { recursive: true, force: true });
    await mkdir(root, { mode: 0o755 });
    for (const f of files) {
      const path = join(root, f.target.slice(secretsDir.length + 1));
      await mkdir(dirname(path), { recursive: true, mode: 0o755 });
      await writeFile(path, f.data, { mode: 0o600 });
      await chown(path, f.uid, f.gid);
      // After chown, which clears set-id bits; the umask does not apply to chmod.
      await chmod(path, f.mode);
    }
    return root;
  }

  /** Removes a task's secrets (none is fine). */
  async remove(taskId: string): Promise<void> {
    await rm(this.taskDir(taskId), { recursive: true, force: true });
  }

  /** Removes the secrets of every task not in `keep` (left by a crash between a container's removal and its secrets'). */
  async prune(keep: ReadonlySet<string>): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    await Promise.all(names.filter((n) => taskDirName.test(n) && !keep.has(n)).map((n) => this.remove(n)));
  }
}
