import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";

const ContextSchema = z.object({ url: z.url(), token: z.string().min(1), caFile: z.string().optional() });
const CliConfigSchema = z.object({
  currentContext: z.string(),
  contexts: z.record(z.string(), ContextSchema),
});
export type CliContext = z.infer<typeof ContextSchema>;
export type CliConfig = z.infer<typeof CliConfigSchema>;

/** Reads the CLI config; a missing file is an empty config. */
export async function readCliConfig(path: string): Promise<CliConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { currentContext: "", contexts: {} };
    throw err;
  }
  const parsed = CliConfigSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${path} is not a shoal CLI config: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** Stores a context and makes it current. The file holds tokens: mode 0600, written atomically. */
export async function saveCliContext(path: string, name: string, context: CliContext): Promise<void> {
  const config = await readCliConfig(path);
  config.contexts[name] = context;
  config.currentContext = name;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}
