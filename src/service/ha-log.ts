/**
 * Log lines for the HA events: one per state change, with the event's facts as
 * structured fields. Logging only: what the service does about an event (moving calls
 * off a dead member) happens in sip-core, from the events the registry returns.
 */
import type { Logger } from "@logtape/logtape";
import type { HaEventListener } from "../ha/index.ts";

/** `wallOffset()` turns the HA core's monotonic `at` into wall-clock ms for the log. */
export function haEventLogger(log: Logger, wallOffset: () => number): HaEventListener {
  return (e) => {
    const { type, ...facts } = e;
    const fields = { event: type, ...facts, at: new Date(e.at + wallOffset()).toISOString() };
    if (type === "switchover") {
      log.warning("pair {pair}: switchover from {from} to {to} ({reason})", fields);
    } else if (type === "pair-out-of-service") {
      log.error("pair {pair} is out of service ({reason})", fields);
    } else if (type === "member-flapping") {
      log.warning(
        "pair {pair}: {role} {member} is flapping ({changes} changes in a minute)",
        fields,
      );
    } else if (type === "member-down") {
      log.warning("pair {pair}: {role} {member} is down ({cause})", fields);
    } else {
      log.info("pair {pair}: {role} {member} is up", fields);
    }
  };
}
