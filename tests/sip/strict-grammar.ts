/**
 * An independent strict reading of a SIP message's bytes (RFC 3261 §7, §25.1), written
 * without src/sip so that it can judge what the proxy sends: the tests re-read every
 * message the core emits with it. Regular expressions and `node:net`, nothing shared.
 *
 * `octetProblem` finds what lets a receiver read a message differently from its sender:
 * NUL outside a quoted-pair, a bare CR or LF, a start line that is not the grammar's.
 * `grammarProblem` adds the routing fields: every Via (SIP/2.0, sent-by host, port,
 * `received`), the Request-URI host and every Route URI host must be a hostname, a
 * standard dotted quad or a bracketed IPv6 reference.
 */
import { isIPv4, isIPv6 } from "node:net";

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, Math.min(bytes.length, i + 4096)));
  }
  return s;
}

interface Split {
  startLine: string;
  /** Logical header lines (folding kept as CRLF SP), without their final CRLF. */
  headers: string[];
}

/** The start line and header lines, or why the bytes cannot be split so. */
function split(bytes: Uint8Array): Split | string {
  const s = latin1(bytes);
  const end = s.indexOf("\r\n\r\n");
  if (end < 0) return "no empty line after the headers";
  const physical = s.slice(0, end).split("\r\n");
  for (const [i, line] of physical.entries()) {
    if (line.includes("\r")) return `bare CR in line ${i}: ${JSON.stringify(line)}`;
    if (line.includes("\n")) return `bare LF in line ${i}: ${JSON.stringify(line)}`;
  }
  const headers: string[] = [];
  for (const line of physical.slice(1)) {
    if (/^[ \t]/.test(line)) {
      if (headers.length === 0) return "folded first header line";
      headers[headers.length - 1] += "\r\n" + line;
    } else headers.push(line);
  }
  return { startLine: physical[0], headers };
}

/** A NUL is allowed only escaped (`\` NUL) inside a quoted string. */
function nulProblem(line: string): string | null {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === "\\") {
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (c === "\0") return `NUL outside a quoted-pair: ${JSON.stringify(line)}`;
  }
  return null;
}

