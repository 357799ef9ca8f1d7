import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/cli/format/units.js";
import { buildServiceSpec } from "../../src/cli/service-flags.js";
import { ShellWordsError, splitShellWords } from "../../src/domain/shell-words.js";
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
