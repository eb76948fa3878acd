/**
 * SIPp as the benchmark's load: two UAS play the pair, one UAC places the calls.
 * Results come from SIPp's own files: -trace_stat (call counters, one row a second)
 * and -trace_rtt (the INVITE->200 time of every call).
 */
import process from "node:process";
import { createSocket } from "node:dgram";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Child, sleep, within } from "./children.ts";

export const SIPP = process.env.SIPP ?? "sipp";
export const HOST = "127.0.0.1";
const SCENARIOS = resolve(dirname(fileURLToPath(import.meta.url)), "..", "sipp");

/** The socket buffer SIPp asks for (the kernel caps it at net.core.[rw]mem_max). */
const BUFFER_BYTES = String(4 * 1024 * 1024);

/** Sends one OPTIONS over UDP and resolves with the response's status code. */
export function sipOptions(port: number, timeoutMs: number): Promise<number | undefined> {
  return new Promise((done) => {
    const sock = createSocket("udp4");
    const finish = (code: number | undefined) => {
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        // closed
      }
      done(code);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    sock.on("error", () => finish(undefined));
    sock.on("message", (msg) => {
      const m = /^SIP\/2\.0 (\d{3})/.exec(msg.toString("latin1"));
      if (m) finish(Number(m[1]));
    });
    sock.bind(0, HOST, () => {
      const local = sock.address().port;
      const tag = Math.random().toString(36).slice(2);
      const text = [
        `OPTIONS sip:${HOST}:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP ${HOST}:${local};branch=z9hG4bK-bench-${tag}`,
        "Max-Forwards: 70",
        `From: <sip:bench@${HOST}>;tag=${tag}`,
        `To: <sip:${HOST}:${port}>`,
        `Call-ID: bench-ready-${tag}`,
        "CSeq: 1 OPTIONS",
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n");
      sock.send(text, port, HOST);
    });
  });
}

/** Waits until something answers OPTIONS on `port` with `status`; false after `ms`. */
export async function waitSip(port: number, ms: number, child?: Child, status = 200) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && (child?.running ?? true)) {
    if ((await sipOptions(port, 300)) === status) return true;
    await sleep(100);
  }
  return false;
}

/** SIPp's version line, or undefined when it cannot run. */
export function sippVersion(out: string): string | undefined {
  return /SIPp v\d[\w.\-]*\w/.exec(out)?.[0];
}

/** Starts a UAS (a pair member) on `port` and waits until it answers OPTIONS. */
export async function startUas(port: number, label: string, dir: string): Promise<Child> {
  const child = new Child(label, SIPP, [
    "-sf",
    join(SCENARIOS, "uas.xml"),
    "-i",
    HOST,
    "-p",
    String(port),
    "-t",
    "u1",
    "-nostdin",
    "-buff_size",
    BUFFER_BYTES,
    "-trace_stat",
    "-stf",
    join(dir, `${label}-stat.csv`),
    "-fd",
    "1",
  ], dir);
  if (!(await waitSip(port, 5000, child))) {
    await child.stop();
    throw new Error(`SIPp UAS ${label} on port ${port} did not answer OPTIONS: ${child.tail}`);
  }
  return child;
}

export interface UacOptions {
  target: number;
  localPort: number;
  rate: number;
  calls: number;
  /** Pause between ACK and BYE, ms. */
  callMs: number;
  dir: string;
  label: string;
  /** One UDP socket per call (SIPp -t un), so calls come from many source ports. */
  perCallSockets?: boolean;
}

export interface UacResult {
  calls: number;
  successful: number;
  /** calls - successful: failed and never finished alike. */
  failed: number;
  retransmissions: number;
  /** Of those, INVITE retransmissions (-trace_counts): each one a response slower than T1. */
  inviteRetransmissions: number;
  /** Nonzero SIPp failure counters, e.g. "FailedTimeoutOnRecv=12". */
  reasons: string[];
  /** From the first call sent to SIPp's exit, seconds. */
  wallSeconds: number;
  exitCode: number | null;
  /** INVITE->200 times of successful calls, ms, with the SIPp clock's ms of each. */
  rtt: Array<{ at: number; ms: number }>;
  /** Per-second rows of -trace_stat, by column name. */
  rows: Array<Record<string, string>>;
  child: Child;
}

