/**
 * The answers vipless gives itself, as data: the reason phrases it uses and the one
 * place a `503` with `Retry-After` is made, whether it goes out through a server
 * transaction or statelessly.
 */

/** Seconds a caller is asked to wait after one of our 503s. */
export const RETRY_AFTER_S = 5;

export interface LocalAnswer {
  status: number;
  reason: string;
  headers: [string, string][];
}

const REASONS: Record<number, string> = {
  100: "Trying",
  200: "OK",
  408: "Request Timeout",
  482: "Loop Detected",
  483: "Too Many Hops",
  487: "Request Terminated",
  500: "Server Internal Error",
  503: "Service Unavailable",
};

/** An answer with its usual reason phrase (or the one given). */
export function answer(
  status: number,
  reason: string = REASONS[status] ?? "Error",
  headers: [string, string][] = [],
): LocalAnswer {
  return { status, reason, headers };
}

/** `503 Service Unavailable` with `Retry-After`: the only way vipless says it. */
export function serviceUnavailable(headers: [string, string][] = []): LocalAnswer {
  return answer(503, "Service Unavailable", [["Retry-After", `${RETRY_AFTER_S}`], ...headers]);
}
