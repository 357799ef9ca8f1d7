/**
 * The bounds on what one request (or one CLI call) may make shoal parse and
 * walk. Every recursive parser and walker checks one of these and refuses
 * past it with an error naming the limit, so no input costs unbounded CPU,
 * memory or stack. The README lists them (Limits).
 */

/** Bytes of a request body (every route; a stack's files are sent in one). */
export const maxBodyBytes = 1024 * 1024;

/** `${A:-${B:-…}}`: defaults and replacements inside defaults, levels deep. */
export const maxInterpolationDepth = 32;
/** Characters one interpolated string may grow to. */
export const maxInterpolatedLength = 1024 * 1024;

/** Levels of mappings and lists in a compose file, as written and with its aliases expanded. */
export const maxComposeDepth = 64;
/** Values (scalars, mappings, lists) in one compose file with its aliases expanded. */
export const maxComposeValues = 100_000;
/** Characters of text (keys and scalars, interpolated) in one compose file with its aliases expanded. */
export const maxComposeText = 4 * 1024 * 1024;
/** Aliases (`*name`) in one compose file, and the expansions the `yaml` package's maxAliasCount allows. */
export const maxYamlAliases = 1000;
/** Characters of one mapping key in a compose file (keys end up in paths of every problem under them). */
export const maxComposeKeyLength = 1024;
/** Problems listed in one refusal of a stack; the rest are counted. */
export const maxReportedIssues = 100;

/** Levels of arrays and objects in a JSON body or query value. */
export const maxJsonDepth = 64;

/** Characters of a `--format` template, and actions (`{{…}}`) in it. */
export const maxTemplateLength = 16 * 1024;
export const maxTemplateActions = 256;
/** Columns the CLI's tables align (Go's tabwriter, one level of recursion each); text past the last is left as it is. */
export const maxTableColumns = 64;

/** Values of one filter in a list request (`-f label=a -f label=b…`, `--filter event=…`), and characters of each. */
export const maxFilterValues = 32;
export const maxFilterValueLength = 256;

/** Characters of a refused value that an error message repeats. */
export const maxQuotedLength = 80;
/** A value as error messages quote it: long ones cut, so a refusal never repeats a whole file. */
export const quoted = (value: unknown) => {
  const text = String(value);
  return JSON.stringify(text.length > maxQuotedLength ? `${text.slice(0, maxQuotedLength)}…` : text);
};
