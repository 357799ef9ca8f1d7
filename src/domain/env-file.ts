/** An env file line docker refuses: a name with whitespace in it, or none. */
export class EnvFileError extends Error {
  override name = "EnvFileError";
}

/** Looks a variable up in the environment of whoever reads the file. */
export type LookupEnv = (name: string) => string | undefined;

/** A lookup in a sent environment: its own entries only (never `constructor` or `__proto__` of Object). */
export const lookupIn =
  (env: Record<string, string>): LookupEnv =>
  (name) =>
    Object.hasOwn(env, name) ? env[name] : undefined;

/** `KEY` alone: the entry with its value from the environment, or undefined when it is unset there. */
export function passThrough(name: string, lookup: LookupEnv): [string, string] | undefined {
  const value = lookup(name);
  return value === undefined ? undefined : [name, value];
}

/**
 * An env file as docker reads it for `--env-file` and for a stack's
 * `env_file` (docker/cli's opts.ParseEnvFile, not compose's dotenv): one
 * `KEY=value` a line, the value as written (no quotes, no trimming, no
 * interpolation); leading whitespace, blank lines and `#` lines skipped; a
 * byte-order mark at the start ignored; `KEY` alone passed through from the
 * environment, and left out when unset there (docker passes the bare name on
 * and the container then has no such variable). Used by the stack loader and
 * the CLI.
 */
export function parseEnvFile(text: string, lookup: LookupEnv): [string, string][] {
  const entries: [string, string][] = [];
  text
    .replace(/^\uFEFF/, "")
    .split("\n")
    .forEach((raw, i) => {
      const line = raw.replace(/\r$/, "").trimStart();
      if (line === "" || line.startsWith("#")) return;
      const at = line.indexOf("=");
      const name = at < 0 ? line : line.slice(0, at);
      if (/[ \t]/.test(name)) throw new EnvFileError(`line ${i + 1}: variable '${name}' contains whitespace`);
      if (name === "") throw new EnvFileError(`line ${i + 1}: no variable name before "="`);
      const entry = at < 0 ? passThrough(name, lookup) : ([name, line.slice(at + 1)] as [string, string]);
      if (entry) entries.push(entry);
    });
  return entries;
}
