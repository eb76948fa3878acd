// RFC 4475 through the running proxy (issue 14 item 10): each of the 49 torture messages
// goes to the built `dist/vipless`, and the answer is read where the RFC says it goes,
// against ../shared/testdata/rfc4475/expectations.tsv.
//
// * A request is sent over the transport its top Via names (TLS, which vipless does not
//   offer, over TCP: the other stream transport). "accept" means it reached a pair
//   member (two fake members on loopback answer probes 200, INVITE 486, others 200);
//   "reject NNN" means vipless answered NNN: over TCP on the connection, over UDP to the
//   source address at the Via's sent-by port (or at the source port with `rport`), and
//   to the source address itself when the Via cannot be read (RFC 4475 §3.1.2.1). So
//   the test listens on 127.0.0.1 at the ports the Vias name (5050, 5060, 5070) besides
//   the socket it sends from.
// * A response reaches a proxy only as the answer to a request it forwarded, so the
//   member answers a forwarded request (INVITE, or OPTIONS for scalarlg.dat's CSeq) with
//   the torture response whose top Via is replaced by the forwarded request's Vias;
//   everything else stays as the RFC wrote it. "accept": vipless takes it (a final one
//   reaches the caller with its reason phrase intact; the 100 of noreason.dat is
//   hop-by-hop, so it is only counted). "drop": counted in vipless_dropped_total, and
//   the caller gets the member's next, ordinary answer instead.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildResponse, parseMessage, type SipMessage, StreamFramer } from "../../src/sip/index.ts";
import type { TcpConnection, UdpSocket } from "../../src/runtime/index.ts";
import { grammarProblem, topViaReturn } from "../sip/strict-grammar.ts";
import {
  BUN,
  freePort,
  type Proc,
  ROOT,
  run,
  runtime,
  start,
  tempDir,
} from "../support/vipless-process.ts";
import { optionsRequest, udpRequest } from "../support/vipless-process.ts";

const DIR = new URL("../../../shared/testdata/rfc4475/", import.meta.url);
const path = (name: string): string => decodeURIComponent(new URL(name, DIR).pathname);
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(path(name)));
const rows = readFileSync(path("expectations.tsv"), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "" && !l.startsWith("#"))
  .map((l) => l.split("\t"));

/**
 * The binary under test: dist/vipless, built here as tests/e2e/build.test.ts builds it.
 * VIPLESS_BINARY names another one (an older build, to see what a fix changed).
 */
const BINARY = process.env.VIPLESS_BINARY ?? join(ROOT, "dist/vipless");

/** The ports the torture requests' Vias name (sent-by port, or 5060 without one). */
const VIA_PORTS = [5050, 5060, 5070];
/** How long one message may take to show its outcome. */
const OUTCOME_MS = 4000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const latin1 = (b: Uint8Array): string => {
  let s = "";
  for (const c of b) s += String.fromCharCode(c);
  return s;
};
const bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** The Call-ID of raw message text (any spelling), or null. */
function callIdOf(text: string): string | null {
  const head = text.slice(0, text.indexOf("\r\n\r\n"));
  return /\r\n(?:call-id|i)[ \t]*:[ \t]*([^\r\n]*)/i.exec(head)?.[1].trim() ?? null;
}

interface Arrival {
  /** "source", "via:PORT" or "tcp": where the caller got it. */
  at: string;
  status: number;
  reason: string;
  callId: string | null;
  /** The top Via's branch: the caller's own, once vipless removed its Via. */
  branch: string | null;
}

/** The caller's sockets: the one it sends from and those at the Vias' ports. */
class Caller {
  readonly got: Arrival[] = [];
  #sockets: UdpSocket[] = [];
  source!: UdpSocket;

