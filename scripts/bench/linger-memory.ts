/**
 * Memory per lingering transaction (issue 10): drives a real ProxyCore on a fake clock
 * through N complete calls (INVITE → 200, BYE → 200, all over UDP) without running the
 * timers, so that every transaction of every call is left absorbing retransmissions
 * (RFC 6026 Timers L and M, Timer J, Timer K), then reports the heap it holds per live
 * transaction. Run: `npx deno run -A --v8-flags=--expose-gc scripts/bench/linger-memory.ts [calls]`
 * or `npx bun scripts/bench/linger-memory.ts [calls]`.
 */
import process from "node:process";
import { answer, Harness, PRIMARY, request, type Sent } from "../../tests/proxy/harness.ts";

type Gc = { gc?: () => void; Bun?: { gc(force: boolean): void } };

function collect(): void {
  const g = globalThis as unknown as Gc;
  if (g.gc) g.gc();
  else if (g.Bun) g.Bun.gc(true);
  else throw new Error("no gc: run deno with --v8-flags=--expose-gc");
}

function heapUsed(): number {
  collect();
  collect();
  return process.memoryUsage().heapUsed;
}

function forwarded(sent: Sent[], method: string): Sent {
  const s = sent.find((m) => m.msg.isRequest && m.msg.method === method);
  if (!s) throw new Error(`no ${method} forwarded`);
  return s;
}

const calls = Number(process.argv[2] ?? 20_000);
const h = new Harness({ settings: { maxTransactions: 10 * calls } });
h.allUp();
const callText = (n: number, method: string, toTag?: string) =>
  request(method, { callId: `call-${n}@uac.example.com`, fromTag: `f${n}`, toTag, cseq: 1 });
const clear = () => {
  h.sent.length = 0;
  h.take();
};
clear();
const before = heapUsed();
for (let n = 0; n < calls; n++) {
  const invite = forwarded(h.receive(callText(n, "INVITE")), "INVITE");
  h.receive(answer(invite.msg, 200, { toTag: `t${n}` }), PRIMARY);
  const bye = forwarded(h.receive(callText(n, "BYE", `t${n}`)), "BYE");
  h.receive(answer(bye.msg, 200), PRIMARY);
  clear();
}
const after = heapUsed();
const live = h.core.txl.size;
const perTx = (after - before) / live;
console.log(
  JSON.stringify({
    runtime: typeof (globalThis as Gc).Bun !== "undefined" ? "bun" : "deno",
    calls,
    liveTransactions: live,
    pendingTimers: h.core.txl.pendingTimers,
    heapDeltaMiB: +((after - before) / 2 ** 20).toFixed(1),
    bytesPerTransaction: Math.round(perTx),
  }),
);
