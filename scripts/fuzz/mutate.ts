/**
 * Mutations of a seed message, driven by a seeded generator so that a run can be
 * replayed from its seed. Messages are byte strings (one char per octet, as the
 * parser sees them), so a mutation can put any octet anywhere.
 *
 * The operators are the ones hostile input is made of: byte flips, truncation,
 * duplicated headers, NUL/CR/LF injected into a value, oversized values, a random
 * Content-Length, a header removed, and two messages spliced at a line.
 */
import type { Seed } from "./corpus.ts";

export type Rng = () => number;

export interface Mutated {
  /** Seed name and the operators applied, e.g. "rfc4475/wsinv.dat+flip+truncate". */
  label: string;
  text: string;
}

const int = (rng: Rng, n: number) => Math.floor(rng() * n);
const pick = <T>(rng: Rng, list: readonly T[]): T => list[int(rng, list.length)];

/** An identifier for branches and Call-IDs: unique per message, from the generator. */
function token(rng: Rng): string {
  return Math.floor(rng() * 2 ** 48).toString(36) + int(rng, 1 << 30).toString(36);
}

/**
 * Gives a seed fresh branch and Call-ID values, so that each message starts a
 * transaction of its own instead of being absorbed as a retransmission.
 */
export function freshen(text: string, rng: Rng): string {
  const id = token(rng);
  return text
    .replace(/branch=[^;,\s]*/gi, () => `branch=z9hG4bK${token(rng)}`)
    .replace(/^((?:call-id|i)[ \t]*:[ \t]*)[^\r\n]*/gim, (_, head) => `${head}${id}@fuzz`);
}

/** The header part as lines (without the start line) and the rest. */
function split(text: string): { start: string; lines: string[]; body: string } {
  let end = text.indexOf("\r\n\r\n");
  let sepLen = 4;
  if (end < 0) {
    end = text.length;
    sepLen = 0;
  }
  const head = text.slice(0, end).split("\r\n");
  return { start: head[0], lines: head.slice(1), body: text.slice(end + sepLen) };
}

function join(p: { start: string; lines: string[]; body: string }): string {
  return [p.start, ...p.lines].join("\r\n") + "\r\n\r\n" + p.body;
}

type Op = (text: string, rng: Rng, corpus: readonly Seed[], maxBytes: number) => string;

const SPECIAL = ["\0", "\r", "\n", "\r\n", "\0\0", "\n\t", "\r\r", "\x7f", "\xff"];

const OPS: Record<string, Op> = {
  flip(text, rng) {
    if (text.length === 0) return text;
    const chars = text.split("");
    for (let n = 1 + int(rng, 8); n > 0; n--) {
      const i = int(rng, chars.length);
      chars[i] = rng() < 0.5
        ? String.fromCharCode(chars[i].charCodeAt(0) ^ (1 << int(rng, 8)))
        : String.fromCharCode(int(rng, 256));
    }
    return chars.join("");
  },
  truncate(text, rng) {
    return text.slice(0, int(rng, text.length));
  },
  duplicateHeader(text, rng) {
    const p = split(text);
    if (p.lines.length === 0) return text;
    const line = pick(rng, p.lines);
    for (let n = 1 + int(rng, 3); n > 0; n--) p.lines.splice(int(rng, p.lines.length + 1), 0, line);
    return join(p);
  },
  injectControl(text, rng) {
    const p = split(text);
    const s = pick(rng, SPECIAL);
    if (p.lines.length === 0 || rng() < 0.2) {
      const i = int(rng, text.length + 1);
      return text.slice(0, i) + s + text.slice(i);
    }
    // Inside a header value, where a lax parser would let it through to the members.
    const k = int(rng, p.lines.length);
    const line = p.lines[k];
    const colon = line.indexOf(":");
    const i = colon < 0 ? int(rng, line.length + 1) : colon + 1 + int(rng, line.length - colon);
    p.lines[k] = line.slice(0, i) + s + line.slice(i);
    if (s.includes("\n") && rng() < 0.5) p.lines[k] += "To: <sip:injected@127.0.0.3>";
    return join(p);
  },
  oversize(text, rng, _corpus, maxBytes) {
    const p = split(text);
    const size = pick(rng, [300, 1400, 4096, 16_384, 65_536]);
    const room = Math.max(0, maxBytes - text.length - 16);
    const filler = pick(rng, ["a", "9", ";x", ",", " ", "%41"]).repeat(size).slice(
      0,
      Math.min(size, room),
    );
    if (p.lines.length === 0 || rng() < 0.2) {
      p.start = p.start.replace(/ SIP\/2\.0$/, "") + filler + " SIP/2.0";
    } else if (rng() < 0.5) {
      const k = int(rng, p.lines.length);
      p.lines[k] += filler;
    } else p.lines.push(`X-Fuzz: ${filler}`);
    return join(p);
  },
  contentLength(text, rng) {
    const value = pick(rng, [
      "-1",
      "0",
      "4294967296",
      "99999999999999999999",
      String(int(rng, 2000)),
      String(int(rng, 70_000)),
      "12abc",
      " ",
      "1, 2",
      "0x10",
    ]);
    const p = split(text);
    const k = p.lines.findIndex((l) => /^(content-length|l)[ \t]*:/i.test(l));
    if (k >= 0 && rng() < 0.8) p.lines[k] = `Content-Length: ${value}`;
    else p.lines.push(`Content-Length: ${value}`);
    return join(p);
  },
  removeHeader(text, rng) {
    const p = split(text);
    if (p.lines.length === 0) return text;
    p.lines.splice(int(rng, p.lines.length), 1);
    return join(p);
  },
  splice(text, rng, corpus) {
    const other = pick(rng, corpus).text;
    const a = text.split("\r\n");
    const b = other.split("\r\n");
    return [...a.slice(0, 1 + int(rng, a.length)), ...b.slice(int(rng, b.length))].join("\r\n");
  },
};

export const OPERATORS = Object.keys(OPS);

/** 1 to `most` operators applied to `text`; returns the text and the operators' names. */
export function mutateText(
  text: string,
  rng: Rng,
  corpus: readonly Seed[],
  maxBytes: number,
  most = 3,
): { text: string; ops: string[] } {
  const ops: string[] = [];
  for (let n = 1 + int(rng, most); n > 0; n--) {
    const name = pick(rng, OPERATORS);
    text = OPS[name](text, rng, corpus, maxBytes);
    ops.push(name);
  }
  return { text: text.length > maxBytes ? text.slice(0, maxBytes) : text, ops };
}

/**
 * One mutated message from a random seed: fresh identifiers (most of the time; the
 * rest repeat the seed's, which exercises retransmission matching), then 1 to 3
 * operators; about 1 message in 20 is sent unmutated as a control. The result is
 * at most `maxBytes` long.
 */
export function mutate(corpus: readonly Seed[], rng: Rng, maxBytes: number): Mutated {
  const seed = pick(rng, corpus);
  const text = rng() < 0.9 ? freshen(seed.text, rng) : seed.text;
  if (rng() < 0.05) return { label: seed.name, text: text.slice(0, maxBytes) };
  const m = mutateText(text, rng, corpus, maxBytes);
  return { label: [seed.name, ...m.ops].join("+"), text: m.text };
}
