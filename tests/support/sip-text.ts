/**
 * Plain-text SIP helpers for the test peers.
 *
 * Deliberately independent of vipless's own parser (src/sip): a test peer that shared
 * the proxy's parser could not notice a bug in it. Simple line splitting is enough here
 * because the peers only read what they and the proxy write.
 */

/** Compact header forms (RFC 3261 §7.3.3 and later RFCs) mapped to their full names. */
const COMPACT: Record<string, string> = {
  v: "via",
  f: "from",
  t: "to",
  i: "call-id",
  m: "contact",
  l: "content-length",
  c: "content-type",
  e: "content-encoding",
  k: "supported",
  s: "subject",
  o: "event",
  r: "refer-to",
  b: "referred-by",
  u: "allow-events",
  x: "session-expires",
};

/** Headers whose value is a comma-separated list, so getAll() splits them. */
const LIST_HEADERS = new Set([
  "via",
  "route",
  "record-route",
  "contact",
  "allow",
  "supported",
  "require",
  "proxy-require",
  "unsupported",
  "accept",
]);

/** The full, lower-case name of a header, whether written in full or compact form. */
export function canonicalName(name: string): string {
  const lower = name.trim().toLowerCase();
  return COMPACT[lower] ?? lower;
}

export interface SipMessage {
  /** The first line, without its line ending. */
  startLine: string;
  kind: "request" | "response";
  /** Request method, or the CSeq method of a response. */
  method: string;
  /** Request-URI (requests only, "" for responses). */
  uri: string;
  /** Status code (responses only, 0 for requests). */
  status: number;
  reason: string;
  /** Header lines in order, names as written, folded lines joined. */
  headers: Array<[string, string]>;
  /** First value of a header (any spelling, compact forms included). */
  get(name: string): string | undefined;
  /** Every value of a header; list headers (Via, Route, ...) are split at top-level commas. */
  getAll(name: string): string[];
  body: string;
  /** The whole message as received. */
  raw: string;
}

/** Splits at commas that are outside quotes and angle brackets. */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let depthAngle = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (quoted) {
      if (ch === "\\") i++;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === "<") depthAngle++;
    else if (ch === ">") depthAngle = Math.max(0, depthAngle - 1);
    else if (ch === "," && depthAngle === 0) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out.filter((v) => v.length > 0);
}

/** Thrown for text that is not a SIP message at all. */
export class SipTextError extends Error {}

/**
 * Parses one complete SIP message. Accepts CRLF or bare LF line ends and folded header
 * lines. The body is what follows the blank line, cut to Content-Length when present.
 */
