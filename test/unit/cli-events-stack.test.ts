import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { eventPrinter, nanoTime, type ApiEvent } from "../../src/cli/event-views.js";
import { UsageError } from "../../src/cli/format/units.js";
import { SseParser } from "../../src/cli/sse.js";
import { deployEnv, envFilePaths, objectFilePaths } from "../../src/cli/stack-files.js";

const event: ApiEvent = {
  id: 7,
  name: "service.update",
  type: "service",
  action: "update",
  actor: { id: "svc_abc", attributes: { name: "web", image: "nginx:1" } },
  time: "2026-11-24T22:01:02.000Z",
};

describe("SseParser", () => {
  it.each([
    ["id: 1\ndata: {}\n\n", [{ event: "message", id: "1", data: "{}" }]],
    ["event: end\nid: 9\ndata: {\"cursor\":9}\n\n", [{ event: "end", id: "9", data: '{"cursor":9}' }]],
    [": keep-alive\n\n", []],
    ["data: a\ndata: b\r\n\r\n", [{ event: "message", id: undefined, data: "a\nb" }]],
    ["data:no-space\n\nid: 2\n\n", [{ event: "message", id: undefined, data: "no-space" }]],
    ["data: unfinished\n", []],
  ])("%j", (text, messages) => expect(new SseParser().push(text)).toEqual(messages));

  it("gives the same messages however the stream is cut into chunks", () => {
    const stream = "id: 1\ndata: {\"a\":1}\n\n: keep-alive\n\nid: 2\nevent: end\ndata: {}\n\n";
    const whole = new SseParser().push(stream);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 })), (cuts) => {
        const parser = new SseParser();
        const at = [0, ...[...cuts].sort((a, b) => a - b), stream.length];
        const got = at.slice(1).flatMap((end, i) => parser.push(stream.slice(at[i], end)));
        expect(got).toEqual(whole);
      }),
    );
  });
});

describe("eventPrinter", () => {
  it("prints docker's line: fixed nanoseconds, attributes sorted", () => {
    expect(eventPrinter()(event)).toBe("2026-11-24T22:01:02.000000000Z service update svc_abc (image=nginx:1, name=web)\n");
    expect(eventPrinter()({ ...event, actor: { id: "svc_abc", attributes: {} } })).toBe("2026-11-24T22:01:02.000000000Z service update svc_abc\n");
    expect(nanoTime("2026-11-24T22:01:02.123Z")).toBe("2026-11-24T22:01:02.123000000Z");
  });

  it("json is docker's message; templates read its fields", () => {
    expect(JSON.parse(eventPrinter("json")(event))).toEqual({
      Type: "service",
      Action: "update",
      Actor: { ID: "svc_abc", Attributes: { name: "web", image: "nginx:1" } },
      scope: "swarm",
      time: 1795557662,
      timeNano: 1795557662000000000,
    });
    expect(eventPrinter("{{.Type}}\\t{{.Actor.Attributes.name}}")(event)).toBe("service\tweb\n");
    expect(() => eventPrinter("{{.Type")).toThrow(UsageError);
  });
});

describe("stack deploy's files", () => {
  it("collects env_file paths of every file, interpolated; unparsable files name none", () => {
    const files = [
      "services:\n  web:\n    env_file: web.env\n  db:\n    env_file:\n      - db.env\n      - ./${STAGE}.env\n",
      "services:\n  web:\n    env_file: web.env\n  cache: {}\n",
      "services: [unclosed\n",
    ];
    expect(envFilePaths(files, { STAGE: "prod" })).toEqual(["web.env", "db.env", "./prod.env"]);
  });

  it("collects the file: paths of top-level secrets and configs, interpolated; external ones and unparsable files name none", () => {
    const files = [
      "services: {}\nsecrets:\n  pw: { file: ./pw.txt }\n  ext: { external: true }\nconfigs:\n  conf:\n    file: conf/${STAGE}.conf\n",
      "secrets:\n  pw: { file: ./pw.txt }\n  other: { file: /abs/key }\n",
      "secrets: [unclosed\n",
    ];
    expect(objectFilePaths(files, { STAGE: "prod" })).toEqual(["./pw.txt", "conf/prod.conf", "/abs/key"]);
  });

  it("sends string variables the API takes", () => {
    expect(deployEnv({ TAG: "1.27", UNSET: undefined, HUGE: "x".repeat(40_000) })).toEqual({ TAG: "1.27" });
  });
});
