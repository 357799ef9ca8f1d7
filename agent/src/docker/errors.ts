/**
 * The one error the Docker client throws. `statusCode` is the HTTP status of
 * the engine's answer (200 for an error reported inside a streamed or
 * unusable 200 answer), or 0 when no answer arrived (socket error, timeout,
 * abort). `engineMessage` is the engine's own text, kept apart from `message`
 * so callers can match on it while logs still show the call.
 */
export class DockerError extends Error {
  constructor(
    readonly statusCode: number,
    readonly engineMessage: string,
    /** Method and path of the failed call, e.g. `POST /v1.41/containers/abc/start`. */
    readonly call: string,
    options?: ErrorOptions,
  ) {
    super(`${call}: ${statusCode ? `${statusCode} ` : ""}${engineMessage}`, options);
    this.name = "DockerError";
  }
}

/** No such container, image or volume: lets "remove what is already gone" succeed. */
export function isNotFound(err: unknown): boolean {
  return err instanceof DockerError && err.statusCode === 404;
}

/** Name already in use, container not running, removal in progress: the state the caller wanted may already hold. */
export function isConflict(err: unknown): boolean {
  return err instanceof DockerError && err.statusCode === 409;
}
