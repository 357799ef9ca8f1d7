import { StringDecoder } from "node:string_decoder";

/**
 * Splits a streamed answer (the engine's pull progress and events, the API's logs) into JSON values, one per
 * line. Chunks can cut a line, or a UTF-8 character, anywhere, so the
 * unfinished tail is kept for the next chunk.
 */
export class JsonLineParser {
  private readonly decoder = new StringDecoder("utf8");
  private pending = "";

  /** The values whose lines this chunk completes. Throws SyntaxError on a malformed line. */
  push(chunk: Buffer): unknown[] {
    this.pending += this.decoder.write(chunk);
    const lines = this.pending.split("\n");
    this.pending = lines.pop() ?? "";
    return parseLines(lines);
  }

  /** The value of a last line the stream did not terminate, if any. */
  end(): unknown[] {
    const rest = this.pending + this.decoder.end();
    this.pending = "";
    return parseLines([rest]);
  }
}

function parseLines(lines: string[]): unknown[] {
  return lines.filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as unknown);
}
