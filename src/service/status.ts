/**
 * The `/status` document (also `/` for scripts, the status page and `vipless status`):
 * the HA snapshot with each member's recent probe round trips, plus the listeners.
 */
import type { Config } from "../config/index.ts";
import { formatHostPort } from "../net/address.ts";
import type { PairSnapshot, ProbeRtt } from "../ha/index.ts";
import type { RuntimeName } from "../runtime/types.ts";
import type { OpenedListener } from "../transport/types.ts";
import { VERSION } from "../version.ts";

export interface StatusSources {
  runtime: RuntimeName;
  listeners: readonly OpenedListener[];
  config: Config;
  pairs: PairSnapshot[];
  probeRtt: ProbeRtt[];
}

export function statusDocument(s: StatusSources) {
  const recent = new Map(s.probeRtt.map((r) => [`${r.pair}\u0000${r.role}`, r.recentMs]));
  return {
    version: VERSION,
    runtime: s.runtime,
    listeners: s.listeners.map((l) => `${l.transport}://${formatHostPort(l.host, l.port)}`),
    advertise: s.config.advertise,
    serve: s.config.serve,
    pairs: s.pairs.map((p) => ({
      ...p,
      members: p.members.map((m) => ({
        ...m,
        /** The last probe round trips in ms, oldest first (at most 20). */
        rttHistoryMs: recent.get(`${p.name}\u0000${m.role}`) ?? [],
      })),
    })),
  };
}
