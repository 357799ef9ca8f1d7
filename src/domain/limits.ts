/**
 * The bounds on what one request (or one CLI call) may make shoal parse and
 * walk. Every recursive parser and walker checks one of these and refuses
 * past it with an error naming the limit, so no input costs unbounded CPU,
 * memory or stack. The README lists them (Limits).
 */

/** Bytes of a request body (every route; a stack's files are sent in one). */
export const maxBodyBytes = 1024 * 1024;
/** Characters of a request's path and query (414 past it). */
export const maxUrlLength = 8 * 1024;
/** Bytes of a request's header fields, names and values (431 past it). */
export const maxHeaderBytes = 16 * 1024;
/**
 * Milliseconds a request may take to be handled before it is answered 503 (SHOAL_REQUEST_TIMEOUT_MS
 * changes it). Below the CLI's 30 s idle timeout, so a client reads why instead of giving up.
 * The assignment long-poll gets its wait on top; event streams answer at once and end by themselves.
 */
export const defaultRequestTimeoutMs = 25_000;

/** SHOAL_REQUEST_TIMEOUT_MS as both runtime entries read it: whole milliseconds from 100 to 600,000, else the default. */
export function parseRequestTimeoutMs(value: string | undefined): number {
  if (value === undefined || value === "") return defaultRequestTimeoutMs;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 100 || ms > 600_000)
    throw new Error(`SHOAL_REQUEST_TIMEOUT_MS must be whole milliseconds from 100 to 600000, not ${quoted(value)}`);
  return ms;
}

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
