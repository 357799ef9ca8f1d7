import { Composer, isAlias, type ScalarTag, Lexer, LineCounter, Parser, visit, type Document, type Node, YAMLParseError } from "yaml";
import { maxComposeDepth, maxComposeKeyLength, maxComposeText, maxComposeValues, maxYamlAliases, quoted } from "../domain/limits.js";
import type { StackIssue } from "./issues.js";

/**
 * One compose file's text as a plain value, within bounds: its nesting is
 * measured on the token stream before the `yaml` package composes anything
 * (a deep enough flow collection exhausts it; parseDocument's steps, with that
 * check between them), aliases that sit inside the
 * node they name (a cycle) are refused, aliases are counted and expanded
 * with the package's maxAliasCount, and the expanded value is measured
 * without recursion. Everything the stack loader walks after this is bounded
 * by maxComposeDepth, maxComposeValues and maxComposeText.
 */

const lineOf = (text: string, offset: number) => {
  let line = 1;
  for (let i = text.indexOf("\n"); i >= 0 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return line;
};

class TooDeep {
  constructor(readonly offset: number) {}
}

/**
 * A plain integer with a leading 0 is octal, as docker reads compose files
 * (YAML 1.1's rule): `mode: 0440` is 0o440, not 440 (which YAML 1.2 would
 * make it, and which as a mode is 0o670, group-writable).
 */
const dockerOctal: ScalarTag = {
  tag: "tag:yaml.org,2002:int",
  default: true,
  test: /^0[0-7]+$/,
  resolve: (text) => parseInt(text, 8),
};

/** The parser's tokens, refusing (TooDeep) once its stack of open collections grows past `limit`. */
function* boundedTokens(parser: Parser, text: string, limit: number) {
  let offset = 0;
  for (const lexeme of new Lexer().lex(text)) {
    yield* parser.next(lexeme);
    if (parser.stack.length > limit) throw new TooDeep(offset);
    offset += lexeme.length;
  }
  yield* parser.end();
}

/** The file's one document, as parseDocument reads it, or the offset where it nests too deep. */
function parseBounded(text: string, limit: number): { doc: Document.Parsed; lines: LineCounter } | TooDeep {
  const lines = new LineCounter();
  lines.addNewLine(0);
  const parser = new Parser(lines.addNewLine);
  const composer = new Composer({ merge: true, uniqueKeys: true, customTags: (tags) => [dockerOctal, ...(tags as ScalarTag[])] });
  let doc: Document.Parsed | undefined;
  try {
    for (const next of composer.compose(boundedTokens(parser, text, limit), true, text.length)) {
      if (!doc) doc = next;
      else {
        doc.errors.push(new YAMLParseError([next.range[0], next.range[1]], "MULTIPLE_DOCS", "a compose file holds one document"));
        break;
      }
    }
  } catch (err) {
    if (err instanceof TooDeep) return err;
    throw err;
  }
  return { doc: doc!, lines };
}

/** The first alias found inside the node it refers to: the document would contain itself. */
function cyclicAlias(doc: Document.Parsed, lines: LineCounter): { source: string; line: number } | undefined {
  const anchored = new Map<string, Node>();
  let found: { source: string; line: number } | undefined;
  visit(doc, {
    Node(_key, node, path) {
      if (isAlias(node)) {
        const target = anchored.get(node.source);
        if (target && path.includes(target)) {
          found = { source: node.source, line: lines.linePos(node.range?.[0] ?? 0).line };
          return visit.BREAK;
        }
      } else if (node.anchor) anchored.set(node.anchor, node);
      return undefined;
    },
  });
  return found;
}

function countAliases(doc: Document.Parsed): number {
  let count = 0;
  visit(doc, { Alias: () => void count++ });
  return count;
}

/** Depth, values and text of a plain value, walked with a stack of its own; the first limit passed, or undefined. */
export function measure(value: unknown): StackIssue | undefined {
  const pending: [unknown, number, string][] = [[value, 0, ""]];
  let values = 0;
  let text = 0;
  const at = (path: string, key: string) => (path ? `${path}.${key}` : key);
  while (pending.length) {
    const [v, depth, path] = pending.pop()!;
    if (++values > maxComposeValues)
      return { path: "file", message: `more than ${maxComposeValues} values (with aliases expanded); the limit is ${maxComposeValues}` };
    if (typeof v === "string") text += v.length;
    else if (v && typeof v === "object") {
      if (depth >= maxComposeDepth)
        return { path: path || "file", message: `nested more than ${maxComposeDepth} levels deep (with aliases expanded); the limit is ${maxComposeDepth}` };
      if (Array.isArray(v)) v.forEach((item, i) => pending.push([item, depth + 1, at(path, String(i))]));
      else
        for (const [k, item] of Object.entries(v)) {
          if (k.length > maxComposeKeyLength)
            return { path: path || "file", message: `a key of ${k.length} characters (${quoted(k)}); the limit is ${maxComposeKeyLength}` };
          text += k.length;
          pending.push([item, depth + 1, at(path, k)]);
        }
    }
    if (text > maxComposeText)
      return { path: "file", message: `more than ${maxComposeText} characters of keys and values (with aliases expanded); the limit is ${maxComposeText}` };
  }
  return undefined;
}

export type ReadResult = { ok: true; value: unknown } | { ok: false; issue: StackIssue };

/** `label` names the file in issues ("file", "file 2"). */
export function readYaml(text: string, label: string): ReadResult {
  const fail = (message: string): ReadResult => ({ ok: false, issue: { path: label, message } });
  // The parser's stack holds the document and the scalar being read besides the collections.
  const parsed = parseBounded(text, maxComposeDepth + 2);
  if (parsed instanceof TooDeep) return fail(`nested more than ${maxComposeDepth} levels deep (line ${lineOf(text, parsed.offset)}); the limit is ${maxComposeDepth}`);
  const { doc, lines } = parsed;
  const problem = doc.errors[0];
  if (problem) {
    const at = lines.linePos(problem.pos[0]);
    return fail(`not valid YAML (line ${at.line}, column ${at.col}): ${problem.code.toLowerCase().replaceAll("_", " ")}`);
  }
  const aliases = countAliases(doc);
  if (aliases > maxYamlAliases) return fail(`more than ${maxYamlAliases} aliases (*name); the limit is ${maxYamlAliases}`);
  const cycle = cyclicAlias(doc, lines);
  if (cycle)
    return fail(`the alias *${cycle.source} (line ${cycle.line}) is inside the node anchored &${cycle.source}: the document would contain itself, and cyclic YAML is not accepted`);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: maxYamlAliases });
  } catch (err) {
    // maxAliasCount ("billion laughs"): the only way a parsed, acyclic document fails to convert.
    return fail(`not accepted as YAML: its aliases expand more than ${maxYamlAliases} times (${err instanceof Error ? err.message : String(err)})`);
  }
  const over = measure(value);
  if (over) return { ok: false, issue: over.path === "file" ? { ...over, path: label } : over };
  return { ok: true, value };
}
