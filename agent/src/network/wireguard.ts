import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** This host's WireGuard key: the file holding the private key (it never leaves the host) and the public key sent to the control plane. */
export interface WireguardKey {
  privateKeyFile: string;
  publicKey: string;
}

const fromBase64Url = (s: string) => Buffer.from(s, "base64url").toString("base64");
/** PKCS #8 framing of a raw X25519 private key (RFC 8410). */
const pkcs8Prefix = Buffer.from("302e020100300506032b656e04220420", "hex");

/**
 * Reads the host's X25519 key from the state dir, or makes one there (mode 0600)
 * on first use. WireGuard keys are raw 32-byte X25519 keys in base64, which is
 * what the JWK's `d` and `x` hold; `wg set … private-key FILE` reads the file.
 */
export async function loadWireguardKey(stateDir: string): Promise<WireguardKey> {
  const privateKeyFile = join(stateDir, "wireguard.key");
  let privateKey: string;
  try {
    privateKey = (await readFile(privateKeyFile, "utf8")).trim();
  } catch {
    const jwk = generateKeyPairSync("x25519").privateKey.export({ format: "jwk" });
    privateKey = fromBase64Url(jwk.d!);
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    await writeFile(privateKeyFile, `${privateKey}\n`, { mode: 0o600, flag: "wx" });
  }
  const key = createPrivateKey({ key: Buffer.concat([pkcs8Prefix, Buffer.from(privateKey, "base64")]), format: "der", type: "pkcs8" });
  const x = createPublicKey(key).export({ format: "jwk" }).x!;
  return { privateKeyFile, publicKey: fromBase64Url(x) };
}