const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/;
// Control characters are what these two patterns are about.
// deno-lint-ignore no-control-regex
const REQUEST_LINE = /^([A-Za-z0-9.!%*_+`'~-]+) ([^\x00-\x20"<>\x7f]+) SIP\/2\.0$/;
// deno-lint-ignore no-control-regex
const STATUS_LINE = /^SIP\/2\.0 [1-6][0-9][0-9](?: [^\x00\r\n]*)?$/;

/** Octet-level problems (see the module comment), or null for a clean message. */
export function octetProblem(bytes: Uint8Array): string | null {
  const parts = split(bytes);
  if (typeof parts === "string") return parts;
  const line = parts.startLine;
  if (!REQUEST_LINE.test(line) && !STATUS_LINE.test(line)) {
    return `bad start line ${JSON.stringify(line)}`;
  }
  for (const h of parts.headers) {
    const colon = h.indexOf(":");
    if (colon <= 0 || !TOKEN.test(h.slice(0, colon).trimEnd())) {
      return `bad header line ${JSON.stringify(h)}`;
    }
    const nul = nulProblem(h);
    if (nul !== null) return nul;
  }
  return null;
}

/** hostname (last label starting with a letter) / IPv4 standard form / [IPv6]. */
function hostProblem(host: string, where: string): string | null {
  if (host.startsWith("[")) {
    const inner = host.endsWith("]") ? host.slice(1, -1) : "";
    return isIPv6(inner) && !inner.includes("%") ? null : `${where}: bad IPv6 reference ${host}`;
  }
  if (isIPv4(host)) return null;
  if (/^(?:[A-Za-z0-9_-]+\.)*[A-Za-z][A-Za-z0-9_-]*\.?$/.test(host)) return null;
  return `${where}: ${JSON.stringify(host)} is neither a hostname nor a standard IP address`;
}

/** Elements of a header value split at commas outside quotes and <>. */
function elements(value: string): string[] {
  const out: string[] = [];
  let cur = "", quoted = false, angle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted && c === "\\") {
      cur += c + (value[++i] ?? "");
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === "<") angle = true;
    else if (!quoted && c === ">") angle = false;
    if (c === "," && !quoted && !angle) {
      out.push(cur.trim());
      cur = "";
    } else cur += c;
  }
  out.push(cur.trim());
  return out;
}

const VIA =
  /^SIP[ \t]*\/[ \t]*2\.0[ \t]*\/[ \t]*([A-Za-z0-9.!%*_+`'~-]+)[ \t]+(\[[^\]]*\]|[^ \t:;]+)(?:[ \t]*:[ \t]*([0-9]{1,5}))?((?:[ \t]*;[^;]*)*)$/i;

function viaProblem(via: string): string | null {
  const m = VIA.exec(via);
  if (m === null) return `Via is not SIP/2.0/transport sent-by: ${JSON.stringify(via)}`;
  const host = hostProblem(m[2], "Via sent-by");
  if (host !== null) return host;
  if (m[3] !== undefined && Number(m[3]) > 65535) return `Via port ${m[3]}`;
  for (const p of m[4].split(";").slice(1)) {
    const eq = p.indexOf("=");
    const name = (eq >= 0 ? p.slice(0, eq) : p).trim().toLowerCase();
    const value = eq >= 0 ? p.slice(eq + 1).trim() : null;
    if (!TOKEN.test(name)) return `Via parameter name ${JSON.stringify(p)}`;
    if (name === "received") {
      const v = value ?? "";
      const bare = v.startsWith("[") && v.endsWith("]") ? v.slice(1, -1) : v;
      if (!isIPv4(v) && !(isIPv6(bare) && !bare.includes("%"))) {
        return `Via received=${JSON.stringify(value)} is no standard IP address`;
      }
    }
  }
  return null;
}

/** The host of a sip:/sips: URI, or null for another scheme. */
function sipUriHost(uri: string): string | null {
  const m = /^sips?:(.*)$/i.exec(uri);
  if (m === null) return null;
  let rest = m[1];
  const at = rest.lastIndexOf("@");
  if (at >= 0) rest = rest.slice(at + 1);
  if (rest.startsWith("[")) return rest.slice(0, rest.indexOf("]") + 1 || rest.length);
  return /^[^:;?]*/.exec(rest)![0];
}

/** Octet problems, then Via / Request-URI / Route problems; null for a clean message. */
export function grammarProblem(bytes: Uint8Array): string | null {
  const octets = octetProblem(bytes);
  if (octets !== null) return octets;
  const parts = split(bytes) as Split;
  const req = REQUEST_LINE.exec(parts.startLine);
  if (req !== null) {
    const host = sipUriHost(req[2]);
    if (host !== null) {
      const p = hostProblem(host, "Request-URI host");
      if (p !== null) return p;
    }
  }
  for (const h of parts.headers) {
    const colon = h.indexOf(":");
    const name = h.slice(0, colon).trim().toLowerCase();
    const value = h.slice(colon + 1).replace(/\r\n[ \t]+/g, " ").trim();
    if (name === "via" || name === "v") {
      for (const v of elements(value)) {
        const p = viaProblem(v);
        if (p !== null) return p;
      }
    } else if (name === "route") {
      for (const r of elements(value)) {
        const uri = /<([^>]*)>/.exec(r)?.[1];
        if (uri === undefined) return `Route without <>: ${JSON.stringify(r)}`;
        const host = sipUriHost(uri.trim());
        const p = host === null ? null : hostProblem(host, "Route host");
        if (p !== null) return p;
      }
    }
  }
  return null;
}

/** Where RFC 3261 §18.2.2 / RFC 3581 send a UDP answer, as the top Via tells it. */
export interface ViaReturn {
  transport: string;
  /** The sent-by port, null when absent (5060). */
  port: number | null;
  rport: boolean;
}

/**
 * The top Via of a message, read strictly: null when it is missing or is not the
 * grammar's (then only the source address is left to answer to).
 */
export function topViaReturn(bytes: Uint8Array): ViaReturn | null {
  const parts = split(bytes);
  if (typeof parts === "string") return null;
  for (const h of parts.headers) {
    const colon = h.indexOf(":");
    const name = h.slice(0, colon).trim().toLowerCase();
    if (name !== "via" && name !== "v") continue;
    const value = h.slice(colon + 1).replace(/\r\n[ \t]+/g, " ").trim();
    const all = elements(value);
    if (all.some((v) => viaProblem(v) !== null)) return null;
    const m = VIA.exec(all[0])!;
    return {
      transport: m[1].toUpperCase(),
      port: m[3] === undefined ? null : Number(m[3]),
      rport: m[4].split(";").slice(1).some((p) => p.trim().toLowerCase() === "rport"),
    };
  }
  return null;
}
