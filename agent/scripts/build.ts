import { build, type BuildOptions } from "esbuild";
import { fileURLToPath } from "node:url";

/**
 * Bundles the agent into one ES module that plain Node runs (no TypeScript
 * loader, a third less memory): agent/dist/shoal-agent.mjs. The Node control
 * plane serves the same bundle (built in memory) to install.sh.
 */
export const agentBundle = fileURLToPath(new URL("../dist/shoal-agent.mjs", import.meta.url));

const options: BuildOptions = {
  entryPoints: [fileURLToPath(new URL("../src/cli.ts", import.meta.url))],
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  // Bundled CommonJS dependencies still call require().
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  logLevel: "warning",
};

export async function buildAgentBundle(): Promise<string> {
  await build({ ...options, outfile: agentBundle });
  return agentBundle;
}

/** The bundle's text, without writing it anywhere. */
export async function bundleAgent(): Promise<string> {
  const result = await build({ ...options, outfile: agentBundle, write: false });
  const [file] = result.outputFiles;
  if (!file) throw new Error("esbuild produced no agent bundle");
  return file.text;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(await buildAgentBundle());
