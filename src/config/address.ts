// Parsers for the addresses a config names: listen URIs, SIP member URIs and
// "host:port" strings. They only check syntax; nothing is resolved or bound here. What
// counts as an IP address is src/net's (standard forms only).
import {
  DEFAULT_SIP_PORT,
  DEFAULT_SIPS_PORT,
  formatHostPort,
  isIpv4,
  isIpv6,
} from "../net/address.ts";
import type { Transport } from "../net/transport.ts";
import { fail, ok, type Parsed } from "./result.ts";

export { hostForUri } from "../net/address.ts";
export type { Transport } from "../net/transport.ts";

/** A socket to listen on, from "udp://0.0.0.0:5060"; IPv6 as "udp://[::1]:5060". */
export interface ListenSpec {
  /** Normalised: "udp://0.0.0.0:5060", "tcp://[::1]:5060" (port always present). */
  uri: string;
  transport: Transport;
  /** Without brackets for IPv6. */
  host: string;
  port: number;
}

/** A pair member, from "sip:10.0.0.11:5060;transport=tcp". */
export interface MemberSpec {
  /** As written in the config (trimmed). */
  uri: string;
  scheme: "sip" | "sips";
  /** Without brackets for IPv6. */
  host: string;
  port: number;
  transport: Transport;
  /**
   * Whether the URI names its port and its transport. RFC 3263 §4: a name without a
   * port is looked up by SRV (and without a transport, NAPTR first) for where it is.
   */
  portGiven: boolean;
  transportGiven: boolean;
}

export interface HostPort {
  host: string;
  port: number | null;
}

const HOSTNAME_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
/** Four dot-separated runs of 1-3 digits: meant as an IPv4 address, valid or not. */
const DOTTED_QUAD = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** Validates a host without brackets: IPv4, IPv6 or a DNS name. */
export function checkHost(host: string): string | undefined {
  if (host === "") return "the host is missing";
  if (host.includes(":")) {
    return isIpv6(host) ? undefined : `'${host}' is not a valid IPv6 address`;
  }
  if (DOTTED_QUAD.test(host)) {
    return isIpv4(host) ? undefined : `'${host}' is not a valid IPv4 address`;
  }
  const labels = (host.endsWith(".") ? host.slice(0, -1) : host).split(".");
  const last = labels[labels.length - 1];
  // A top label starting with a digit is a mistyped IP address, not a name (RFC 3261 25.1).
  if (!labels.every((label) => HOSTNAME_LABEL.test(label)) || /^\d/.test(last)) {
    return `'${host}' is not a valid host name or IP address`;
  }
  return undefined;
}

export function parsePort(text: string): Parsed<number> {
  if (!/^\d+$/.test(text)) return fail(`'${text}' is not a port number`);
  const port = Number(text);
  if (port < 1 || port > 65535) return fail(`port must be 1-65535, got ${text}`);
  return ok(port);
}

/** Splits "host", "host:port", "[v6]" or "[v6]:port"; a bare IPv6 address has no port. */
export function parseHostPort(text: string): Parsed<HostPort> {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return fail(`'${text}' has an unclosed '[' around an IPv6 address`);
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) return fail(`unexpected '${rest}' after ']' in '${text}'`);
      portText = rest.slice(1);
    }
    if (!host.includes(":")) return fail(`'[${host}]' is not an IPv6 address`);
  } else {
    const colons = text.split(":").length - 1;
    if (colons > 1) return fail(`write IPv6 addresses in brackets, e.g. [${text}]`);
    const colon = text.indexOf(":");
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
  }
  const hostError = checkHost(host);
  if (hostError !== undefined) return fail(hostError);
  if (portText === undefined) return ok({ host, port: null });
  const port = parsePort(portText);
  return port.ok ? ok({ host, port: port.value }) : port;
}

/** "udp://0.0.0.0:5060" → ListenSpec; the port defaults to 5060. */
export function parseListenUri(input: string): Parsed<ListenSpec> {
  const text = input.trim();
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(text);
  const shape = "a listen address looks like udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT";
  if (match === null) return fail(`'${text}' is not a listen address; ${shape}`);
  const scheme = match[1].toLowerCase();
  if (scheme !== "udp" && scheme !== "tcp" && scheme !== "tls") {
    return fail(`unsupported transport '${match[1]}'; ${shape}`);
  }
  if (/[/?#]/.test(match[2])) return fail(`'${text}' has a path or query; ${shape}`);
  const hostPort = parseHostPort(match[2]);
  if (!hostPort.ok) return hostPort;
  const { host } = hostPort.value;
  const port = hostPort.value.port ?? (scheme === "tls" ? DEFAULT_SIPS_PORT : DEFAULT_SIP_PORT);
  return ok({ uri: `${scheme}://${formatHostPort(host, port)}`, transport: scheme, host, port });
}

/** "sip:10.0.0.11:5060;transport=tcp" → MemberSpec. */
export function parseMemberUri(input: string): Parsed<MemberSpec> {
  const uri = input.trim();
  const match = /^(sips?):(.*)$/i.exec(uri);
  if (match === null) {
    return fail(`'${uri}' is not a SIP URI; write it like sip:10.0.0.11:5060`);
  }
  const scheme = match[1].toLowerCase() as "sip" | "sips";
  const rest = match[2];
  if (rest.includes("@")) {
    return fail(`a member is a server: drop the user part from '${uri}', e.g. sip:10.0.0.11:5060`);
  }
  if (rest.includes("?")) return fail(`a member URI cannot carry headers ('?…' in '${uri}')`);
  const [hostPortText, ...params] = rest.split(";");
  const hostPort = parseHostPort(hostPortText);
  if (!hostPort.ok) return hostPort;
  let transport: Transport = scheme === "sips" ? "tls" : "udp";
  let transportGiven = false;
  for (const param of params) {
    const [name, value = ""] = param.split("=", 2);
    if (name.toLowerCase() === "lr") continue;
    if (name.toLowerCase() !== "transport") {
      return fail(
        `unsupported URI parameter '${name}' in '${uri}' (only transport= is understood)`,
      );
    }
    const t = value.toLowerCase();
    transportGiven = true;
    if (t === "tls") transport = "tls";
    else if ((t === "udp" || t === "tcp") && scheme === "sip") transport = t;
    else if (t === "udp" || t === "tcp") return fail(`sips: URIs need TLS, not transport=${t}`);
    else return fail(`unsupported transport '${value}' in '${uri}' (use udp, tcp or tls)`);
  }
  const port = hostPort.value.port ?? (transport === "tls" ? DEFAULT_SIPS_PORT : DEFAULT_SIP_PORT);
  return ok({
    uri,
    scheme,
    host: hostPort.value.host,
    port,
    transport,
    portGiven: hostPort.value.port !== null,
    transportGiven,
  });
}
