/**
 * The answers vipless gives itself, as data: the reason phrases it uses and the one
 * place a `503` is made (with `Retry-After`, or without it for overload control),
 * whether it goes out through a server transaction or statelessly.
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

/** `503 Service Unavailable` with `Retry-After`: vipless (or the pair) serves nothing for now. */
export function serviceUnavailable(headers: [string, string][] = []): LocalAnswer {
  return answer(503, "Service Unavailable", [["Retry-After", `${RETRY_AFTER_S}`], ...headers]);
}

/**
 * `503 Service Unavailable` without `Retry-After`: one request shed by overload control,
 * a share of them. RFC 7339 §5.10 (a client refusing on behalf of an overloaded server)
 * and §5.10.2 (an overloaded server: it "MUST reject some requests from
 * non-participating clients with a 503 (Service Unavailable) response without the
 * Retry-After header"): with one, the client "SHOULD NOT forward any other requests to
 * that server for the duration" (RFC 3261 §21.5.4), all traffic off and back on.
 */
export function shed(): LocalAnswer {
  return answer(503, "Service Unavailable");
}
