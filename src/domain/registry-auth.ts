/**
 * Registry credentials as Docker carries them (`X-Registry-Auth`: base64url of
 * a JSON AuthConfig): a service's, stored sealed with it, sent to an engine's
 * image pull. Pure; the API decodes the header with it, the CLI and the agent
 * encode with it.
 */

/** What a pull needs of Docker's AuthConfig: a username and password, or a token. */
export interface RegistryAuth {
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
  serveraddress?: string;
}

const credentialFields = ["username", "password", "identitytoken", "registrytoken", "serveraddress"] as const;
/** Docker's AuthConfig fields shoal does not keep: `auth` is decoded into username and password, `email` is long deprecated. */
const otherFields = ["auth", "email"];

/** Longer credentials than any registry issues: refused rather than stored. */
export const maxRegistryAuthChars = 16 * 1024;

export class RegistryAuthProblem extends Error {}

function decodeBase64(text: string, what: string): string {
  let binary: string;
  try {
    binary = atob(text.trim().replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    throw new RegistryAuthProblem(`${what} is not base64url`);
  }
  const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new RegistryAuthProblem(`${what} is not UTF-8 text once decoded`);
  }
}

/** A header's JSON object: base64url of a JSON object, as Docker's registry headers are. */
function decodeHeaderObject(header: string, shape: string): Record<string, unknown> {
  if (header.length > maxRegistryAuthChars) throw new RegistryAuthProblem(`longer than ${maxRegistryAuthChars} characters`);
  const text = decodeBase64(header, "the value");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RegistryAuthProblem(`not base64url of a JSON object (${shape})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new RegistryAuthProblem(`not a JSON object (${shape})`);
  return parsed as Record<string, unknown>;
}

/**
 * One of Docker's AuthConfig objects as the daemon reads it: keys in any
 * case (Go's decoding), unknown keys ignored, `auth` ("user:password" in
 * base64) standing for a missing username and password. Null when it carries
 * no credential. Throws RegistryAuthProblem saying what is wrong.
 */
export function registryAuthOf(value: unknown): RegistryAuth | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new RegistryAuthProblem("credentials must be a JSON object");
  const out: Record<string, string> = {};
  let auth = "";
  for (const [key, v] of Object.entries(value)) {
    const field = key.toLowerCase();
    const known = (credentialFields as readonly string[]).includes(field);
    if ((!known && !otherFields.includes(field)) || v === null || v === undefined) continue;
    if (typeof v !== "string") throw new RegistryAuthProblem(`${field} must be a string, not ${Array.isArray(v) ? "an array" : typeof v}`);
    if (field === "auth") auth = v;
    else if (known && v !== "") out[field] = v;
  }
  if (auth && out.username === undefined && out.password === undefined) {
    const pair = decodeBase64(auth, "auth");
    const colon = pair.indexOf(":");
    if (colon <= 0) throw new RegistryAuthProblem('auth must be base64 of "username:password"');
    out.username = pair.slice(0, colon);
    if (colon < pair.length - 1) out.password = pair.slice(colon + 1);
  }
  if (out.password !== undefined && out.username === undefined) throw new RegistryAuthProblem("a password without a username");
  if (out.username === undefined && out.identitytoken === undefined && out.registrytoken === undefined) return null;
  return out as RegistryAuth;
}

const authShape = '{"username","password","serveraddress"} or {"identitytoken"}';

/**
 * Docker's `X-Registry-Auth` value (base64url of one AuthConfig). Null when it
 * carries no credential: what the docker CLI sends with --with-registry-auth
 * for a registry it holds no login for, which replaces stored credentials in
 * Swarm. Throws RegistryAuthProblem saying what is wrong.
 */
export const decodeRegistryAuth = (header: string): RegistryAuth | null => registryAuthOf(decodeHeaderObject(header, authShape));

/**
 * Docker's `X-Registry-Config` value (base64url of a JSON object: registry →
 * AuthConfig, as docker build sends it), the credentials of several
 * registries at once: shoal stack deploy --with-registry-auth sends the ones
 * its images need. Registries as images name them (`docker.io`, `host:port`).
 */
export function decodeRegistryConfig(header: string): Map<string, RegistryAuth | null> {
  const out = new Map<string, RegistryAuth | null>();
  for (const [registry, value] of Object.entries(decodeHeaderObject(header, `registry → ${authShape}`))) {
    try {
      out.set(registry, registryAuthOf(value));
    } catch (err) {
      if (err instanceof RegistryAuthProblem) throw new RegistryAuthProblem(`${registry}: ${err.message}`);
      throw err;
    }
  }
  return out;
}

/** A registry header's value for these credentials (X-Registry-Auth) or map of them (X-Registry-Config), as the docker CLI encodes it: base64url, padded. */
export function encodeRegistryHeader(value: RegistryAuth | Record<string, RegistryAuth>): string {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_");
}
