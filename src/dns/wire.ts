/**
 * The DNS wire format (RFC 1035 §4), as much as RFC 3263 needs: a query for one name and
 * type, and the records of an answer (A, AAAA, CNAME, SRV, NAPTR) with their TTLs.
 * vipless asks a DNS server itself rather than through the runtime's resolver because
 * neither node:dns nor Deno.resolveDns gives the TTL of SRV and NAPTR records, and RFC
 * 3263 §4 wants every record's TTL honoured. Answers come from the network: every read
 * is bounds-checked, and a malformed answer is an error, never a crash or a loop.
 */

export const TYPE = { A: 1, CNAME: 5, AAAA: 28, SRV: 33, NAPTR: 35 } as const;
export type RecordType = keyof typeof TYPE;

export type DnsRecord =
  | { type: "A" | "AAAA"; name: string; ttl: number; address: string }
  | { type: "CNAME"; name: string; ttl: number; target: string }
  | {
    type: "SRV";
    name: string;
    ttl: number;
    priority: number;
    weight: number;
    port: number;
    target: string;
  }
  | {
    type: "NAPTR";
    name: string;
    ttl: number;
    order: number;
    preference: number;
    flags: string;
    service: string;
    regexp: string;
    replacement: string;
  };

export interface DnsAnswer {
  id: number;
  /** RCODE: 0 no error, 3 the name does not exist (NXDOMAIN), others a server failure. */
  rcode: number;
  /** The answer was truncated (TC): what came is only part of it. */
  truncated: boolean;
  /** Answer and additional sections together (RFC 2782: A/AAAA of SRV targets ride along). */
  records: DnsRecord[];
}

/** The UDP payload we accept, announced with EDNS(0) (RFC 6891; the DNS flag day's 1232). */
export const EDNS_PAYLOAD = 1232;

/**
 * A query for `name`'s records of `type`, recursion desired, with an EDNS(0) OPT record
 * so that an answer with many SRV records fits one datagram instead of being truncated
 * at 512 bytes.
 */
export function encodeQuery(id: number, name: string, type: RecordType): Uint8Array {
  const labels = name.replace(/\.$/, "").split(".").filter((l) => l !== "");
  const size = 12 + labels.reduce((n, l) => n + 1 + l.length, 1) + 4 + 11;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint16(0, id);
  view.setUint16(2, 0x0100); // RD
  view.setUint16(4, 1); // QDCOUNT
  view.setUint16(10, 1); // ARCOUNT: the OPT record
  let at = 12;
  for (const label of labels) {
    if (label.length > 63) throw new Error(`DNS label too long in ${name}`);
    out[at++] = label.length;
    for (let i = 0; i < label.length; i++) out[at++] = label.charCodeAt(i) & 0x7f;
  }
  out[at++] = 0;
  view.setUint16(at, TYPE[type]);
  view.setUint16(at + 2, 1); // IN
  at += 4;
  // OPT: root name, type 41, class = our payload size, TTL 0, no options.
  out[at] = 0;
  view.setUint16(at + 1, 41);
  view.setUint16(at + 3, EDNS_PAYLOAD);
  return out;
}

class Reader {
  readonly view: DataView;
  at = 0;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number): void {
    if (this.at + n > this.bytes.byteLength) throw new Error("DNS answer cut short");
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.at++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.at);
    this.at += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.at);
    this.at += 4;
    return v;
  }
  /** A <character-string> (RFC 1035 §3.3). */
  text(): string {
    const n = this.u8();
    this.need(n);
    const s = String.fromCharCode(...this.bytes.subarray(this.at, this.at + n));
    this.at += n;
    return s;
  }
  /** A domain name, following compression pointers (bounded: no pointer loop). */
  name(): string {
    const labels: string[] = [];
    let at = this.at;
    let jumped = false;
    for (let hops = 0; hops < 64; hops++) {
      if (at >= this.bytes.byteLength) throw new Error("DNS name runs past the answer");
      const len = this.bytes[at]!;
      if (len === 0) {
        if (!jumped) this.at = at + 1;
        return labels.join(".");
      }
      if ((len & 0xc0) === 0xc0) {
        if (at + 1 >= this.bytes.byteLength) throw new Error("DNS pointer cut short");
        if (!jumped) this.at = at + 2;
        jumped = true;
        at = ((len & 0x3f) << 8) | this.bytes[at + 1]!;
        continue;
      }
      if (len > 63) throw new Error("bad DNS label length");
      if (at + 1 + len > this.bytes.byteLength) throw new Error("DNS label cut short");
      labels.push(String.fromCharCode(...this.bytes.subarray(at + 1, at + 1 + len)));
      at += 1 + len;
    }
    throw new Error("DNS name has too many labels or a pointer loop");
  }
}

function ipv6Text(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  // RFC 5952: the longest run of two or more zero groups becomes "::".
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen && j - i >= 2) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

function readRecord(r: Reader): DnsRecord | null {
  const name = r.name().toLowerCase();
  const type = r.u16();
  r.u16(); // class
  const ttl = r.u32() & 0x7fffffff; // RFC 2181 §8: a TTL with the top bit set is zero-ish
  const length = r.u16();
  r.need(length);
  const end = r.at + length;
  let record: DnsRecord | null = null;
  if (type === TYPE.A && length === 4) {
    record = { type: "A", name, ttl, address: [...r.bytes.subarray(r.at, end)].join(".") };
  } else if (type === TYPE.AAAA && length === 16) {
    record = { type: "AAAA", name, ttl, address: ipv6Text(r.bytes.subarray(r.at, end)) };
  } else if (type === TYPE.CNAME) {
    record = { type: "CNAME", name, ttl, target: r.name().toLowerCase() };
  } else if (type === TYPE.SRV) {
    const [priority, weight, port] = [r.u16(), r.u16(), r.u16()];
    record = { type: "SRV", name, ttl, priority, weight, port, target: r.name().toLowerCase() };
  } else if (type === TYPE.NAPTR) {
    const [order, preference] = [r.u16(), r.u16()];
    const [flags, service, regexp] = [r.text(), r.text(), r.text()];
    const replacement = r.name().toLowerCase();
    record = { type: "NAPTR", name, ttl, order, preference, flags, service, regexp, replacement };
  }
  if (r.at > end) throw new Error("DNS record overruns its length");
  r.at = end;
  return record;
}

/** Reads an answer; throws on a malformed one. */
export function decodeAnswer(bytes: Uint8Array): DnsAnswer {
  const r = new Reader(bytes);
  const id = r.u16();
  const flags = r.u16();
  if ((flags & 0x8000) === 0) throw new Error("not a DNS response");
  const [qd, an, ns, ar] = [r.u16(), r.u16(), r.u16(), r.u16()];
  for (let i = 0; i < qd; i++) {
    r.name();
    r.u16();
    r.u16();
  }
  const records: DnsRecord[] = [];
  for (let i = 0; i < an + ns + ar; i++) {
    const rec = readRecord(r);
    // The authority section (SOA, NS) serves no lookup here.
    if (rec && (i < an || i >= an + ns)) records.push(rec);
  }
  return { id, rcode: flags & 0xf, truncated: (flags & 0x0200) !== 0, records };
}