/** The UAC process, started; `finish()` waits for it and reads its files. */
export function startUac(o: UacOptions): { child: Child; finish(): Promise<UacResult> } {
  const loadSeconds = o.calls / o.rate;
  const limit = Math.ceil(loadSeconds + o.callMs / 1000 + 20);
  const stat = join(o.dir, `${o.label}-stat.csv`);
  const child = new Child(o.label, SIPP, [
    `${HOST}:${o.target}`,
    "-sf",
    join(SCENARIOS, "uac.xml"),
    "-i",
    HOST,
    "-p",
    String(o.localPort),
    "-t",
    o.perCallSockets ? "un" : "u1",
    ...(o.perCallSockets ? ["-max_socket", "10000"] : []),
    "-m",
    String(o.calls),
    "-r",
    String(o.rate),
    "-rp",
    "1000",
    // Never let SIPp slow down by itself because too many calls are open: a slow proxy
    // must show as failures, not as a lower offered rate.
    "-l",
    String(Math.max(1000, Math.ceil(o.rate * 30))),
    "-d",
    String(o.callMs),
    "-recv_timeout",
    "8000",
    "-timeout",
    `${limit}s`,
    "-nostdin",
    "-buff_size",
    BUFFER_BYTES,
    "-trace_stat",
    "-stf",
    stat,
    "-fd",
    "1",
    "-trace_counts",
    "-trace_rtt",
    "-rtt_freq",
    "50",
    "-trace_err",
    "-error_file",
    join(o.dir, `${o.label}-errors.log`),
  ], o.dir);
  const finish = async (): Promise<UacResult> => {
    const code = await within(child.exited, (limit + 10) * 1000);
    if (code === undefined) await child.stop();
    const wallSeconds = (Date.now() - child.startedAt) / 1000;
    const rows = statRows(stat);
    const last = rows[rows.length - 1] ?? {};
    const successful = Number(last["SuccessfulCall(C)"] ?? 0);
    const reasons = Object.entries(last)
      .filter(([k, v]) => k.startsWith("Failed") && k.endsWith("(C)") && Number(v) > 0)
      .map(([k, v]) => `${k.slice(0, -3)}=${v}`);
    return {
      calls: o.calls,
      successful,
      failed: o.calls - successful,
      retransmissions: Number(last["Retransmissions(C)"] ?? 0),
      inviteRetransmissions: messageCount(o.dir, child.pid, /^\d+_INVITE_Retrans$/),
      reasons,
      wallSeconds,
      exitCode: code ?? null,
      rtt: rttSamples(o.dir, child.pid),
      rows,
      child,
    };
  };
  return { child, finish };
}

/** Every row of a SIPp -trace_stat CSV, by column name. */
export function statRows(file: string): Array<Record<string, string>> {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, "utf8").split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length < 2) return [];
  const head = lines[0].split(";");
  return lines.slice(1).map((l) => {
    const cells = l.split(";");
    return Object.fromEntries(head.map((h, i) => [h, cells[i] ?? ""]));
  });
}

/**
 * A per-message counter from the last row of the -trace_counts file SIPp wrote as
 * uac_<pid>_counts.csv (columns like "0_INVITE_Retrans"); NaN when it is missing.
 */
function messageCount(dir: string, pid: number, column: RegExp): number {
  const name = readdirSync(dir).find((f) => f.endsWith(`_${pid}_counts.csv`));
  if (!name) return NaN;
  const rows = statRows(join(dir, name));
  const last = rows[rows.length - 1];
  const key = last && Object.keys(last).find((k) => column.test(k));
  return key ? Number(last[key]) : NaN;
}

/** The -trace_rtt file SIPp wrote as uac_<pid>_rtt.csv in its working directory. */
function rttSamples(dir: string, pid: number): Array<{ at: number; ms: number }> {
  const name = readdirSync(dir).find((f) => f.endsWith(`_${pid}_rtt.csv`));
  if (!name) return [];
  const out: Array<{ at: number; ms: number }> = [];
  for (const line of readFileSync(join(dir, name), "utf8").split(/\r?\n/)) {
    const [at, ms, rtd] = line.split(";");
    if (rtd === "1") out.push({ at: Number(at), ms: Number(ms) });
  }
  return out;
}

/** The p-th percentile (0..100) by nearest rank; NaN for no samples. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}
