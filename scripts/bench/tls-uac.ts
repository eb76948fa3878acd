/**
 * The TLS load generator of scripts/bench/tls.ts: INVITE / ACK / BYE calls over a few
 * long-lived TLS connections (node:tls) to a proxy's TLS port, at a fixed rate for a
 * bounded number of calls. A call is: INVITE, (100), 200 whose Record-Route set is kept,
 * ACK and, CALL_MS later, BYE along that route set to the callee's Contact, then the
 * BYE's 200. A call fails on a final response other than 200, or when it has not
 * completed within CALL_TIMEOUT_MS. Over TLS nothing is retransmitted (RFC 3261 §17.1.1.2
 * timer A is for unreliable transports); a 200 to the INVITE that comes again (the UAS
 * retransmits it over UDP until its ACK arrives) is ACKed again, as a UA does.
 */
import process from "node:process";
import tls from "node:tls";

/** Pause between ACK and BYE, as the UDP bench's SIPp UAC (-d 500). */
export const CALL_MS = 500;
/** A call not complete this long after its INVITE counts as failed. */
export const CALL_TIMEOUT_MS = 8000;

export interface UacOptions {
  host: string;
  /** The proxy's TLS port. */
  port: number;
  /** PEM trust anchor for the proxy's certificate. */
  ca: string;
  connections: number;
  rate: number;
  calls: number;
}

export interface UacResult {
  offered: number;
  successful: number;
  failed: number;
  /** Failure reasons and their counts ("503", "timeout", "connection-closed", ...). */
  reasons: Map<string, number>;
  /** INVITE->200 times of successful calls, ms. */
  rtt: number[];
  /** ACKs sent again for a 200 that came again. */
  ackResent: number;
  /** From the first INVITE to the last call's end, s. */
  wallSeconds: number;
  /** How far the last INVITE left behind its schedule, ms (the generator keeping up). */
  scheduleLagMs: number;
  /** This process's CPU (user + system) over the run, s. */
  cpuSeconds: number;
  /** The Record-Route set of the first call's 200: two entries when it crossed TLS↔UDP. */
  firstRecordRoute: string[];
}

interface CallState {
  id: number;
  conn: Conn;
  startedAt: number;
  phase: "invite" | "acked" | "bye" | "done";
  fromTag: string;
  toHeader?: string;
  target?: string;
  routes?: string[];
  timer?: ReturnType<typeof setTimeout>;
}

const SDP = "v=0\r\no=uac 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
  "m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/** One TLS connection and the framing of what arrives on it. */
class Conn {
  #buf = "";
  closed = false;
  localPort = 0;
  constructor(readonly socket: tls.TLSSocket, onMessage: (text: string) => void) {
    socket.setNoDelay(true);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      this.#buf += chunk;
      for (;;) {
        const end = this.#buf.indexOf("\r\n\r\n");
        if (end < 0) break;
        const head = this.#buf.slice(0, end);
        const m = /\r\n(?:content-length|l)[ \t]*:[ \t]*(\d+)/i.exec(head);
        const total = end + 4 + (m ? Number(m[1]) : 0);
        if (this.#buf.length < total) break;
        const text = this.#buf.slice(0, total);
        this.#buf = this.#buf.slice(total);
        // Keep-alive CRLFs between messages are skipped by trimming the start.
        onMessage(text.replace(/^(\r\n)+/, ""));
      }
    });
  }
  write(text: string): void {
    if (!this.closed) this.socket.write(text, "latin1");
  }
}

function header(text: string, name: RegExp): string | undefined {
  const m = new RegExp(`\\r\\n(?:${name.source})[ \\t]*:[ \\t]*([^\\r\\n]*)`, "i").exec(text);
  return m?.[1];
}

function headers(text: string, name: RegExp): string[] {
  const re = new RegExp(`\\r\\n(?:${name.source})[ \\t]*:[ \\t]*([^\\r\\n]*)`, "gi");
  const out: string[] = [];
  for (const m of text.matchAll(re)) out.push(...m[1]!.split(/,(?=\s*<)/).map((s) => s.trim()));
  return out;
}

function connect(o: UacOptions, onMessage: (c: Conn, text: string) => void): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: o.host, port: o.port, ca: o.ca });
    const conn: Conn = new Conn(socket, (text) => onMessage(conn, text));
    socket.once("secureConnect", () => {
      conn.localPort = socket.localPort ?? 0;
      resolve(conn);
    });
    socket.once("error", reject);
    socket.on("close", () => (conn.closed = true));
  });
}

