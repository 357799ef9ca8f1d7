import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

/**
 * The import direction of issue 12, as data: a layer imports its own files and
 * the layers ranked below it; layers of one rank (the API and the dispatcher,
 * say) do not import each other. The clients (the CLI, the web view, the agent)
 * import only what `may` lists; only the runtime entries import them (to bundle
 * and to read the CLI's config). Paths are from the repository root; a folder
 * ends with "/".
 */
export interface Layer {
  name: string;
  paths: string[];
  /** For the clients, and what the runtime may reach beyond the ranks below it. */
  may?: string[];
}

export const controlPlane: Layer[][] = [
  [{ name: "domain", paths: ["src/domain/", "src/ids.ts"] }],
  [{ name: "protocol", paths: ["src/protocol/"] }],
  [{ name: "db", paths: ["src/db/"] }],
  [
    { name: "auth", paths: ["src/auth/"] },
    { name: "events", paths: ["src/events/"] },
    { name: "scheduler", paths: ["src/scheduler/"] },
    { name: "stack", paths: ["src/stack/"] },
  ],
  [{ name: "allocation/orchestrator", paths: ["src/allocator/", "src/orchestrator/"] }],
  [
    { name: "reconciler", paths: ["src/reconcile.ts"] },
    { name: "install", paths: ["src/install/"] },
  ],
  [{ name: "http", paths: ["src/http/"] }],
  [
    { name: "hooks", paths: ["src/hooks/"] },
    { name: "webhooks", paths: ["src/webhooks/"] },
  ],
  [
    { name: "api", paths: ["src/api/"] },
    { name: "dispatcher", paths: ["src/dispatcher/"] },
  ],
  [{ name: "app", paths: ["src/app.ts", "src/bootstrap.ts", "src/logger.ts"] }],
  [{ name: "runtime", paths: ["src/runtime/"], may: ["cli", "ui", "agent"] }],
];

export const clients: Layer[] = [
  { name: "cli", paths: ["src/cli/"], may: ["domain", "protocol"] },
  { name: "ui", paths: ["src/ui/"], may: ["domain", "protocol", "cli"] },
  { name: "agent", paths: ["agent/"], may: ["domain", "protocol"] },
];

export type Edge = [from: string, to: string];

export function layerOf(path: string, layers: Layer[] = [...controlPlane.flat(), ...clients]): Layer | undefined {
  return layers.find((l) => l.paths.some((p) => (p.endsWith("/") ? path.startsWith(p) : path === p)));
}

/** What each layer may import besides itself. */
function allowed(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const below: string[] = [];
  for (const rank of controlPlane) {
    for (const layer of rank) out.set(layer.name, new Set([...below, ...(layer.may ?? [])]));
    below.push(...rank.map((l) => l.name));
  }
  for (const layer of clients) out.set(layer.name, new Set(layer.may));
  return out;
}

/** One line per forbidden import: which file imports which, and the rule it breaks. */
export function violations(edges: Edge[]): string[] {
  const may = allowed();
  const out: string[] = [];
  for (const [from, to] of edges) {
    const a = layerOf(from);
    const b = layerOf(to);
    if (!a) out.push(`${from} is in no layer: add its folder to test/helpers/import-layers.ts`);
    else if (!b) out.push(`${from} imports ${to}, which is in no layer`);
    else if (a !== b && !may.get(a.name)!.has(b.name))
      out.push(`${from} imports ${to}: ${a.name} may import only ${[...may.get(a.name)!].join(", ") || "itself"}, not ${b.name}`);
  }
  return out;
}

const sourceExt = /\.(ts|tsx|mjs)$/;

/** Every .ts, .tsx and .mjs file under `dir`, from the repository root. */
export function sourceFiles(root: string, dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && sourceExt.test(e.name) && !e.name.endsWith(".d.ts"))
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
}

/** The file a relative specifier names: "./x.js" is x.ts or x.tsx when one exists. */
function target(root: string, from: string, specifier: string): string {
  const path = relative(root, resolve(root, dirname(from), specifier));
  if (!path.endsWith(".js")) return path;
  return [".ts", ".tsx"].map((ext) => path.replace(/\.js$/, ext)).find((p) => existsSync(join(root, p))) ?? path;
}

/** The relative imports, re-exports and dynamic imports of each file (packages are not followed). */
export function importEdges(root: string, files: string[]): Edge[] {
  return files.flatMap((from) =>
    ts
      .preProcessFile(readFileSync(join(root, from), "utf8"), true, true)
      .importedFiles.map((f) => f.fileName)
      .filter((s) => s.startsWith("."))
      .map((s): Edge => [from, target(root, from, s)]),
  );
}

/**
 * The files that bind `name` imported from `module`, with how many times each
 * refers to it outside its import: its call sites.
 */
export function referencesTo(root: string, files: string[], module: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const file of files) {
    const text = readFileSync(join(root, file), "utf8");
    if (!text.includes(name)) continue;
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest);
    const locals = new Set<string>();
    for (const statement of source.statements) {
      if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
      const spec = statement.moduleSpecifier.text;
      if (!spec.startsWith(".") || target(root, file, spec) !== module) continue;
      const bindings = statement.importClause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) locals.add(bindings.name.text);
      else if (bindings) for (const b of bindings.elements) if ((b.propertyName ?? b.name).text === name) locals.add(b.name.text);
    }
    if (locals.size === 0) continue;
    let count = 0;
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node)) return;
      if (ts.isPropertyAccessExpression(node)) return visit(node.expression);
      if (ts.isIdentifier(node) && locals.has(node.text)) count++;
      ts.forEachChild(node, visit);
    };
    visit(source);
    out[file] = count;
  }
  return out;
}
