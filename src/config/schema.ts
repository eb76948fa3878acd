// The configuration schema: the single source of truth for the config's types,
// defaults and validation messages. docs/configuration.md describes the same keys.
import { z } from "zod";
import { type MemberSpec, parseHostPort, parseListenUri, parseMemberUri } from "./address.ts";
import { formatDuration, parseDurationWithin } from "./duration.ts";
import { describeValue, unknownKeysMessage } from "./messages.ts";
import { fail, ok, type Parsed } from "./result.ts";
import { parseUpCodes } from "./status-codes.ts";
import { didYouMean } from "./suggest.ts";

export type { ListenSpec, MemberSpec, Transport } from "./address.ts";

export const LOG_LEVELS = ["trace", "debug", "info", "warning", "error", "fatal"] as const;
export const LOG_FORMATS = ["json", "text"] as const;
/** Any response except 408 and 5xx proves a member is alive. */
export const DEFAULT_UP_CODES = "100-407,409-499,600-699";
export const DEFAULT_LISTEN = ["udp://0.0.0.0:5060", "tcp://0.0.0.0:5060"];

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PAIR_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

// ---- building blocks -------------------------------------------------------------

/** A strict mapping: unknown keys are errors, with a hint when a known key is close. */
function strict<S extends z.core.$ZodLooseShape>(shape: S) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys" ? unknownKeysMessage(issue.keys, known) : undefined,
  });
}

/** A section left empty in YAML ("probe:" with everything commented out) means defaults. */
function emptyIsDefault<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === null ? undefined : value), schema);
}

/** A string turned into a record by `parse`; its failure message becomes the issue. */
function parsedString<T>(parse: (text: string) => Parsed<T>, expected: string) {
  return z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? undefined
          : `expected ${expected}, got ${describeValue(issue.input)}`,
    })
    .transform((text, ctx): T => {
      const result = parse(text);
      if (result.ok) return result.value;
      ctx.addIssue({ code: "custom", message: result.error, input: text });
      return z.NEVER;
    });
}

/** A duration string ("500ms", "1s") in milliseconds, within [min, max]. */
function duration(defaultMs: number, min: number, max: number) {
  return z
    .unknown()
    .transform((input, ctx): number => {
      const result = parseDurationWithin(input, min, max);
      if (result.ok) return result.value;
      ctx.addIssue({ code: "custom", message: result.error, input });
      return z.NEVER;
    })
    .default(defaultMs);
}

