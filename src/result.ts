/**
 * The one shape of an outcome that can fail, across `src/`: `ok: true` with what was
 * made, or `ok: false` with an `error` saying why. The success side is flat (its
 * fields sit beside `ok`) because the operator actions' results are the JSON the HTTP
 * API returns as is.
 */
export type Result<T extends object, E> = ({ ok: true } & T) | { ok: false; error: E };
