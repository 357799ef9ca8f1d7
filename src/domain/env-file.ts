/** `KEY=value` lines of an env file; `#` comments and blank lines skipped; a bare `KEY` is taken from the environment. */
export function parseEnvFile(text: string, env: Record<string, string>): [string, string | null][] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const at = line.indexOf("=");
      if (at >= 0) return [line.slice(0, at), line.slice(at + 1)];
      return [line, env[line] ?? null];
    });
}
