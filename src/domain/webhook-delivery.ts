/** What one attempt got: an HTTP status, or an error with no answer (refused target, timeout, reset). */
export interface AttemptResult {
  status?: number;
  error?: string;
  /** From a Retry-After header, when the answer had one. */
  retryAfterMs?: number;
}

export type DeliveryOutcome =
  | { state: "succeeded" }
  | { state: "pending"; nextAttemptAt: number }
  | { state: "failed"; disableWebhook?: string };
