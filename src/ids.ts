const alphabet = "0123456789abcdefghijklmnopqrstuv";

/** Random base32 string; 20 characters carry 100 bits. */
function randomBase32(length = 20): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const b of bytes) out += alphabet[b & 31];
  return out;
}

/** A new object id such as `node_5k0c…`; the prefix says what kind of object it names. */
export function newId(prefix: "node" | "tok" | "svc" | "task" | "whk" | "msg" | "hook" | "net" | "sec" | "cfg" | "log" | "exec"): string {
  return `${prefix}_${randomBase32()}`;
}
