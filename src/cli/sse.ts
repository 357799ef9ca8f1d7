/** A server-sent event (text/event-stream): its `event` name ("message" when unnamed), last `id` and `data` lines. */
export interface SseMessage {
  event: string;
  id: string | undefined;
  data: string;
}

/**
 * Reads a server-sent event stream as it arrives, as the HTML standard's parser
 * does: feed it chunks of text, get the messages each completes. Comments (keep-alives)
 * and messages without data are skipped. Pure.
 */
export class SseParser {
  private buffer = "";
  private event = "";
  private data: string[] = [];
  private id: string | undefined;

  push(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const messages: SseMessage[] = [];
    for (let nl = this.buffer.indexOf("\n"); nl >= 0; nl = this.buffer.indexOf("\n")) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, "");
      this.buffer = this.buffer.slice(nl + 1);
      if (line === "") {
        if (this.data.length) messages.push({ event: this.event || "message", id: this.id, data: this.data.join("\n") });
        this.event = "";
        this.data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") this.event = value;
      else if (field === "data") this.data.push(value);
      else if (field === "id" && !value.includes("\0")) this.id = value;
    }
    return messages;
  }
}
