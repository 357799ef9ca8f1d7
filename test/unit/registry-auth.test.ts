import { describe, expect, it } from "vitest";
import { imageRegistry } from "../../src/domain/image-ref.js";
import { decodeRegistryAuth, decodeRegistryConfig, encodeRegistryHeader, RegistryAuthProblem } from "../../src/domain/registry-auth.js";

const b64url = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64");

describe("X-Registry-Auth decoding, as dockerd reads it", () => {
  it("takes base64url (padded or not) and base64, keys in any case, unknown keys ignored", () => {
    const auth = { username: "ci", password: "p>?~w", serveraddress: "ghcr.io" };
    expect(decodeRegistryAuth(encodeRegistryHeader(auth))).toEqual(auth);
    expect(decodeRegistryAuth(b64url(auth))).toEqual(auth);
    expect(decodeRegistryAuth(b64(auth))).toEqual(auth);
    expect(decodeRegistryAuth(b64url({ Username: "ci", PASSWORD: "x", ServerAddress: "r:5000", email: "a@b", future: 1 }))).toEqual({ username: "ci", password: "x", serveraddress: "r:5000" });
    expect(decodeRegistryAuth(b64url({ identitytoken: "tok", serveraddress: "r" }))).toEqual({ identitytoken: "tok", serveraddress: "r" });
  });

  it("decodes `auth` (user:password) when no username is given", () => {
    expect(decodeRegistryAuth(b64url({ auth: Buffer.from("ci:pa:ss").toString("base64") }))).toEqual({ username: "ci", password: "pa:ss" });
    expect(decodeRegistryAuth(b64url({ auth: Buffer.from("x:y").toString("base64"), username: "ci", password: "z" }))).toEqual({ username: "ci", password: "z" });
  });

  it("is null when it carries no credential (the docker CLI's header for a registry it has no login for)", () => {
    expect(decodeRegistryAuth(b64url({}))).toBeNull();
    expect(decodeRegistryAuth(b64url({ serveraddress: "ghcr.io", username: "", password: null }))).toBeNull();
  });

  it.each([
    ["%%%", /not base64url/],
    [b64url("not json"), /not base64url of a JSON object/],
    [b64url([1]), /not a JSON object/],
    [b64url({ username: 7, password: "x" }), /username must be a string, not number/],
    [b64url({ password: "x" }), /a password without a username/],
    [b64url({ auth: Buffer.from("nocolon").toString("base64") }), /auth must be base64 of "username:password"/],
    [Buffer.from([0xff, 0xfe]).toString("base64url"), /not UTF-8/],
    ["a".repeat(16 * 1024 + 1), /longer than 16384 characters/],
  ])("refuses %s saying what is wrong", (header, message) => {
    expect(() => decodeRegistryAuth(header)).toThrow(RegistryAuthProblem);
    expect(() => decodeRegistryAuth(header)).toThrow(message);
  });
});

describe("X-Registry-Config decoding", () => {
  it("maps each registry to its credentials, naming the registry whose entry is wrong", () => {
    const header = b64url({ "registry.example:5000": { username: "u", password: "p" }, "docker.io": {} });
    expect(decodeRegistryConfig(header)).toEqual(new Map([["registry.example:5000", { username: "u", password: "p" }], ["docker.io", null]]));
    expect(() => decodeRegistryConfig(b64url({ "ghcr.io": { password: "p" } }))).toThrow("ghcr.io: a password without a username");
    expect(() => decodeRegistryConfig(b64url({ "ghcr.io": "user:pw" }))).toThrow("ghcr.io: credentials must be a JSON object");
  });
});

describe("imageRegistry", () => {
  it.each([
    ["nginx", "docker.io"],
    ["nginx:1.27", "docker.io"],
    ["acme/web:1", "docker.io"],
    ["docker.io/library/nginx", "docker.io"],
    ["ghcr.io/acme/web:1@sha256:" + "a".repeat(64), "ghcr.io"],
    ["registry.example:5000/web", "registry.example:5000"],
    ["10.77.1.1:5000/shoal/busybox:1", "10.77.1.1:5000"],
    ["localhost/web", "localhost"],
  ])("%s comes from %s", (image, registry) => expect(imageRegistry(image)).toBe(registry));
});
