import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { renderInspect, renderList, tabulate, type Column } from "../../src/cli/format/output.js";
import { parseTemplate } from "../../src/cli/format/template.js";
import {
  UsageError,
  formatBytes,
  formatDurationMs,
  humanDuration,
  parseDurationMs,
  parseMemoryBytes,
  parseNanoCpus,
} from "../../src/cli/format/units.js";

describe("units", () => {
  it.each([
    ["0", 0],
    ["10s", 10_000],
    ["1m30s", 90_000],
    ["500ms", 500],
    ["1.5h", 5_400_000],
    ["2h3m4s", 7_384_000],
    ["1500us", 2],
  ])("duration %s = %d ms", (text, ms) => expect(parseDurationMs(text)).toBe(ms));

  it.each(["10", "10x", "s", "", "1m 30s", "-1s"])("duration %j is a usage error", (text) => {
    expect(() => parseDurationMs(text)).toThrow(UsageError);
  });

  it("formatting a duration and parsing it back gives the same milliseconds", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (ms) => parseDurationMs(formatDurationMs(ms)) === ms));
  });

  it.each([
    ["512M", 512 * 1024 ** 2],
    ["1g", 1024 ** 3],
    ["1.5GiB", 1.5 * 1024 ** 3],
    ["1024", 1024],
    ["64kb", 64 * 1024],
  ])("memory %s = %d bytes", (text, bytes) => expect(parseMemoryBytes(text)).toBe(bytes));

  it("memory and CPUs refuse what is not a size or a number", () => {
    expect(() => parseMemoryBytes("lots")).toThrow(UsageError);
    expect(() => parseNanoCpus("half")).toThrow(UsageError);
    expect(parseNanoCpus("0.5")).toBe(500_000_000);
    expect(parseNanoCpus("2")).toBe(2e9);
  });

  it.each([
    [0, "Less than a second"],
    [1000, "1 second"],
    [59_000, "59 seconds"],
    [60_000, "About a minute"],
    [5 * 60_000, "5 minutes"],
    [3_600_000, "About an hour"],
    [5 * 3_600_000, "5 hours"],
    [3 * 86_400_000, "3 days"],
    [21 * 86_400_000, "3 weeks"],
    [90 * 86_400_000, "3 months"],
    [3 * 365 * 86_400_000, "3 years"],
  ])("human duration of %d ms is %s (go-units)", (ms, text) => expect(humanDuration(ms)).toBe(text));

  it("bytes print in go-units' binary form", () => {
    expect(formatBytes(512 * 1024 ** 2)).toBe("512MiB");
    expect(formatBytes(1.5 * 1024 ** 3)).toBe("1.5GiB");
    expect(formatBytes(100)).toBe("100B");
  });
});

describe("tabulate (Go's tabwriter with docker's settings)", () => {
  it("pads every column but the last to its widest cell + 3, at least 10", () => {
    expect(tabulate(["ID\tNAME\tMODE", "abc\tweb\treplicated", "abcdefghijkl\tx\tglobal"])).toBe(
      ["ID             NAME      MODE", "abc            web       replicated", "abcdefghijkl   x         global", ""].join("\n"),
    );
  });

  it("an empty last cell leaves the padding of the cell before it (as docker prints)", () => {
    expect(tabulate(["A\tB", "x\t"])).toBe("A         B\nx         \n");
  });

  it("lines with fewer cells end a column block", () => {
    expect(tabulate(["a\tb", "no tabs here", "longer cell\tc"])).toBe("a         b\nno tabs here\nlonger cell   c\n");
  });
});

