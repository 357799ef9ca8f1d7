/**
 * Merges compose files given with several `-c`, later over earlier, as
 * compose documents it: mappings merge key by key and later scalars win;
 * `environment`, `labels`, `extra_hosts`, `networks` and `depends_on` merge as
 * mappings whichever form each file used; `volumes` merge by target,
 * `secrets` and `configs` by source; `ports`, `dns`, `dns_search` and `tmpfs`
 * are concatenated; any other list is replaced. Runs on checked documents.
 */

type Doc = Record<string, unknown>;

export const isMapping = (v: unknown): v is Doc => !!v && typeof v === "object" && !Array.isArray(v);
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

/** `["A=1", "B"]` → `{A: "1", B: null}`; a mapping stays as it is. */
export function entriesToMapping(v: unknown, separator = "="): Doc {
  if (isMapping(v)) return v;
  return Object.fromEntries(
    asList(v).map((entry) => {
      const text = String(entry);
      const at = text.indexOf(separator);
      return at < 0 ? [text, null] : [text.slice(0, at), text.slice(at + 1)];
    }),
  );
}

const namesToMapping = (v: unknown): Doc => (isMapping(v) ? v : Object.fromEntries(asList(v).map((name) => [String(name), null])));

/** Later entries replace earlier ones with the same key; order of first appearance is kept. */
function mergeByKey(a: unknown, b: unknown, keyOf: (entry: unknown) => string): unknown[] {
  const merged = new Map<string, unknown>();
  for (const entry of [...asList(a), ...asList(b)]) merged.set(keyOf(entry), entry);
  return [...merged.values()];
}

/** A volume's target: the long form's `target`, the short form's second part (or its only one). */
function volumeTarget(entry: unknown): string {
  if (isMapping(entry)) return String(entry.target);
  const parts = String(entry).split(":");
  return parts.length === 1 ? parts[0]! : parts[1]!;
}

const fileSource = (entry: unknown) => (isMapping(entry) ? String(entry.source) : String(entry));

function mergeMappings(a: unknown, b: unknown): unknown {
  if (!isMapping(a) || !isMapping(b)) return b;
  const out: Doc = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in out ? mergeMappings(out[k], v) : v;
  return out;
}

const serviceRules: Record<string, (a: unknown, b: unknown) => unknown> = {
  environment: (a, b) => ({ ...entriesToMapping(a), ...entriesToMapping(b) }),
  labels: (a, b) => ({ ...entriesToMapping(a), ...entriesToMapping(b) }),
  extra_hosts: (a, b) => ({ ...entriesToMapping(a, ":"), ...entriesToMapping(b, ":") }),
  networks: (a, b) => mergeMappings(namesToMapping(a), namesToMapping(b)),
  depends_on: (a, b) => ({ ...namesToMapping(a), ...namesToMapping(b) }),
  volumes: (a, b) => mergeByKey(a, b, volumeTarget),
  secrets: (a, b) => mergeByKey(a, b, fileSource),
  configs: (a, b) => mergeByKey(a, b, fileSource),
  ports: (a, b) => [...asList(a), ...asList(b)],
  dns: (a, b) => [...asList(a), ...asList(b)],
  dns_search: (a, b) => [...asList(a), ...asList(b)],
  tmpfs: (a, b) => [...asList(a), ...asList(b)],
  deploy: (a, b) => {
    const merged = mergeMappings(a, b) as Doc;
    if (isMapping(a) && isMapping(b) && a.labels !== undefined && b.labels !== undefined)
      merged.labels = { ...entriesToMapping(a.labels), ...entriesToMapping(b.labels) };
    return merged;
  },
};

function mergeService(a: unknown, b: unknown): unknown {
  if (!isMapping(a) || !isMapping(b)) return b;
  const out: Doc = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const rule = serviceRules[k];
    out[k] = !(k in out) ? v : rule ? rule(out[k], v) : mergeMappings(out[k], v);
  }
  return out;
}

export function mergeComposeFiles(docs: Doc[]): Doc {
  const [first, ...rest] = docs;
  let out: Doc = { ...first };
  for (const doc of rest) {
    const next: Doc = { ...out };
    for (const [k, v] of Object.entries(doc)) {
      if (k === "services" && isMapping(out.services) && isMapping(v)) {
        const services: Doc = { ...out.services };
        for (const [name, service] of Object.entries(v)) services[name] = name in services ? mergeService(services[name], service) : service;
        next.services = services;
      } else next[k] = k in out ? mergeMappings(out[k], v) : v;
    }
    out = next;
  }
  return out;
}