/** Runs the load; resolves when every call has completed or failed. */
export async function runUac(o: UacOptions): Promise<UacResult> {
  const calls = new Map<string, CallState>();
  const reasons = new Map<string, number>();
  const rtt: number[] = [];
  let successful = 0, failed = 0, ackResent = 0, finished = 0;
  const firstRecordRoute: string[] = [];
  let allDone!: () => void;
  const done = new Promise<void>((r) => (allDone = r));
  const run = Math.random().toString(36).slice(2, 8);

  const end = (call: CallState, reason: string | null) => {
    if (call.phase === "done") return;
    call.phase = "done";
    clearTimeout(call.timer);
    calls.delete(callId(call));
    if (reason === null) successful++;
    else {
      failed++;
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    if (++finished === o.calls) allDone();
  };
  const callId = (c: CallState) => `${run}-${c.id}@tlsbench`;
  const via = (c: CallState, branch: string) =>
    `Via: SIP/2.0/TLS ${o.host}:${c.conn.localPort};branch=z9hG4bK${branch};rport`;
  const from = (c: CallState) => `From: <sip:uac@${o.host}>;tag=${c.fromTag}`;
  const inDialog = (c: CallState, method: string, cseq: number, branch: string) =>
    [
      `${method} ${c.target} SIP/2.0`,
      via(c, branch),
      ...c.routes!.map((r) => `Route: ${r}`),
      "Max-Forwards: 70",
      from(c),
      `To: ${c.toHeader}`,
      `Call-ID: ${callId(c)}`,
      `CSeq: ${cseq} ${method}`,
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");

  const onMessage = (_conn: Conn, text: string) => {
    const status = /^SIP\/2\.0 (\d{3})/.exec(text);
    if (!status) return; // no requests expected; the proxy's keep-alives are CRLFs
    const call = calls.get(header(text, /call-id|i/) ?? "");
    if (!call) return;
    const code = Number(status[1]);
    const method = /\d+\s+(\w+)/.exec(header(text, /cseq/) ?? "")?.[1];
    if (method === "INVITE") {
      if (code < 200) return;
      if (code >= 300) return end(call, String(code));
      if (call.phase !== "invite") {
        // The 200 came again: the ACK crossed it; ACK again (RFC 3261 §13.2.2.4).
        ackResent++;
        return call.conn.write(inDialog(call, "ACK", 1, `a${call.id}`));
      }
      const contact = /<([^>]+)>/.exec(header(text, /contact|m/) ?? "")?.[1];
      if (!contact) return end(call, "200-without-contact");
      call.target = contact;
      call.toHeader = header(text, /to|t/);
      // The UAC's route set is the Record-Route set reversed (RFC 3261 §12.1.2).
      call.routes = headers(text, /record-route/).reverse();
      if (firstRecordRoute.length === 0) firstRecordRoute.push(...headers(text, /record-route/));
      rtt.push(performance.now() - call.startedAt);
      call.phase = "acked";
      call.conn.write(inDialog(call, "ACK", 1, `a${call.id}`));
      setTimeout(() => {
        if (call.phase !== "acked") return;
        call.phase = "bye";
        call.conn.write(inDialog(call, "BYE", 2, `b${call.id}`));
      }, CALL_MS);
    } else if (method === "BYE" && call.phase === "bye" && code >= 200) {
      end(call, code === 200 ? null : `BYE-${code}`);
    }
  };

  const conns: Conn[] = [];
  for (let i = 0; i < o.connections; i++) conns.push(await connect(o, onMessage));
  for (const c of conns) {
    c.socket.on("close", () => {
      for (const call of [...calls.values()]) if (call.conn === c) end(call, "connection-closed");
    });
  }

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let sent = 0;
  const invite = (id: number) => {
    const conn = conns[id % conns.length]!;
    const call: CallState = {
      id,
      conn,
      startedAt: performance.now(),
      phase: "invite",
      fromTag: `t${id}`,
    };
    calls.set(callId(call), call);
    call.timer = setTimeout(() => end(call, "timeout"), CALL_TIMEOUT_MS);
    if (conn.closed) return end(call, "connection-closed");
    const uri = `sip:bench@${o.host}:${o.port};transport=tls`;
    conn.write(
      [
        `INVITE ${uri} SIP/2.0`,
        via(call, `i${id}`),
        "Max-Forwards: 70",
        from(call),
        `To: <${uri}>`,
        `Call-ID: ${callId(call)}`,
        "CSeq: 1 INVITE",
        `Contact: <sip:uac@${o.host}:${conn.localPort};transport=tls>`,
        "Content-Type: application/sdp",
        `Content-Length: ${SDP.length}`,
        "",
        SDP,
      ].join("\r\n"),
    );
  };
  // Every 5 ms, the calls the schedule says are due by now.
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - t0;
      const due = Math.min(o.calls, Math.floor(elapsed / 1000 * o.rate) + 1);
      while (sent < due) invite(sent++);
      if (sent >= o.calls) return resolve();
      setTimeout(tick, 5);
    };
    tick();
  });
  const scheduleLagMs = performance.now() - t0 - (o.calls - 1) / o.rate * 1000;
  await done;
  const wallSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  for (const c of conns) c.socket.end();
  return {
    offered: o.calls,
    successful,
    failed,
    reasons,
    rtt,
    ackResent,
    wallSeconds,
    scheduleLagMs: Math.max(0, scheduleLagMs),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    firstRecordRoute,
  };
}
