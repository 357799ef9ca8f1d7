import { build, type BuildOptions } from "esbuild";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Bundles the web view (preact, its stylesheet inlined) into one browser module:
 * src/ui/dist/shoal-ui.js, which the Worker imports as text. The Node control
 * plane builds the same bundle in memory on the first request for it.
 */
export const uiBundlePath = fileURLToPath(new URL("./dist/shoal-ui.js", import.meta.url));

const options: BuildOptions = {
  entryPoints: [fileURLToPath(new URL("./app.tsx", import.meta.url))],
  bundle: true,
  platform: "browser",
  target: "es2022",
  format: "esm",
  jsx: "automatic",
  jsxImportSource: "preact",
  loader: { ".css": "text" },
  minify: true,
  legalComments: "none",
  logLevel: "warning",
};

/** The bundle's text, without writing it anywhere. */
export async function bundleUi(): Promise<string> {
  const result = await build({ ...options, outfile: uiBundlePath, write: false });
  const [file] = result.outputFiles;
  if (!file) throw new Error("esbuild produced no UI bundle");
  return file.text;
}

/**
 * Writes the bundle, only when it changed: it lies inside src/, which `wrangler dev`
 * watches, and rebuilds on every write (a rewrite of the same bytes would loop).
 */
export async function buildUiBundle(): Promise<string> {
  const text = await bundleUi();
  const current = await readFile(uiBundlePath, "utf8").catch(() => undefined);
  if (current !== text) {
    await mkdir(dirname(uiBundlePath), { recursive: true });
    await writeFile(uiBundlePath, text);
  }
  return uiBundlePath;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(await buildUiBundle());
