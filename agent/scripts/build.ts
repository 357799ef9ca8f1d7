import { build } from "esbuild";
import { fileURLToPath } from "node:url";

/**
 * Bundles the agent into one ES module that plain Node runs (no TypeScript
 * loader, a third less memory): agent/dist/shoal-agent.mjs.
 */
export const agentBundle = fileURLToPath(new URL("../dist/shoal-agent.mjs", import.meta.url));

export async function buildAgentBundle(): Promise<string> {
  await build({
    entryPoints: [fileURLToPath(new URL("../src/cli.ts", import.meta.url))],
    outfile: agentBundle,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    // Bundled CommonJS dependencies still call require().
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: "warning",
  });
  return agentBundle;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(await buildAgentBundle());
