import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/cli/format/units.js";
import { buildServiceSpec } from "../../src/cli/service-flags.js";
import { EnvFileError, lookupIn, parseEnvFile } from "../../src/domain/env-file.js";
import { imageRefProblem, parseImageRef, pullArguments } from "../../src/domain/image-ref.js";
import { ShellWordsError, splitShellWords } from "../../src/domain/shell-words.js";
import { parseDurationMs } from "../../src/domain/units.js";
import { loadStack } from "../../src/stack/load.js";

/** The grammars the CLI and the control plane share, against what docker does with the same text. */

describe("shell words (go-shellwords / shlex)", () => {
  it.each([
    ["a b  c", ["a", "b", "c"]],
    [`sh -c "echo 'hi there' && exit 3"`, ["sh", "-c", "echo 'hi there' && exit 3"]],
    [`a\\ b 'c d' "e\\"f"`, ["a b", "c d", 'e"f']],
    [`''`, [""]],
    ["", []],
    [" \t\r\n ", []],
    [`a''b "c"'d'`, ["ab", "cd"]],
    // A backslash in double quotes takes any next character (a POSIX shell would keep "\b").
    [`"a\\b"`, ["ab"]],
    [`"a\\\\b"`, ["a\\b"]],
    [`"a\\$b"`, ["a$b"]],
    // In single quotes a backslash is a plain character.
    [`'a\\b'`, ["a\\b"]],
    [`'a\\'`, ["a\\"]],
    // Outside quotes it escapes separators and quotes.
    [`a\\"b`, ['a"b']],
    [`a\\\nb`, ["a\nb"]],
    // Only space, tab, CR and LF separate words.
    ["a\u00a0b", ["a\u00a0b"]],
    ["a\tb\nc", ["a", "b", "c"]],
    // No operators: ; && | are words like any other.
    ["echo a; echo b", ["echo", "a;", "echo", "b"]],
  ])("splits %j", (line, words) => expect(splitShellWords(line)).toEqual(words));

  it.each([
    [`"open`, /" quote is not closed/],
    [`'open`, /' quote is not closed/],
    [`a "b\\"`, /" quote is not closed/],
    [`trailing\\`, /backslash ends the line/],
    [`"x" \\`, /backslash ends the line/],
  ])("refuses %j", (line, message) => {
    expect(() => splitShellWords(line)).toThrow(ShellWordsError);
    expect(() => splitShellWords(line)).toThrow(message);
  });

  it("is the splitter of compose's string command and of --entrypoint", () => {
    const stack = loadStack({ stack: "s", env: {}, files: [`services:\n  a:\n    image: x\n    command: 'sh -c "echo \\\\x"'\n    entrypoint: 'run\\'\n`] });
    expect(stack).toMatchObject({ ok: false, errors: [{ path: "services.a.entrypoint", message: "a backslash ends the line, with nothing to escape" }] });
    const fine = loadStack({ stack: "s", env: {}, files: [`services:\n  a:\n    image: x\n    command: 'sh -c "echo \\\\x"'\n`] });
    expect(fine.ok && fine.services[0]!.spec.task.container.args).toEqual(["sh", "-c", "echo \\x"]);
    expect(buildServiceSpec("x", [], { entrypoint: '"a\\b" c' })).toMatchObject({ task: { container: { command: ["ab", "c"] } } });
    expect(() => buildServiceSpec("x", [], { entrypoint: "a\\" })).toThrow(UsageError);
  });
});

describe("env files (docker/cli opts.ParseEnvFile)", () => {
  const lookup = lookupIn({ HOME: "/home/me", EMPTY: "" });
  it.each([
    ["foo=bar\n    baz=quux\n# comment\n\n_foobar=foobaz\nwith.dots=working\nand_underscore=working too\n\n    \t  ", [["foo", "bar"], ["baz", "quux"], ["_foobar", "foobaz"], ["with.dots", "working"], ["and_underscore", "working too"]]],
    ["", []],
    // Values as written: no trimming, no quotes taken off, no interpolation, later "=" kept.
    ["A= x \nB=\"q\"\nC=$HOME\nD=a=b\nE=", [["A", " x "], ["B", '"q"'], ["C", "$HOME"], ["D", "a=b"], ["E", ""]]],
    // A bare name is passed through from the environment, and left out when unset there.
    ["HOME\nUNDEFINED_VAR\nEMPTY", [["HOME", "/home/me"], ["EMPTY", ""]]],
    ["constructor\n__proto__", []],
    ["\uFEFFA=1\r\nB=2\r\n", [["A", "1"], ["B", "2"]]],
    ["  # indented comment\n#A=1", []],
  ])("reads %j", (text, entries) => expect(parseEnvFile(text, lookup)).toEqual(entries));

  it.each([
    ["foo=bar\n    f   =quux\n", "line 2: variable 'f   ' contains whitespace"],
    ["first line\nanother invalid line", "line 1: variable 'first line' contains whitespace"],
    ["# comment=\n=blank variable names are an error case\n", 'line 2: no variable name before "="'],
    ["KEY \n", "line 1: variable 'KEY ' contains whitespace"],
  ])("refuses %j", (text, message) => {
    expect(() => parseEnvFile(text, lookup)).toThrow(EnvFileError);
    expect(() => parseEnvFile(text, lookup)).toThrow(message);
  });

  it("is the reader of a stack's env_file and of --env-file", () => {
    const file = `services:\n  a:\n    image: x\n    env_file: a.env\n`;
    const stack = (text: string) => loadStack({ stack: "s", env: { SET: "1" }, files: [file], envFiles: { "a.env": text } });
    const read = stack("SET\nUNSET\nA=1 ");
    expect(read.ok && read.services[0]!.spec.task.container.env).toEqual(["SET=1", "A=1 "]);
    expect(stack("A B=1")).toMatchObject({ ok: false, errors: [{ path: "services.a.env_file.0", message: "a.env: line 1: variable 'A B' contains whitespace" }] });
    process.env.SHOAL_TEST_SET = "1";
    delete process.env.SHOAL_TEST_UNSET;
    expect(buildServiceSpec("x", [], { env: ["B=2"] }, ["SHOAL_TEST_SET\nSHOAL_TEST_UNSET\nA=1"])).toMatchObject({
      task: { container: { env: ["SHOAL_TEST_SET=1", "A=1", "B=2"] } },
    });
    expect(() => buildServiceSpec("x", [], {}, ["A=1", "=2"])).toThrow(new UsageError('invalid argument for --env-file (file 2): line 1: no variable name before "="'));
  });
});

describe("image references (distribution/reference)", () => {
  it.each([
    ["nginx", "nginx", "latest"],
    ["nginx:1.25", "nginx", "1.25"],
    ["localhost:5000/team/app", "localhost:5000/team/app", "latest"],
    ["localhost:5000/team/app:v2", "localhost:5000/team/app", "v2"],
    ["app@sha256:abc", "app", "sha256:abc"],
    ["app:v1@sha256:abc", "app", "sha256:abc"],
    ["app:", "app", "latest"],
  ])("pulls %s as fromImage %s and tag %s", (ref, name, tag) => {
    expect(pullArguments(ref)).toEqual({ name, tag });
  });

  const sha = "a".repeat(64);
  it.each([
    "nginx",
    "nginx:1.27",
    "library/nginx:latest",
    "docker.io/library/nginx",
    `nginx@sha256:${sha}`,
    `ghcr.io/acme/web:v1@sha256:${sha}`,
    "localhost/app",
    "localhost:5000/team/app:v2",
    "registry.example:5000/acme/web:2",
    "127.0.0.1:5000/a",
    "[::1]:5000/a",
    "Registry.Example/a",
    "a__b/c.d/e---f:_tag",
    `x:${"t".repeat(128)}`,
    // What `name:${TAG}` gives with TAG unset: the stack loader warns about TAG.
    "registry.example/api:",
    `${"a".repeat(236)}/b`,
  ])("accepts %s", (ref) => expect(imageRefProblem(ref)).toBeUndefined());

  it.each([
    ["Nginx", /must be lower-case/],
    ["acme/Web", /must be lower-case/],
    [sha, /image id/],
    ["nginx:.x", /tag \.x is not/],
    [`nginx:${"t".repeat(129)}`, /tag .* is not/],
    ["nginx@sha256:abc", /not algorithm:hex/],
    [`nginx@md5:${sha}`, /algorithm md5 is not one of sha256, sha384, sha512/],
    [`nginx@sha256:${"A".repeat(64)}`, /64 lower-case hexadecimal/],
    [`nginx@sha512:${sha}`, /128 lower-case/],
    ["-x/y", /not \/-separated components/],
    ["a//b", /not \/-separated components/],
    ["a/b_", /not \/-separated components/],
    ["a...b", /not \/-separated components/],
    ["ex-.com/a", /registry ex-\.com is not a host name/],
    ["host:port/a", /registry host:port is not/],
    ["/a", /repository name \/a is not/],
    ["", /\(empty\)/],
    [`${"a".repeat(246)}`, /longer than 255/],
  ])("refuses %s", (ref, message) => expect(imageRefProblem(ref)).toMatch(message));

  it("judges what it splits: the parts put back together are the reference", () => {
    for (const ref of ["a:1", "h:5/a:b@sha256:x", "a@b@c", "::"]) {
      const { repository, tag, digest } = parseImageRef(ref);
      expect(`${repository}${tag !== undefined ? `:${tag}` : ""}${digest !== undefined ? `@${digest}` : ""}`).toBe(ref);
    }
  });
});

describe("Go durations (time.ParseDuration)", () => {
  it.each([
    ["0", 0],
    ["+0", 0],
    ["10s", 10_000],
    ["+5s", 5_000],
    ["1.s", 1_000],
    [".5s", 500],
    ["1h1m1s1ms", 3_661_001],
    ["1500us", 2],
    ["1500µs", 2],
    ["1500μs", 2],
    ["999999ns", 1],
    ["2562047h", 2562047 * 3_600_000],
  ] as const)("%s is %d ms", (text, ms) => expect(parseDurationMs(text)).toBe(ms));

  it.each(["", "1", "s", "-1s", "1d", "1 s", " 1s", "1s ", "1e3s", "1.5.5s", "0s0", "2562048h", `${"9".repeat(400)}h`])("%j is not a duration", (text) =>
    expect(parseDurationMs(text)).toBeUndefined(),
  );
});