  async open(): Promise<void> {
    const r = await runtime();
    const record = (at: string) => (data: Uint8Array) => this.#record(at, data);
    this.source = await r.bindUdp({ host: "127.0.0.1", port: 0 }, { onMessage: record("source") });
    this.#sockets.push(this.source);
    for (const port of VIA_PORTS) {
      // Another program may hold the port a while (a SIP scanner or SIPp run beside
      // this suite by hand): wait for it, bounded, rather than read answers elsewhere.
      for (let attempt = 0;; attempt++) {
        try {
          const s = await r.bindUdp({ host: "127.0.0.1", port }, {
            onMessage: record(`via:${port}`),
          });
          this.#sockets.push(s);
          break;
        } catch (e) {
          if (attempt >= 40) {
            throw new Error(`UDP 127.0.0.1:${port} stays taken (a torture Via names it): ${e}`);
          }
          await sleep(500);
        }
      }
    }
  }

  #record(at: string, data: Uint8Array): void {
    const text = latin1(data);
    const m = /^SIP\/2\.0 (\d{3}) ?([^\r\n]*)\r\n/.exec(text);
    if (m === null) return;
    const via = /\r\n(?:via|v)[ \t]*:[^\r\n]*?;[ \t]*branch=([^;, \t\r]+)/i.exec(text);
    this.got.push({
      at,
      status: Number(m[1]),
      reason: m[2],
      callId: callIdOf(text),
      branch: via?.[1] ?? null,
    });
  }

  /** A TCP connection to vipless whose answers are recorded as arriving at "tcp". */
  async connect(port: number): Promise<TcpConnection> {
    const framer = new StreamFramer();
    return await (await runtime()).connectTcp({ host: "127.0.0.1", port }, {
      onData: (_c, data) => {
        for (const ev of framer.push(data)) {
          if (ev.type === "message") this.#record("tcp", ev.bytes);
        }
      },
    });
  }

  close(): void {
    for (const s of this.#sockets) s.close();
  }
}

interface Forwarded {
  msg: SipMessage;
  raw: Uint8Array;
  reply(bytes: Uint8Array): void;
}

/**
 * A pair member on loopback (UDP and TCP on one port): answers probes 200, records
 * every other request and answers it (INVITE 486, others 200, ACK nothing) unless
 * `intercept` takes it.
 */
class Member {
  readonly got: Forwarded[] = [];
  intercept: ((f: Forwarded) => boolean) | null = null;
  #close: Array<() => void> = [];

  /** Opens UDP on a port the system picks, and TCP on the same port; returns it. */
  async open(): Promise<number> {
    const r = await runtime();
    for (let attempt = 0;; attempt++) {
      const udp = await r.bindUdp({ host: "127.0.0.1", port: 0 }, {
        onMessage: (data, from) => this.#on(data.slice(), (b) => udp.send(b, from)),
      });
      try {
        await this.#listenTcp(udp.local.port);
        this.#close.push(() => udp.close());
        return udp.local.port;
      } catch (e) {
        udp.close(); // that port is taken for TCP: another one
        if (attempt >= 20) throw e;
      }
    }
  }

  async #listenTcp(port: number): Promise<void> {
    const framers = new Map<TcpConnection, StreamFramer>();
    const tcp = await (await runtime()).listenTcp({ host: "127.0.0.1", port }, {
      onData: (conn, data) => {
        let f = framers.get(conn);
        if (f === undefined) framers.set(conn, f = new StreamFramer());
        for (const ev of f.push(data)) {
          if (ev.type === "message") this.#on(ev.bytes, (b) => conn.write(b));
        }
      },
      onClose: (conn) => framers.delete(conn),
    });
    this.#close.push(() => tcp.close());
  }

  #on(raw: Uint8Array, reply: (b: Uint8Array) => void): void {
    let msg: SipMessage;
    try {
      msg = parseMessage(raw);
    } catch {
      return;
    }
    if (!msg.isRequest) return;
    if (msg.method === "OPTIONS" && msg.vias.length === 1) {
      return reply(buildResponse(msg, 200, "OK")); // a probe
    }
    const f: Forwarded = { msg, raw, reply };
    this.got.push(f);
    if (msg.method === "ACK" || this.intercept?.(f)) return;
    reply(
      buildResponse(
        msg,
        msg.method === "INVITE" ? 486 : 200,
        msg.method === "INVITE" ? "Busy Here" : "OK",
      ),
    );
  }

  close(): void {
    for (const c of this.#close) c();
  }
}

