import { maxJsonDepth } from "../domain/limits.js";

/**
 * Whether JSON text nests arrays and objects deeper than maxJsonDepth: one
 * pass over the text, before JSON.parse, so nothing recursive (isZero, the
 * Docker translation, JSON.stringify) ever sees a value deeper than that.
 * Called where a route reads a body or a query value as JSON itself.
 */
export function jsonTooDeep(text: string, limit = maxJsonDepth): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

export const jsonTooDeepMessage = `the JSON nests arrays and objects more than ${maxJsonDepth} levels deep; the limit is ${maxJsonDepth}`;
