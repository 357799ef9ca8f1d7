import fc from "fast-check";
import { isIP } from "node:net";
import { describe, expect, it } from "vitest";
import { checkWebhookUrl, classifyAddress, isLocalName } from "../../src/webhooks/address-guard.js";

describe("SSRF guard: addresses", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "link-local"],
    ["100.64.0.1", "carrier-grade NAT"],
    ["100.127.255.255", "carrier-grade NAT"],
    ["0.0.0.0", "this-network"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "reserved"],
    ["198.18.0.1", "benchmarking"],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["fc00::1", "unique-local"],
    ["fd12:3456::1", "unique-local"],
    ["fe80::1%eth0", "link-local"],
    ["ff02::1", "multicast"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["::ffff:10.0.0.1", "private"],
    ["64:ff9b::192.168.0.1", "private"],
    ["[::1]", "loopback"],
    ["2001:db8::1", "documentation"],
  ])("refuses %s (%s)", (address, reason) => {
    expect(classifyAddress(address)).toEqual({ isIp: true, reason });
  });

  it.each(["8.8.8.8", "172.32.0.1", "172.15.255.255", "100.128.0.1", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8"])(
    "allows %s",
    (address) => {
      expect(classifyAddress(address)).toEqual({ isIp: true, reason: undefined });
    },
  );

  it.each(["example.com", "localhost", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1::2::3", "12345::", ":::"])("%s is no address", (text) => {
    expect(classifyAddress(text).isIp).toBe(false);
  });

  it("recognises exactly what node:net recognises as an address", () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 20 })), (text) => {
        expect(classifyAddress(text).isIp).toBe(isIP(text) !== 0);
      }),
      { numRuns: 2000 },
    );
  });

  it("an IPv4 address and its IPv4-mapped IPv6 form get the same verdict", () => {
    fc.assert(
      fc.property(fc.ipV4(), (v4) => {
        expect(classifyAddress(`::ffff:${v4}`).reason).toBe(classifyAddress(v4).reason);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("SSRF guard: URLs and names", () => {
  it.each([
    ["https://hooks.example.com/x", false, undefined],
    ["http://127.0.0.1:8080/x", false, "127.0.0.1 is a loopback address; set allowPrivate to send there"],
    ["http://127.0.0.1:8080/x", true, undefined],
    // The URL parser normalises other spellings of an IPv4 address first.
    ["http://0x7f.1/", false, "127.0.0.1 is a loopback address; set allowPrivate to send there"],
    ["http://2130706433/", false, "127.0.0.1 is a loopback address; set allowPrivate to send there"],
    ["http://[::ffff:169.254.169.254]/", false, "[::ffff:a9fe:a9fe] is a link-local address; set allowPrivate to send there"],
    ["ftp://example.com/", false, "the scheme must be http or https"],
    ["https://user:pw@example.com/", false, "the URL may not carry a user name or password"],
    ["not a url", false, "not a URL"],
    // Names are checked where they are resolved (Node) or refused as local names (Workers).
    ["http://localhost:1/", false, undefined],
  ])("%s (allowPrivate %s)", (url, allowPrivate, problem) => {
    expect(checkWebhookUrl(url, allowPrivate)).toBe(problem);
  });

  it.each([
    ["localhost", true],
    ["api.localhost", true],
    ["printer.local", true],
    ["metadata.google.internal", true],
    ["nas.home.arpa", true],
    ["localhost.", true],
    ["example.com", false],
    ["localhost.example.com", false],
    ["notlocal", false],
  ])("%s is a local name: %s", (name, local) => {
    expect(isLocalName(name)).toBe(local);
  });
});
