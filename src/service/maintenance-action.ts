/**
 * The admin call that puts a pair member in maintenance or ends it
 * (`POST`/`DELETE /pairs/{pair}/members/{role}/maintenance`): applied to the pair
 * registry on the HA clock, logged, answered with the pair's status.
 */
import type { Logger } from "@logtape/logtape";
import type { SwitchoverResult } from "../http/app.ts";
import type { Role } from "../ha/index.ts";
import type { SipCore } from "./sip-core.ts";

export function maintenanceAction(
  core: SipCore,
  log: Logger,
): (pair: string, role: Role, on: boolean, force: boolean) => SwitchoverResult {
  return (pair, role, on, force) => {
    const r = core.registry.maintenance(pair, role, on, force, core.lag.catchUp());
    if (!r.ok) return { ok: false, code: r.error.code, message: r.error.message };
    if (r.changed) {
      const fields = { pair, role, member: r.member, force };
      if (on) {
        log.info("{role} {member} of {pair} in maintenance", {
          event: "maintenance-on",
          ...fields,
        });
      } else {log.info("{role} {member} of {pair} out of maintenance", {
          event: "maintenance-off",
          ...fields,
        });}
    }
    return { ok: true, status: core.pairsStatus().find((p) => p.name === pair) };
  };
}
