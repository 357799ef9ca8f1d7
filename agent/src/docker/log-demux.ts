import { StringDecoder } from "node:string_decoder";

export type LogStream = "stdout" | "stderr";

export interface LogChunk {
  stream: LogStream;
  text: string;
}

const HEADER_BYTES = 8;

/**
 * Reassembles the engine's multiplexed log stream (used when the container
 * has no TTY): frames of an 8-byte header — stream type (0 stdin, 1 stdout,
 * 2 stderr, 3 engine error), three zero bytes, big-endian uint32 payload
 * length — then the payload. Chunks may cut headers and payloads anywhere;
 * each stream has its own decoder because a frame may end inside a UTF-8
 * character that the stream's next frame completes.
 */
export class LogDemuxer {
  private buffered: Buffer = Buffer.alloc(0);
  private readonly decoders: Record<LogStream, StringDecoder> = {
    stdout: new StringDecoder("utf8"),
    stderr: new StringDecoder("utf8"),
  };

  /** The text of the frames this chunk completes. Throws on an unknown stream type or an engine error frame. */
  push(chunk: Buffer): LogChunk[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const chunks: LogChunk[] = [];
    while (this.buffered.length >= HEADER_BYTES) {
      const end = HEADER_BYTES + this.buffered.readUInt32BE(4);
      if (this.buffered.length < end) break;
      const type = this.buffered[0];
      const payload = this.buffered.subarray(HEADER_BYTES, end);
      this.buffered = this.buffered.subarray(end);
      if (type === 3) throw new Error(`engine error in log stream: ${payload.toString("utf8")}`);
      if (type !== 0 && type !== 1 && type !== 2) throw new Error(`unknown log stream type ${String(type)}`);
      // stdin (0) is only ever echoed to attached clients; stdcopy treats it as stdout too.
      const stream: LogStream = type === 2 ? "stderr" : "stdout";
      const text = this.decoders[stream].write(payload);
      if (text !== "") chunks.push({ stream, text });
    }
    return chunks;
  }

  /** Whatever the decoders still hold. Throws if the stream stopped inside a frame. */
  end(): LogChunk[] {
    if (this.buffered.length > 0) throw new Error(`log stream ended inside a frame (${this.buffered.length} bytes left)`);
    return (["stdout", "stderr"] as const)
      .map((stream) => ({ stream, text: this.decoders[stream].end() }))
      .filter((chunk) => chunk.text !== "");
  }
}
