/**
 * Placement constraints as Swarm writes them: `key==value` or `key!=value`.
 * Matching is case-insensitive and exact; a missing label is the empty string;
 * a key Swarm does not know never matches (it is accepted, as Swarm does).
 */
export interface Constraint {
  key: string;
  operator: "==" | "!=";
  value: string;
}

const pattern = /^\s*([A-Za-z0-9._-]+(?:\.[^=!\s]+)?)\s*(==|!=)\s*(\S(?:.*\S)?)\s*$/;

/** Parses one constraint; the error says what is wrong with it. */
export function parseConstraint(expression: string): Constraint | { error: string } {
  const m = pattern.exec(expression);
  if (!m) return { error: `constraint "${expression}" is not key==value or key!=value` };
  return { key: m[1]!, operator: m[2] as Constraint["operator"], value: m[3]! };
}
