import { describe, expect, it } from "vitest";
import { engineSinceAfter, engineSinceMs, LineSplitter } from "../../agent/src/log-lines.js";
import { LogDemuxer } from "../../agent/src/docker/log-demux.js";
import { compareLogLines, formatLogLine, logTimeNs, LogMerger, slotDigitsOf, type LogFormat, type LogLine, type LogTask } from "../../src/domain/log-lines.js";

const line = (time: string, text: string, taskId = "task_a", stream: LogLine["stream"] = "stdout"): LogLine => ({ taskId, stream, time, text });

describe("log times", () => {
  it("reads RFC 3339 times to the nanosecond, offsets included", () => {
    expect(logTimeNs("2026-01-01T00:00:01.000000001Z")).toBe(1767225601000000001n);
    expect(logTimeNs("2026-01-01T00:00:01.5Z")).toBe(1767225601500000000n);
    expect(logTimeNs("2026-01-01T01:00:01+01:00")).toBe(1767225601000000000n);
    expect(logTimeNs("yesterday")).toBeUndefined();
  });

  it("orders lines by time to the nanosecond; unreadable times go last", () => {
    const lines = [line("2026-01-01T00:00:01.000000002Z", "b"), line("garbage", "z"), line("2026-01-01T00:00:01.000000001Z", "a")];
    expect(lines.sort(compareLogLines).map((l) => l.text)).toEqual(["a", "b", "z"]);
  });

  it("gives the engine's since as Unix seconds with nine decimals, one nanosecond after a line", () => {
    expect(engineSinceMs(1767225601500)).toBe("1767225601.500000000");
    expect(engineSinceAfter("2026-01-01T00:00:01.999999999Z")).toBe("1767225602.000000000");
  });
});

describe("LogMerger", () => {
  it("holds lines for the merge window, then releases them in time order across nodes", () => {
    const m = new LogMerger(300);
    m.add([line("2026-01-01T00:00:02Z", "a2")], 0);
    m.add([line("2026-01-01T00:00:01Z", "b1", "task_b")], 100);
    expect(m.take(200)).toEqual([]);
    // b1 is due at 400: a2, due at 300 but later in time, waits behind it.
    expect(m.take(350)).toEqual([]);
    expect(m.take(400).map((l) => l.text)).toEqual(["b1", "a2"]);
    expect(m.size).toBe(0);
  });

  it("releases everything at once when all nodes are done, stable for equal times", () => {
    const m = new LogMerger(300);
    m.add([line("2026-01-01T00:00:01Z", "first"), line("2026-01-01T00:00:01Z", "second"), line("2026-01-01T00:00:00Z", "zero")], 0);
    expect(m.take(0, true).map((l) => l.text)).toEqual(["zero", "first", "second"]);
  });
});

describe("formatLogLine (docker service logs)", () => {
  const task: LogTask = { id: "task_abcdefghijklmnop", serviceId: "svc_1", serviceName: "web", slot: 1, nodeId: "node_x", nodeName: "host-1" };
  const f: LogFormat = { timestamps: false, noTaskIds: false, noTrunc: false, noResolve: false, raw: false, slotDigits: 1 };
  const l = line("2026-01-01T00:00:01.000000000Z", "hello", task.id);

  it("prefixes name.slot.taskid@node and docker's bar", () => {
    expect(formatLogLine(l, task, f)).toBe("web.1.task_abcdefg@host-1    | hello");
    expect(formatLogLine(l, task, { ...f, timestamps: true })).toBe("2026-01-01T00:00:01.000000000Z web.1.task_abcdefg@host-1    | hello");
    expect(formatLogLine(l, task, { ...f, noTaskIds: true })).toBe("web.1@host-1    | hello");
    expect(formatLogLine(l, task, { ...f, noTrunc: true, noResolve: true })).toBe("web.1.task_abcdefghijklmnop@node_x    | hello");
  });

  it("pads short slots after the node to the replica count's digits", () => {
    expect(slotDigitsOf(10, [task])).toBe(2);
    expect(formatLogLine(l, task, { ...f, slotDigits: 2 })).toBe("web.1.task_abcdefg@host-1     | hello");
    expect(formatLogLine(l, { ...task, slot: 10 }, { ...f, slotDigits: 2 })).toBe("web.10.task_abcdefg@host-1    | hello");
  });

  it("--raw prints the text alone (with -t, its time)", () => {
    expect(formatLogLine(l, task, { ...f, raw: true })).toBe("hello");
    expect(formatLogLine(l, task, { ...f, raw: true, timestamps: true })).toBe("2026-01-01T00:00:01.000000000Z hello");
  });
});

describe("LineSplitter", () => {
  const frame = (type: number, text: string) => {
    const payload = Buffer.from(text);
    const header = Buffer.alloc(8);
    header[0] = type;
    header.writeUInt32BE(payload.length, 4);
    return Buffer.concat([header, payload]);
  };

  it("cuts demultiplexed frames into stamped lines, each stream on its own", () => {
    const bytes = Buffer.concat([
      frame(1, "2026-01-01T00:00:01.000000000Z out "),
      frame(2, "2026-01-01T00:00:01.100000000Z err line\n"),
      frame(1, "one\n2026-01-01T00:00:02.000000000Z out two\n"),
    ]);
    const demuxer = new LogDemuxer();
    const splitter = new LineSplitter();
    const lines = [bytes.subarray(0, 13), bytes.subarray(13, 60), bytes.subarray(60)].flatMap((c) => demuxer.push(c)).flatMap((c) => splitter.push(c.stream, c.text));
    expect(lines).toEqual([
      { stream: "stderr", time: "2026-01-01T00:00:01.100000000Z", text: "err line" },
      { stream: "stdout", time: "2026-01-01T00:00:01.000000000Z", text: "out one" },
      { stream: "stdout", time: "2026-01-01T00:00:02.000000000Z", text: "out two" },
    ]);
    expect(splitter.end()).toEqual([]);
  });

  it("drops a TTY's carriage return and keeps a last line without newline", () => {
    const s = new LineSplitter();
    expect(s.push("stdout", "2026-01-01T00:00:01Z a\r\n2026-01-01T00:00:02Z b")).toEqual([{ stream: "stdout", time: "2026-01-01T00:00:01Z", text: "a" }]);
    expect(s.end()).toEqual([{ stream: "stdout", time: "2026-01-01T00:00:02Z", text: "b" }]);
  });
});
