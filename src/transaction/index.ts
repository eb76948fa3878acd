/** RFC 3261 §17 transactions (with RFC 6026), pure. See README.md for how to drive them. */
export type { Action, Transaction } from "./actions.ts";
export { ClientTransaction } from "./client-transaction.ts";
export type { ClientState } from "./client-transaction.ts";
export type { OutgoingRequest, OutgoingResponse, RequestFacts, ResponseFacts } from "./facts.ts";
export { hasRfc3261Branch } from "./keys.ts";
export { TransactionLayer } from "./layer.ts";
export type { RequestResult, ResponseResult, TransactionLayerOptions } from "./layer.ts";
export { ServerTransaction } from "./server-transaction.ts";
export type { ServerState } from "./server-transaction.ts";
export { TimerQueue } from "./timer-queue.ts";
export type { TimerHandle } from "./timer-queue.ts";
export { DEFAULT_TIMER_SETTINGS, timerDuration } from "./timer-values.ts";
export type { TimerName, TimerSettings } from "./timer-values.ts";
