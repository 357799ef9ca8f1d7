/**
 * Variable substitution in compose values, as `docker stack deploy` does it
 * with the caller's environment: `$VAR`, `${VAR}`, `${VAR:-default}` (unset or
 * empty), `${VAR-default}` (unset), `${VAR:?error}`, `${VAR?error}`,
 * `${VAR:+replacement}`, `${VAR+replacement}` and `$$` for a literal `$`.
 * Defaults and replacements may hold variables themselves. Any other `$` is
 * an error, as in docker. The grammar of one string: the stack loader walks
 * the files with it, the CLI reads `env_file` paths with it. Nesting and the
 * result's length are bounded (limits.ts): the recursion and the output
 * cannot grow with the input.
 */

import { maxInterpolatedLength, maxInterpolationDepth, quoted as quote } from "./limits.js";

const namePattern = /^[A-Za-z_][A-Za-z0-9_]*/;

/** A value the grammar refuses; the message says where and why. */
export class InterpolationError extends Error {}

/** The index of the `}` that closes the `${` whose body starts at `start`, or -1. */
function closingBrace(text: string, start: number): number {
  let depth = 1;
  for (let i = start; i < text.length; i++) {
    if (text[i] === "$" && text[i + 1] === "$") i++;
    else if (text[i] === "$" && text[i + 1] === "{") {
      depth++;
      i++;
    } else if (text[i] === "}" && --depth === 0) return i;
  }
  return -1;
}

/** `text` with its variables substituted; names looked up but unset go in `unset`. Throws InterpolationError. */
export function substitute(text: string, env: Record<string, string>, unset: Set<string>): string {
  return substituteAt(text, env, unset, text, 0);
}

function substituteAt(text: string, env: Record<string, string>, unset: Set<string>, whole: string, depth: number): string {
  if (depth > maxInterpolationDepth)
    throw new InterpolationError(`${quote(whole)}: defaults nest more than ${maxInterpolationDepth} levels deep (\${A:-\${B:-…}}); the limit is ${maxInterpolationDepth}`);
  let out = "";
  let i = 0;
  const append = (piece: string) => {
    out += piece;
    if (out.length > maxInterpolatedLength)
      throw new InterpolationError(`${quote(whole)}: the value grows past ${maxInterpolatedLength} characters once substituted; the limit is ${maxInterpolatedLength}`);
  };
  while (i < text.length) {
    const dollar = text.indexOf("$", i);
    if (dollar < 0) {
      append(text.slice(i));
      return out;
    }
    append(text.slice(i, dollar));
    const next = text[dollar + 1];
    if (next === "$") {
      append("$");
      i = dollar + 2;
      continue;
    }
    if (next === "{") {
      const end = closingBrace(text, dollar + 2);
      if (end < 0) throw new InterpolationError(`${quote(whole)}: a "\${" is not closed by "}"`);
      append(braced(text.slice(dollar + 2, end), env, unset, whole, depth));
      i = end + 1;
      continue;
    }
    const name = namePattern.exec(text.slice(dollar + 1))?.[0];
    if (!name) throw new InterpolationError(`${quote(whole)}: "$" must start a variable ($VAR or \${VAR}); write "$$" for a literal "$"`);
    append(lookup(name, env, unset));
    i = dollar + 1 + name.length;
  }
  return out;
}

function lookup(name: string, env: Record<string, string>, unset: Set<string>): string {
  const value = env[name];
  if (value === undefined) unset.add(name);
  return value ?? "";
}

function braced(body: string, env: Record<string, string>, unset: Set<string>, whole: string, depth: number): string {
  const name = namePattern.exec(body)?.[0];
  if (!name) throw new InterpolationError(`${quote(whole)}: ${quote(`\${${body}}`)} does not start with a variable name (letters, digits and "_")`);
  const rest = body.slice(name.length);
  if (rest === "") return lookup(name, env, unset);
  const operator = /^(:?[-?+])/.exec(rest)?.[1];
  if (!operator) throw new InterpolationError(`${quote(whole)}: ${quote(`\${${body}}`)}: after the name comes "}", ":-", "-", ":?", "?", ":+" or "+"`);
  const value = env[name];
  const argument = () => substituteAt(rest.slice(operator.length), env, unset, whole, depth + 1);
  // With ":", an empty value counts as unset.
  const set = operator.startsWith(":") ? value !== undefined && value !== "" : value !== undefined;
  switch (operator.at(-1)) {
    case "-":
      return set ? value! : argument();
    case "+":
      return set ? argument() : "";
    default: {
      if (set) return value!;
      const message = argument();
      throw new InterpolationError(`required variable ${name} is missing a value${message ? `: ${message.length > 200 ? `${message.slice(0, 200)}…` : message}` : ""}`);
    }
  }
}
