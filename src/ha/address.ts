// Member identity. Host normalisation lives in src/net/address.ts (one module for every
// layer); it is re-exported here because the HA code looks members up by these names.

import { addressKey } from "../net/address.ts";
import type { HaMemberSpec } from "./types.ts";

export { addressKey, DEFAULT_SIP_PORT, normaliseHost } from "../net/address.ts";

/** Identity of a member: two specs with the same key are the same server. */
export function memberKey(member: HaMemberSpec): string {
  return `${member.scheme}:${addressKey(member.host, member.port)};${member.transport}`;
}
