// The one-line summary that `vipless check-config` prints when a config is valid.
import { formatHostPort } from "../net/address.ts";
import type { Config } from "./schema.ts";

/**
 * "config/vipless.yaml: OK — 2 pairs (site-a, site-b), serving site-a, listening on
 * udp://0.0.0.0:5060, tcp://0.0.0.0:5060, http 127.0.0.1:8080" (one line). Without
 * `file` the line starts at "OK".
 */
export function describeConfig(config: Config, file?: string): string {
  const names = config.pairs.map((pair) => pair.name);
  const pairs = `${names.length} ${names.length === 1 ? "pair" : "pairs"} (${names.join(", ")})`;
  const listen = config.listen.map((spec) => spec.uri).join(", ");
  const http = `http ${formatHostPort(config.http.listen.host, config.http.listen.port)}`;
  const summary = `OK — ${pairs}, serving ${config.serve}, listening on ${listen}, ${http}`;
  return file === undefined ? summary : `${file}: ${summary}`;
}