async function until<T>(probe: () => T | undefined, ms: number): Promise<T | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined || Date.now() > end) return v;
    await sleep(20);
  }
}

/** One running dist/vipless serving the pair of the two fake members. */
class Vipless {
  proc!: Proc;
  sipPort = 0;
  httpPort = 0;

  async start(memberPorts: number[]): Promise<void> {
    this.sipPort = await freePort();
    this.httpPort = await freePort("tcp");
    const config = join(tempDir(), "vipless.yaml");
    writeFileSync(
      config,
      `listen: [udp://127.0.0.1:${this.sipPort}, tcp://127.0.0.1:${this.sipPort}]
advertise: 127.0.0.1:${this.sipPort}
serve: site-a
http: { listen: 127.0.0.1:${this.httpPort} }
probe: { interval: 1s, timeout: 500ms, failures: 3, force_interval: 500ms }
failover: { timeout: 5s }
pairs:
  - name: site-a
    primary: sip:127.0.0.1:${memberPorts[0]}
    backup: sip:127.0.0.1:${memberPorts[1]}
log: { level: info, format: json }
`,
    );
    this.proc = start(BINARY, ["--config", config]);
    await this.proc.waitForOutput(/"event":"listener-opened","transport":"http"/);
    // The pair is in service once vipless answers an OPTIONS to itself with 200.
    const port = this.sipPort;
    for (let i = 0; i < 50; i++) {
      const answer = await udpRequest(port, (lp) => optionsRequest(port, "UDP", lp), 1000)
        .catch(() => "");
      if (answer.startsWith("SIP/2.0 200")) return;
      await sleep(200);
    }
    throw new Error(`the pair never came into service:\n${this.proc.output()}`);
  }