function integer(min: number, max: number) {
  return z.number().int().min(min).max(max);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isMember(value: unknown): value is MemberSpec {
  return isRecord(value) && typeof value.host === "string" && typeof value.port === "number";
}

/** Lets a list-wide check run despite errors inside items, but not on a non-list. */
function isArrayPayload(payload: z.core.ParsePayload): boolean {
  return Array.isArray(payload.value);
}

/** True when no issue so far concerns any of the given property paths (or below them). */
function untouched(...paths: PropertyKey[][]) {
  return (payload: z.core.ParsePayload) =>
    !payload.issues.some((issue) =>
      paths.some((path) => path.every((segment, i) => issue.path?.[i] === segment))
    );
}

// ---- value parsers ----------------------------------------------------------------

function parseAdvertise(text: string): Parsed<{ host: string; port: number | null }> {
  // "sip:5060" could be a host named sip; "sip:proxy.example.com" is a URI by mistake.
  if (/^(sips?|udp|tcp|tls):(?!\d+$)/i.test(text.trim())) {
    return fail(`advertise is a host[:port], not a URI; e.g. sipproxy.example.com:5060`);
  }
  const result = parseHostPort(text.trim());
  if (!result.ok) return result;
  if (result.value.host === "0.0.0.0" || /^[0:]+$/.test(result.value.host)) {
    return fail(
      "advertise must be a name or address that endpoints and servers can reach, not a wildcard",
    );
  }
  return result;
}

function parseHttpListen(text: string): Parsed<{ host: string; port: number }> {
  const result = parseHostPort(text.trim());
  if (!result.ok) return result;
  const { host, port } = result.value;
  if (port === null) return fail(`http.listen needs a port, e.g. ${text.trim()}:8080`);
  return ok({ host, port });
}

function mustParse<T>(result: Parsed<T>): T {
  if (!result.ok) throw new Error(`bad built-in default: ${result.error}`);
  return result.value;
}

// ---- sections -----------------------------------------------------------------------

const listenUri = parsedString(parseListenUri, "a listen address like udp://0.0.0.0:5060");

const listenSchema = emptyIsDefault(
  z.preprocess(
    (value) => (typeof value === "string" ? [value] : value),
    z
      .array(listenUri)
      .min(1, "needs at least one listen address")
      .superRefine((specs, ctx) => {
        const seen = new Set<string>();
        specs.forEach((spec, i) => {
          if (!isRecord(spec) || typeof spec.uri !== "string") return;
          if (seen.has(spec.uri)) {
            ctx.addIssue({ code: "custom", path: [i], message: `${spec.uri} is listed twice` });
          }
          seen.add(spec.uri);
        });
      }, { when: isArrayPayload }),
  ).default(() => DEFAULT_LISTEN.map((uri) => mustParse(parseListenUri(uri)))),
);

const httpSchema = strict({
  listen: parsedString(parseHttpListen, "HOST:PORT, e.g. 127.0.0.1:8080")
    .default({ host: "127.0.0.1", port: 8080 }),
  token_env: z
    .string()
    .regex(ENV_NAME, "must be the NAME of an environment variable, e.g. VIPLESS_ADMIN_TOKEN")
    .nullable()
    .default("VIPLESS_ADMIN_TOKEN"),
}).prefault({});

const probeSchema = strict({
  interval: duration(1000, 100, 3_600_000),
  force_interval: duration(500, 100, 3_600_000),
  timeout: duration(500, 10, 3_600_000),
  failures: integer(1, 100).default(2),
  rise: integer(1, 100).default(2),
  // A comma list or a YAML list; kept as the normalised comma text.
  up_codes: z
    .unknown()
    .transform((input, ctx): string => {
      const result = parseUpCodes(input);
      if (result.ok) return result.value;
      // An item of a YAML list is reported at the item itself.
      const { index, message } = result.error;
      ctx.addIssue({ code: "custom", message, input, path: index === undefined ? [] : [index] });
      return z.NEVER;
    })
    .default(DEFAULT_UP_CODES),
})
  .superRefine((probe, ctx) => {
    if (probe.timeout >= probe.interval) {
      ctx.addIssue({
        code: "custom",
        path: ["timeout"],
        message: `probe.timeout (${formatDuration(probe.timeout)}) must be less than ` +
          `probe.interval (${formatDuration(probe.interval)})`,
      });
    }
  }, { when: untouched(["interval"], ["timeout"]) })
  .prefault({});

const failoverSchema = strict({
  timeout: duration(1000, 10, 300_000),
}).prefault({});

// SIGTERM: new dialogs get 503 while the transactions in flight finish, for at most this.
const drainSchema = strict({
  timeout: duration(5000, 0, 3_600_000),
}).prefault({});

const sipSchema = strict({
  t1: duration(500, 10, 60_000),
  max_transactions: integer(1, 10_000_000).default(500_000),
  max_message_bytes: integer(1024, 16_777_216).default(65_535),
  user_agent: z
    .string()
    .max(200)
    .regex(/^[^\r\n]*$/, "user_agent must be a single line")
    .default("vipless"),
  // "auto": as large as net.core.rmem_max / wmem_max allow, up to 8 MiB; 0: kernel default.
  udp_buffer_bytes: z
    .union([integer(0, 1_073_741_824), z.literal("auto")], {
      error: (issue) =>
        issue.input === undefined
          ? undefined
          : `expected a number of bytes (0-1073741824) or auto, got ${describeValue(issue.input)}`,
    })
    .default("auto"),
}).prefault({});

const tcpSchema = strict({
  max_connections: integer(1, 1_000_000).default(4096),
  max_connections_per_source: integer(0, 1_000_000).default(256),
  message_timeout: duration(10_000, 10, 600_000),
  idle_timeout: duration(300_000, 10, 86_400_000),
  max_header_bytes: integer(256, 1_048_576).default(16_384),
}).prefault({});

const protectSchema = strict({
  max_requests_per_source: z.number().min(0).max(1_000_000).default(0),
  block_time: duration(60_000, 10, 86_400_000),
}).prefault({});

const overloadSchema = strict({
  max_invite_rate: z.number().min(0).max(1_000_000).default(0),
  // New INVITEs are refused while vipless's own delay (event-loop lag, or the wait in
  // the socket queue) is above this: it is saturated, and the calls it already
  // accepted must complete. 0: off.
  max_delay: duration(100, 0, 60_000),
}).prefault({});

/** A DNS server: "127.0.0.1", "127.0.0.1:5353" or "[::1]:53"; the port defaults to 53. */
function parseDnsServer(text: string): Parsed<{ host: string; port: number }> {
  const result = parseHostPort(text.trim());
  if (!result.ok) return result;
  const { host, port } = result.value;
  if (!host.includes(":") && !/^\d+\.\d+\.\d+\.\d+$/.test(host)) {
    return fail(`a DNS server is an IP address, not a name: '${host}'`);
  }
  return ok({ host, port: port ?? 53 });
}

const dnsSchema = strict({
  // RFC 3263 lookups (NAPTR, SRV, A/AAAA) of members named by DNS name; null: the
  // nameservers of /etc/resolv.conf.
  servers: z
    .array(parsedString(parseDnsServer, 'an IP address with an optional port, like "127.0.0.1:53"'))
    .min(1, "list at least one server, or leave dns.servers out for the system's")
    .nullable()
    .default(null),
}).prefault({});

// SIP over TLS: the certificate of the tls:// listeners (and, with client_cert, the one
// presented to members), and how members' certificates are checked. Paths; the files
// are read when the listeners open and again on SIGHUP.
const tlsSchema = strict({
  cert: z.string().min(1).nullable().default(null),
  key: z.string().min(1).nullable().default(null),
  ca: z.string().min(1).nullable().default(null),
  verify_members: z.boolean().default(true),
  client_cert: z.boolean().default(false),
}).prefault({});

const logSchema = strict({
  level: z.enum(LOG_LEVELS).default("info"),
  format: z.enum(LOG_FORMATS).default("json"),
}).prefault({});

const memberUri = parsedString(parseMemberUri, "a SIP URI like sip:10.0.0.11:5060");

const pairSchema = strict({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(PAIR_NAME, "a pair name uses letters, digits, '.', '_' and '-' (e.g. site-a)"),
  primary: memberUri,
  backup: memberUri,
});

/** Names unique; a member server (host:port) belongs to one pair, in one role only. */
function checkPairsDistinct(pairs: unknown[], ctx: z.core.$RefinementCtx<unknown>) {
  const names = new Map<string, number>();
  const members = new Map<string, { pair: string; role: string; index: number }>();
  pairs.forEach((pair, index) => {
    if (!isRecord(pair)) return;
    const name = typeof pair.name === "string" ? pair.name : `#${index + 1}`;
    if (typeof pair.name === "string") {
      const first = names.get(pair.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: [index, "name"],
          message: `duplicate pair name '${pair.name}' (pair #${first + 1} has it already)`,
        });
      } else names.set(pair.name, index);
    }
    for (const role of ["primary", "backup"] as const) {
      const member = pair[role];
      if (!isMember(member)) continue;
      const key = `${hostKey(member.host)}:${member.port}`;
      const owner = members.get(key);
      if (owner === undefined) {
        members.set(key, { pair: name, role, index });
        continue;
      }
      const message = owner.index === index
        ? `backup ${member.uri} is the same server as the primary`
        : `member ${member.uri} is already the ${owner.role} of pair '${owner.pair}'; ` +
          `a server may belong to one pair only`;
      ctx.addIssue({ code: "custom", path: [index, role], message });
    }
  });
}

