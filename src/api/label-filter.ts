/** docker's label filter: `key` (present) or `key=value`. */
function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf("=");
  if (eq < 0) return Object.hasOwn(labels, filter);
  const key = filter.slice(0, eq);
  return Object.hasOwn(labels, key) && labels[key] === filter.slice(eq + 1);
}

/**
 * Repeated `label` filters (`-f label=a -f label=b=1`): every one must hold, as
 * docker's MatchKVList has it for services and nodes alike. No filters: all match.
 */
export function matchesLabelFilters(labels: Record<string, string>, filters: readonly string[] | undefined): boolean {
  return (filters ?? []).every((f) => labelMatches(labels, f));
}
