import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerOptions, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { ApiError, type ErrorCode } from "../http/errors.js";
import { maxHeaderBytes, maxUrlLength } from "../domain/limits.js";

/**
 * Node's HTTP parser refuses a request head past this many bytes. It sits above the app's own
 * URL and header limits (src/api/request-limits.ts) with room for the request line's method and
 * version, so what the parser lets through is refused by the app, and only heads far past the
 * limits are refused here, in the same shape.
 */
export const maxRequestHeadBytes = maxUrlLength + maxHeaderBytes + 1024;
/** After answering a request whose body was not read, keep reading (and dropping) it this long at most… */
export const lingerMs = 10_000;
/** …and this many bytes at most, then close. */
export const maxLingerBytes = 64 * 1024 * 1024;

/**
 * Closes a connection the way a client can read the answer: the answer is flushed and our side
 * half-closed, then whatever the client still sends is read and dropped until it closes, or for
 * `lingerMs` / `maxLingerBytes`. Closing a socket with unread data sends a reset, and a client
 * still writing its body then fails (EPIPE, ECONNRESET) before it reads the 413 it was sent.
 */
export function lingerThenClose(socket: Socket): void {
  const state = socket as Socket & { [lingering]?: true };
  if (state[lingering] || socket.destroyed) return;
  state[lingering] = true;
  let bytes = 0;
  const timer = setTimeout(() => socket.destroy(), lingerMs);
  timer.unref();
  socket.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > maxLingerBytes) socket.destroy();
  });
  socket.once("end", () => socket.destroy());
  socket.once("close", () => clearTimeout(timer));
  socket.end();
  socket.resume();
}
const lingering = Symbol("lingering");
const pendingRequest = Symbol("pendingRequest");

/** The answer to a request Node's parser refused, as raw HTTP/1.1 in the one error shape. */
function rawProblem(code: ErrorCode, message: string): string {
  const error = new ApiError(code, message);
  const body = JSON.stringify(error.toProblem());
  const reason = { 400: "Bad Request", 408: "Request Timeout", 414: "URI Too Long", 431: "Request Header Fields Too Large" }[error.status as 400] ?? "Error";
  return `HTTP/1.1 ${error.status} ${reason}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

/** What Node's parser refused, as the error to answer with. */
function clientProblem(err: NodeJS.ErrnoException & { rawPacket?: Buffer }): string {
  switch (err.code) {
    case "HPE_HEADER_OVERFLOW": {
      // rawPacket is what the parser was given last, from the request line on when the head came
      // in one piece: a request line longer than the URL limit (or not ended) is a URL too long.
      const packet = err.rawPacket?.toString("latin1") ?? "";
      const lineEnd = packet.indexOf("\r\n");
      const urlTooLong = /^[A-Z]+ /.test(packet) && (lineEnd === -1 || lineEnd > maxUrlLength);
      return urlTooLong
        ? rawProblem("uri_too_long", `the URL's path and query are over ${maxUrlLength} characters`)
        : rawProblem("headers_too_large", `the request's header fields are over ${maxHeaderBytes} bytes`);
    }
    case "HPE_HEADERS_TIMEOUT":
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return rawProblem("request_timeout", "the request did not arrive in time");
    default:
      return rawProblem("malformed_request", `the request is not valid HTTP/1.1 (${err.code ?? "parse error"})`);
  }
}

/**
 * The HTTP server the Node entry serves the app on (`serve`'s `createServer`): the request head
 * bounded, a request Node's parser refuses answered in the one error shape (Node's default is an
 * empty 400/431 and an abrupt close), and a body left unread (a 413) drained before closing.
 */
export const createShoalServer = ((options: ServerOptions, listener?: RequestListener) => {
  const server: Server = createServer({ ...options, maxHeaderSize: maxRequestHeadBytes }, (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket as Socket & { [pendingRequest]?: IncomingMessage; destroySoon?: () => void };
    const first = !(pendingRequest in socket);
    socket[pendingRequest] = req;
    if (first && socket.destroySoon) {
      // Node closes a `connection: close` answer's socket with destroySoon once the answer is
      // written, unread body or not; an unread body makes that a reset the client may read first.
      const destroySoon = socket.destroySoon.bind(socket);
      socket.destroySoon = () => (socket[pendingRequest]?.complete === false ? lingerThenClose(socket) : destroySoon());
    }
    listener?.(req, res);
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    // An answer already under way on this connection cannot be followed by another (Node's own check).
    const answering = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent ?? false;
    if (err.code === "ECONNRESET" || !socket.writable || answering) {
      socket.destroy();
      return;
    }
    // The parser is done with this connection: nothing it would read counts any more.
    socket.removeAllListeners("data");
    socket.write(clientProblem(err));
    lingerThenClose(socket);
  });
  return server;
}) as typeof createServer;
