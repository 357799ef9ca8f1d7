/** A command line the splitter refuses: a quote left open or a backslash at the end. */
export class ShellWordsError extends Error {
  override name = "ShellWordsError";
}

const separators = " \t\r\n";

/**
 * Splits a command line into words without expanding anything, as docker
 * does for compose's string `command`/`entrypoint` (go-shellwords) and for
 * `--entrypoint` (shlex): quotes group, and a backslash outside single quotes
 * takes the next character as it is, inside double quotes too (`"a\b"` is
 * `ab`, where a POSIX shell keeps `a\b`). Words are separated by spaces, tabs,
 * CRs and LFs. Used by the stack loader and the CLI's flags.
 */
export function splitShellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else word += ch;
    } else if (ch === "\\") {
      if (i + 1 === line.length) throw new ShellWordsError("a backslash ends the line, with nothing to escape");
      word = (word ?? "") + line[++i];
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      word ??= "";
    } else if (separators.includes(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? "") + ch;
  }
  if (quote) throw new ShellWordsError(`a ${quote} quote is not closed`);
  if (word !== undefined) words.push(word);
  return words;
}

/** A single-quoted shell word: nothing inside is expanded. */
export const shellQuote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;
