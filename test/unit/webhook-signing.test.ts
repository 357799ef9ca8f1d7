import fc from "fast-check";
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateJwtSecret, importClusterKeys } from "../../src/auth/keys.js";
import { openSecret, sealSecret } from "../../src/auth/secret-box.js";
import { decodeWebhookSecret, generateWebhookSecret, signWebhook } from "../../src/webhooks/signature.js";

/** The receiver's side, written from the spec with node:crypto: an independent check of the WebCrypto signer. */
function expectedSignature(secret: string, id: string, timestamp: number, body: string) {
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

describe("Standard Webhooks signatures", () => {
  it("matches the specification's example", async () => {
    // From the Standard Webhooks reference libraries' test vectors.
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const body = '{"test": 2432232314}';
    const headers = await signWebhook(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
    expect(headers).toEqual({
      "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
      "webhook-timestamp": "1614265330",
      "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    });
  });

  it("agrees with an HMAC-SHA256 over id.timestamp.body for any body", async () => {
    const secret = generateWebhookSecret();
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.integer({ min: 0, max: 2 ** 40 }), async (body, ts) => {
        const headers = await signWebhook(secret, "msg_x", ts, body);
        expect(headers["webhook-signature"]).toBe(expectedSignature(secret, "msg_x", ts, body));
      }),
      { numRuns: 50 },
    );
  });

  it("makes secrets of 32 random bytes, and accepts only whsec_ base64 of 24 to 64 bytes", () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(decodeWebhookSecret(secret)?.length).toBe(32);
    expect(generateWebhookSecret()).not.toBe(secret);
    const b64 = (n: number) => Buffer.alloc(n, 7).toString("base64");
    expect(decodeWebhookSecret(`whsec_${b64(24)}`)?.length).toBe(24);
    expect(decodeWebhookSecret(`whsec_${b64(64)}`)?.length).toBe(64);
    for (const bad of [`whsec_${b64(23)}`, `whsec_${b64(65)}`, b64(32), `whsk_${b64(32)}`, "whsec_not base64!", "whsec_"])
      expect(decodeWebhookSecret(bad), bad).toBeUndefined();
  });
});

describe("secrets at rest", () => {
  it("are sealed, open only with the same cluster key and webhook id", async () => {
    const keys = await importClusterKeys(generateJwtSecret());
    const secret = generateWebhookSecret();
    const sealed = await sealSecret(keys, "whk_a", secret);
    expect(sealed).not.toContain(secret.slice(6, 20));
    expect(await sealSecret(keys, "whk_a", secret)).not.toBe(sealed);
    expect(await openSecret(keys, "whk_a", sealed)).toBe(secret);
    await expect(openSecret(keys, "whk_b", sealed)).rejects.toThrow();
    await expect(openSecret(await importClusterKeys(generateJwtSecret()), "whk_a", sealed)).rejects.toThrow();
  });
});