export function parseMessage(input: string | Uint8Array): SipMessage {
  const raw = typeof input === "string" ? input : new TextDecoder().decode(input);
  const text = raw.replace(/^(\r?\n)+/, "");
  const m = /\r?\n\r?\n/.exec(text);
  const head = m ? text.slice(0, m.index) : text;
  let body = m ? text.slice(m.index + m[0].length) : "";
  const lines = head.split(/\r?\n/);
  const startLine = lines[0] ?? "";
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    if (/^[ \t]/.test(line) && headers.length > 0) {
      const last = headers[headers.length - 1];
      last[1] = `${last[1]} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) throw new SipTextError(`header line without a name: ${JSON.stringify(line)}`);
    headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  const getAllRaw = (name: string) => {
    const want = canonicalName(name);
    return headers.filter(([n]) => canonicalName(n) === want).map(([, v]) => v);
  };
  const cl = getAllRaw("content-length")[0];
  if (cl !== undefined && /^\d+$/.test(cl)) {
    // Content-Length counts bytes, not UTF-16 units.
    const bytes = new TextEncoder().encode(body);
    body = new TextDecoder().decode(bytes.subarray(0, Number(cl)));
  }

  let kind: "request" | "response";
  let method = "";
  let uri = "";
  let status = 0;
  let reason = "";
  const resp = /^SIP\/2\.0\s+(\d{3})\s*(.*)$/i.exec(startLine);
  const req = /^([A-Za-z!%*_+`'~.-]+)\s+(\S+)\s+SIP\/2\.0$/i.exec(startLine);
  if (resp) {
    kind = "response";
    status = Number(resp[1]);
    reason = resp[2];
    method = (getAllRaw("cseq")[0] ?? "").trim().split(/\s+/)[1] ?? "";
  } else if (req) {
    kind = "request";
    method = req[1];
    uri = req[2];
  } else {
    throw new SipTextError(`not a SIP start line: ${JSON.stringify(startLine)}`);
  }
  return {
    startLine,
    kind,
    method,
    uri,
    status,
    reason,
    headers,
    get: (name) => getAllRaw(name)[0],
    getAll: (name) => {
      const values = getAllRaw(name);
      return LIST_HEADERS.has(canonicalName(name)) ? values.flatMap(splitList) : values;
    },
    body,
    raw,
  };
}

export type HeaderList = Array<[string, string]>;

function serialize(startLine: string, headers: HeaderList, body: string): string {
  const withoutLength = headers.filter(([n]) => canonicalName(n) !== "content-length");
  const length = new TextEncoder().encode(body).byteLength;
  const lines = [startLine, ...withoutLength.map(([n, v]) => `${n}: ${v}`)];
  lines.push(`Content-Length: ${length}`);
  return lines.join("\r\n") + "\r\n\r\n" + body;
}

/** A request with the given header lines; Content-Length is computed from the body. */
export function buildRequest(
  method: string,
  uri: string,
  headers: HeaderList,
  body = "",
): string {
  return serialize(`${method} ${uri} SIP/2.0`, headers, body);
}

/** A response with the given header lines; Content-Length is computed from the body. */
export function buildResponse(
  status: number,
  reason: string,
  headers: HeaderList,
  body = "",
): string {
  return serialize(`SIP/2.0 ${status} ${reason}`, headers, body);
}

const REASONS: Record<number, string> = {
  100: "Trying",
  180: "Ringing",
  181: "Call Is Being Forwarded",
  183: "Session Progress",
  200: "OK",
  202: "Accepted",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  480: "Temporarily Unavailable",
  481: "Call/Transaction Does Not Exist",
  483: "Too Many Hops",
  486: "Busy Here",
  487: "Request Terminated",
  488: "Not Acceptable Here",
  500: "Server Internal Error",
  503: "Service Unavailable",
  504: "Server Time-out",
  600: "Busy Everywhere",
  603: "Decline",
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? (status < 200 ? "Progress" : status < 300 ? "OK" : "Failed");
}

function randomToken(bytes: number): string {
  const a = new Uint8Array(bytes);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** An RFC 3261 branch (magic cookie prefix). */
export function newBranch(): string {
  return "z9hG4bK" + randomToken(8);
}

export function newTag(): string {
  return randomToken(5);
}

export function newCallId(host = "127.0.0.1"): string {
  return `${randomToken(10)}@${host}`;
}

/** The value of a `;name=value` parameter in a header value or URI ("" for a flag, undefined if absent). */
export function getParam(value: string, name: string): string | undefined {
  // Parameters after the URI in a name-addr; inside <...> they belong to the URI.
  const close = value.lastIndexOf(">");
  const tail = close >= 0 ? value.slice(close + 1) : value;
  for (const part of tail.split(";").slice(1)) {
    const eq = part.indexOf("=");
    const key = (eq >= 0 ? part.slice(0, eq) : part).trim().toLowerCase();
    if (key === name.toLowerCase()) return eq >= 0 ? part.slice(eq + 1).trim() : "";
  }
  return undefined;
}

/** Adds or replaces `;name=value` on a header value (after any <...>). */
export function setParam(value: string, name: string, param: string | null): string {
  const close = value.lastIndexOf(">");
  const head = close >= 0 ? value.slice(0, close + 1) : value.split(";")[0];
  const tail = close >= 0 ? value.slice(close + 1) : value.slice(head.length);
  const parts = tail.split(";").slice(1).filter((p) =>
    p.split("=")[0].trim().toLowerCase() !== name.toLowerCase()
  );
  parts.push(param === null ? name : `${name}=${param}`);
  return head + parts.map((p) => ";" + p.trim()).join("");
}

/** The URI inside a name-addr (`"Bob" <sip:bob@h>;tag=1` → `sip:bob@h`) or an addr-spec. */
export function uriOf(value: string): string {
  const lt = value.indexOf("<");
  if (lt >= 0) return value.slice(lt + 1, value.indexOf(">", lt));
  return value.split(";")[0].trim();
}

export interface SipUri {
  scheme: string;
  user: string | undefined;
  host: string;
  port: number | undefined;
  /** URI parameters, lower-case names ("" for flags such as lr). */
  params: Record<string, string>;
}

/** Reads a sip:/sips: URI: user, host (IPv6 without brackets), port, parameters. */
export function parseUri(uri: string): SipUri {
  const m = /^(sips?):(?:([^@]*)@)?(\[[^\]]+\]|[^:;?>]+)(?::(\d+))?([^?>]*)/i.exec(uri.trim());
  if (!m) throw new SipTextError(`not a SIP URI: ${uri}`);
  const params: Record<string, string> = {};
  for (const p of m[5].split(";").slice(1)) {
    const eq = p.indexOf("=");
    params[(eq >= 0 ? p.slice(0, eq) : p).toLowerCase()] = eq >= 0 ? p.slice(eq + 1) : "";
  }
  const host = m[3].startsWith("[") ? m[3].slice(1, -1) : m[3];
  return {
    scheme: m[1].toLowerCase(),
    user: m[2],
    host,
    port: m[4] ? Number(m[4]) : undefined,
    params,
  };
}

/** The CSeq sequence number. */
export function cseqNumber(msg: SipMessage): number {
  return Number((msg.get("cseq") ?? "").trim().split(/\s+/)[0]);
}

/**
 * A request in the INVITE's own hop (CANCEL, RFC 3261 §9.1; ACK for a non-2xx final,
 * §17.1.1.3): the INVITE's top Via (so its branch), Request-URI, From, Call-ID, CSeq
 * number and Route values, and the To given (the INVITE's for CANCEL, the response's
 * for ACK).
 */
export function sameHopRequest(method: "CANCEL" | "ACK", invite: SipMessage, to: string): string {
  const headers: HeaderList = [
    ["Via", invite.getAll("via")[0] ?? ""],
    ["Max-Forwards", "70"],
    ["From", invite.get("from") ?? ""],
    ["To", to],
    ["Call-ID", invite.get("call-id") ?? ""],
    ["CSeq", `${cseqNumber(invite)} ${method}`],
  ];
  for (const [n, v] of invite.headers) {
    if (canonicalName(n) === "route") headers.push(["Route", v]);
  }
  return buildRequest(method, invite.uri, headers);
}

/** The branch parameter of the top Via. */
export function topBranch(msg: SipMessage): string | undefined {
  const via = msg.getAll("via")[0];
  return via === undefined ? undefined : getParam(via, "branch");
}

/** A minimal SDP offer or answer for the loopback address. */
export function sdpBody(host = "127.0.0.1", port = 40000, session = "vipless-test"): string {
  return [
    "v=0",
    `o=- ${Date.now() % 100000} 1 IN IP4 ${host}`,
    `s=${session}`,
    `c=IN IP4 ${host}`,
    "t=0 0",
    `m=audio ${port} RTP/AVP 0`,
    "a=rtpmap:0 PCMU/8000",
    "",
  ].join("\r\n");
}