function hostKey(host: string): string {
  return host.toLowerCase().replace(/\.$/, "");
}

const pairsSchema = z
  .array(pairSchema)
  .min(1, "define at least one pair")
  .superRefine((pairs, ctx) => checkPairsDistinct(pairs, ctx), { when: isArrayPayload });

// ---- the whole file -----------------------------------------------------------------

export const configSchema = strict({
  listen: listenSchema,
  advertise: parsedString(parseAdvertise, "a host[:port] like sipproxy.example.com"),
  serve: z.string().optional(),
  http: emptyIsDefault(httpSchema),
  probe: emptyIsDefault(probeSchema),
  failover: emptyIsDefault(failoverSchema),
  drain: emptyIsDefault(drainSchema),
  sip: emptyIsDefault(sipSchema),
  overload: emptyIsDefault(overloadSchema),
  tcp: emptyIsDefault(tcpSchema),
  protect: emptyIsDefault(protectSchema),
  dns: emptyIsDefault(dnsSchema),
  tls: emptyIsDefault(tlsSchema),
  workers: z.number().int().min(1).max(64).default(1),
  pairs: pairsSchema,
  log: emptyIsDefault(logSchema),
})
  .superRefine((config, ctx) => {
    const names = (config.pairs as unknown[])
      .map((pair) => (isRecord(pair) ? pair.name : undefined))
      .filter((name): name is string => typeof name === "string");
    if (names.length === 0) return; // "pairs" has its own error already
    if (config.serve === undefined) {
      // With a single pair there is nothing to choose; with several, guessing is unsafe.
      if (config.pairs.length === 1) return;
      ctx.addIssue({
        code: "custom",
        path: ["serve"],
        message: `missing required key 'serve': name the pair this instance serves ` +
          `(one of ${names.join(", ")})`,
      });
    } else if (!names.includes(config.serve)) {
      ctx.addIssue({
        code: "custom",
        path: ["serve"],
        message: `serve names no pair: '${config.serve}'${didYouMean(config.serve, names)}` +
          ` (pairs: ${names.join(", ")})`,
      });
    }
  }, {
    // Runs even when other sections have errors so that all problems show at once.
    when: (payload) =>
      untouched(["serve"])(payload) && isRecord(payload.value) &&
      Array.isArray(payload.value.pairs),
  })
  .superRefine((config, ctx) => {
    // A certificate is needed to listen on TLS, and to present one to members.
    if (!isRecord(config) || !isRecord(config.tls) || !Array.isArray(config.listen)) return;
    const hasPem = typeof config.tls.cert === "string" && typeof config.tls.key === "string";
    config.listen.forEach((spec, i) => {
      if (isRecord(spec) && spec.transport === "tls" && !hasPem) {
        ctx.addIssue({
          code: "custom",
          path: ["listen", i],
          message: `${spec.uri} needs a certificate: set tls.cert and tls.key`,
        });
      }
    });
    if (config.tls.client_cert === true && !hasPem) {
      ctx.addIssue({
        code: "custom",
        path: ["tls", "client_cert"],
        message: "tls.client_cert presents tls.cert and tls.key: set both",
      });
    }
  }, { when: untouched(["listen"], ["tls"]) })
  .transform((config) => ({ ...config, serve: config.serve ?? config.pairs[0].name }));

export type Config = z.output<typeof configSchema>;
export type PairSpec = Config["pairs"][number];
export type HttpSpec = Config["http"];
export type ProbeSpec = Config["probe"];
export type LogLevel = Config["log"]["level"];