describe("templates", () => {
  const data = { ID: "svc_1", Name: "web", spec: { name: "web", labels: { a: "1" } }, args: ["x", "y"] };
  it.each([
    ["{{.ID}}", "svc_1"],
    ["{{.Name}}: {{.ID}}", "web: svc_1"],
    ["{{.Spec.Name}}", "web"],
    ["{{json .Spec.Labels}}", '{"a":"1"}'],
    ["{{upper .Name}}", "WEB"],
    ['{{join .Args ","}}', "x,y"],
    ["{{truncate .ID 3}}", "svc"],
    ["{{ .Name }}", "web"],
  ])("%s renders %s", (source, out) => expect(parseTemplate(source).render(data)).toBe(out));

  it.each(["{{.ID", "{{nope .ID}}", "{{.Missing}}", "{{}}"])("%s is a usage error", (source) => {
    expect(() => parseTemplate(source).render(data)).toThrow(UsageError);
  });

  it("reads what the data lacks from the fallback (Docker's view), the data first", () => {
    const docker = { ID: "1", Version: { Index: 7 }, Spec: { Name: "web", Mode: { Replicated: { Replicas: 3 } } } };
    const both = (source: string) => parseTemplate(source).render({ ...data, version: 7, spec: { ...data.spec, mode: "replicated" } }, docker);
    expect(both("{{.ID}} {{.Version}} {{.Version.Index}} {{.Spec.Mode}} {{.Spec.Mode.Replicated.Replicas}}")).toBe("svc_1 7 7 replicated 3");
    expect(() => both("{{.Spec.Nope}}")).toThrow(/no field Nope; fields here: name, labels, mode/);
  });
});

describe("format limits", () => {
  it("refuses a template past its length or action limit, naming the limit", () => {
    expect(() => parseTemplate("x".repeat(16 * 1024 + 1))).toThrow(new UsageError("template: 16385 characters; the limit is 16384"));
    expect(() => parseTemplate("{{.ID}}".repeat(257))).toThrow(new UsageError("template: more than 256 actions ({{…}}); the limit is 256"));
    expect(parseTemplate("{{.ID}}".repeat(256)).render({ id: "a" })).toBe("a".repeat(256));
  });

  it("aligns at most 64 columns: a line of 100,000 tabs is one table, not a stack overflow", () => {
    const wide = Array.from({ length: 100_000 }, (_, i) => String(i % 10)).join("\t");
    const out = tabulate(["a\tb", wide]);
    expect(out.split("\n")[1]!.split("\t")).toHaveLength(100_000 - 63);
    expect(tabulate(["a\tb", "c\td"])).toBe("a         b\nc         d\n");
  });
});

describe("renderList", () => {
  const columns: Column<{ id: string; name: string }>[] = [
    { field: "ID", header: "ID", value: (r) => r.id },
    { field: "Name", header: "NAME", value: (r) => r.name },
  ];
  const rows = [
    { id: "svc_1", name: "web" },
    { id: "svc_2", name: "api" },
  ];

  it("table, -q, json, templates and table templates", () => {
    expect(renderList(rows, columns, {})).toBe("ID        NAME\nsvc_1     web\nsvc_2     api\n");
    expect(renderList(rows, columns, { quiet: true })).toBe("svc_1\nsvc_2\n");
    expect(renderList(rows, columns, { format: "json" })).toBe('{"ID":"svc_1","Name":"web"}\n{"ID":"svc_2","Name":"api"}\n');
    expect(renderList(rows, columns, { format: "{{.Name}}" })).toBe("web\napi\n");
    expect(renderList(rows, columns, { format: "table {{.Name}}\\t{{.ID}}" })).toBe("NAME      ID\nweb       svc_1\napi       svc_2\n");
  });

  it("inspect prints a JSON array indented by 4, or the template per object; --pretty and --format conflict", () => {
    expect(renderInspect([{ a: 1 }], {})).toBe('[\n    {\n        "a": 1\n    }\n]\n');
    expect(renderInspect([{ a: 1 }, { a: 2 }], { format: "{{.a}}" })).toBe("1\n2\n");
    expect(() => renderInspect([{ a: 1 }], { format: "{{.a}}", pretty: () => "" })).toThrow(UsageError);
  });
});