  /** Messages dropped so far, all reasons. */
  async dropped(): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${this.httpPort}/metrics`)).text();
    let sum = 0;
    for (const m of text.matchAll(/^vipless_dropped_total(?:\{[^}]*\})? (\d+)/gm)) {
      sum += Number(m[1]);
    }
    return sum;
  }
}

/**
 * The server transaction a request file opens (RFC 3261 §17.2.3: branch, sent-by,
 * method). Many RFC 4475 files share one (z9hG4bKkdjuw from one host), and each file
 * is a test of its own: one vipless must not take a later file for a retransmission.
 */
function transactionKey(file: string, text: string): string {
  const via = /\r\n(?:via|v)[ \t]*:([^\r\n]*)/i.exec(text)?.[1] ?? "";
  const sentBy = /\/[ \t]*\S+[ \t]+([^;, \t]+)/.exec(via)?.[1]?.toLowerCase() ?? file;
  const branch = /;[ \t]*branch[ \t]*=[ \t]*([^;, \t]+)/i.exec(via)?.[1] ?? file;
  return `${branch}|${sentBy}|${text.slice(0, text.indexOf(" "))}`;
}

/** For each file, the vipless (index) it goes to: the first that has not seen its key. */
function instanceOf(): { of: Map<string, number>; count: number } {
  const seen: Set<string>[] = [];
  const of = new Map<string, number>();
  for (const [file] of rows) {
    const key = transactionKey(file, latin1(read(file)));
    let i = 0;
    while (seen[i]?.has(key)) i++;
    (seen[i] ??= new Set()).add(key);
    of.set(file, i);
  }
  return { of, count: seen.length };
}

/** "accept", "reject NNN" or "drop" as expectations.tsv writes a choice. */
function allowedOutcomes(expected: string): string[] {
  return expected.split(" or ").map((x) =>
    /^\d+$/.test(x.trim()) ? `reject ${x.trim()}` : x.trim()
  );
}

describe("RFC 4475 torture messages through dist/vipless", () => {
  const assignment = instanceOf();
  const viplesses = Array.from({ length: assignment.count }, () => new Vipless());
  const caller = new Caller();
  const members = [new Member(), new Member()];
  const results = new Map<string, string>();
  /** Set when the scene could not be set up: every case then fails at once, saying so. */
  let setupError: unknown = null;

  before(async () => {
    try {
      await setUp();
    } catch (e) {
      setupError = e;
      throw e;
    }
  });

  async function setUp(): Promise<void> {
    if (process.env.VIPLESS_BINARY === undefined) {
      const b = await run(BUN, ["build.ts"]);
      assert.equal(b.code, 0, b.out);
    }
    const memberPorts: number[] = [];
    for (const m of members) memberPorts.push(await m.open());
    await caller.open();
    for (const v of viplesses) await v.start(memberPorts);
  }

  after(async () => {
    for (const v of viplesses) await v.proc?.stop();
    caller.close();
    for (const m of members) m.close();
  });

  /** Sends a request file as its Via says and tells what became of it. */
  async function requestOutcome(file: string, raw: Uint8Array, vl: Vipless): Promise<string> {
    const sipPort = vl.sipPort;
    const text = latin1(raw);
    const callId = callIdOf(text);
    // insuf.dat has no Call-ID: its answer is known by the Via branch it copies.
    const branch = /;[ \t]*branch=([^;, \t\r]+)/i.exec(text)?.[1] ?? null;
    const ours = (g: Arrival) => callId !== null ? g.callId === callId : g.branch === branch;
    const via = topViaReturn(raw);
    const stream = via !== null ? via.transport !== "UDP" : /^Via:[^\r\n]*\/(TCP|TLS)/im.test(text);
    const from = members.map((m) => m.got.length);
    const seen = caller.got.length;
    let conn: TcpConnection | null = null;
    if (stream) {
      conn = await caller.connect(sipPort);
      conn.write(raw);
    } else caller.source.send(raw, { host: "127.0.0.1", port: sipPort });
    try {
      const outcome = await until(() => {
        for (const [i, m] of members.entries()) {
          const f = m.got.slice(from[i]).find((g) => callId === null || g.msg.callId === callId);
          if (f !== undefined) return { kind: "accept" as const, f };
        }
        const a = caller.got.slice(seen).find((g) => g.status >= 200 && ours(g));
        return a === undefined ? undefined : { kind: "reject" as const, a };
      }, OUTCOME_MS);
      if (outcome === undefined) return "no answer";
      if (outcome.kind === "accept") {
        const fwd = outcome.f.msg;
        const original = parseMessage(raw);
        assert.equal(fwd.method, original.method, `${file}: method`);
        assert.equal(fwd.requestUri, original.requestUri, `${file}: Request-URI`);
        assert.deepEqual(fwd.body, original.body, `${file}: body`);
        assert.equal(grammarProblem(outcome.f.raw), null, `${file}: forwarded cleanly`);
        // Let the member's answer travel back before the next message.
        if (fwd.method !== "ACK") {
          await until(
            () => caller.got.slice(seen).find((g) => g.status >= 200 && g.callId === callId),
            2000,
          );
        }
        return "accept";
      }
      const expectedAt = stream ? "tcp" : via === null
        ? "source" // the Via cannot say where: the source address
        : via.rport
        ? "source"
        : `via:${via.port ?? 5060}`;
      assert.equal(outcome.a.at, expectedAt, `${file}: where the ${outcome.a.status} went`);
      return `reject ${outcome.a.status}`;
    } finally {
      conn?.close();
    }
  }

  /** Plays a response file as the member's answer to a request vipless forwarded. */
  async function responseOutcome(file: string, raw: Uint8Array, vl: Vipless): Promise<string> {
    const sipPort = vl.sipPort;
    const text = latin1(raw);
    const cseqMethod = /\r\nCSeq:[ \t]*\S+[ \t]+(\S+)/i.exec(text)?.[1] ?? "INVITE";
    const status = /^SIP\/2\.0 (\S+) ?([^\r\n]*)/.exec(text)!;
    const callId = `rfc4475-${file}-${Date.now()}`;
    const lp = caller.source.local.port;
    // The torture response keeps its own Call-ID: its answers are known by our branch.
    const branch = `z9hG4bK-${file.replace(/\W/g, "")}-${Date.now()}`;
    const req = `${cseqMethod} sip:user@example.com SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP 127.0.0.1:${lp};branch=${branch};rport\r\n` +
      `Max-Forwards: 70\r\nFrom: <sip:caller@example.net>;tag=c1\r\nTo: <sip:user@example.com>\r\n` +
      `Call-ID: ${callId}\r\nCSeq: 1 ${cseqMethod}\r\nContent-Length: 0\r\n\r\n`;
    let forwarded: Forwarded | null = null;
    for (const m of members) {
      m.intercept = (f) => {
        if (f.msg.callId !== callId) return false;
        forwarded ??= f;
        return true;
      };
    }
    try {
      const drops = await vl.dropped();
      const seen = caller.got.length;
      caller.source.send(bytes(req), { host: "127.0.0.1", port: sipPort });
      const f = await until(() => forwarded ?? undefined, OUTCOME_MS);
      if (f === undefined) return "not forwarded";
      // The torture response, its top Via line replaced by the forwarded request's Vias.
      const viaLines = f.msg.linesOf("Via").map((k) =>
        `${f.msg.nameAt(k)}: ${f.msg.valueAtRaw(k)}\r\n`
      ).join("");
      const answer = bytes(text.replace(/^(?:Via|v)[ \t]*:[^\r\n]*\r\n/im, viaLines));
      f.reply(answer);
      const code = Number(status[1]);
      // A 1xx is hop-by-hop (RFC 3261 §16.7): only a final one can reach the caller.
      const reached = await until(
        () =>
          code >= 200
            ? caller.got.slice(seen).find((g) => g.branch === branch && g.status === code)
            : undefined,
        code >= 200 ? 1500 : 300,
      );
      const countedDrop = (await vl.dropped()) > drops;
      // The member's ordinary answer ends the transaction (and shows it was still open).
      const done = code >= 200 && code < 300 ? 200 : cseqMethod === "INVITE" ? 486 : 200;
      f.reply(buildResponse(f.msg, done, "Done"));
      const ended = await until(
        () => caller.got.slice(seen).find((g) => g.branch === branch && g.reason === "Done"),
        2000,
      );
      if (reached !== undefined) {
        assert.equal(reached.reason, status[2], `${file}: reason phrase intact`);
        return countedDrop ? "accept, but a drop was counted" : "accept";
      }
      if (countedDrop) return ended !== undefined ? "drop" : "drop, and the transaction lost";
      // The 100 of noreason.dat: accepted when nothing was dropped and the transaction
      // still ends with the member's final answer.
      return code < 200 && ended !== undefined ? "accept" : "lost without being counted";
    } finally {
      for (const m of members) m.intercept = null;
    }
  }

  for (const [file, section, kind, expected] of rows) {
    it(`${file} (§${section}, ${kind}): ${expected}`, async () => {
      if (setupError !== null) throw new Error(`no vipless to send to: ${setupError}`);
      const raw = read(file);
      const vl = viplesses[assignment.of.get(file)!];
      const got = kind === "response"
        ? await responseOutcome(file, raw, vl)
        : await requestOutcome(file, raw, vl);
      results.set(file, got);
      assert.ok(
        allowedOutcomes(expected).includes(got),
        `${file}: got "${got}", expected ${expected}`,
      );
    });
  }

  it("all 49 behave as the RFC says", () => {
    const ok = rows.filter(([file, , , expected]) =>
      allowedOutcomes(expected).includes(results.get(file) ?? "")
    );
    console.log(`RFC 4475 through dist/vipless: ${ok.length}/${rows.length}`);
    assert.equal(rows.length, 49);
    assert.equal(ok.length, 49);
  });
});
