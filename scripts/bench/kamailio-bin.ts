/**
 * The Kamailio binary the benches compare against: where it is, where its modules are,
 * whether the modules a configuration loads are there, and its version. One home for
 * the UDP bench (proxy/targets.ts) and the TLS bench (tls-targets.ts).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

export const KAMAILIO = process.env.KAMAILIO ?? "kamailio";

/** The modules scripts/bench/kamailio.cfg.ts loads. */
const BASE_MODULES = ["tm", "rr", "sl", "dispatcher", "maxfwd", "textops", "siputils"];

/** The first line a command prints (stdout, then stderr), "" if none. */
export function firstLine(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")[0] ?? "";
}

/** Kamailio's module directory from `kamailio -I`, or the Debian default. */
export function kamailioModules(): string {
  const r = spawnSync(KAMAILIO, ["-I"], { encoding: "utf8" });
  const m = /Default paths to modules:\s*(\S+)/.exec(`${r.stdout ?? ""}`);
  return m?.[1] ?? "/usr/lib/x86_64-linux-gnu/kamailio/modules";
}

/** Why Kamailio cannot run the bench's configuration (plus `extra` modules), or undefined. */
export function kamailioUnavailable(extra: string[] = []): string | undefined {
  const r = spawnSync(KAMAILIO, ["-v"], { encoding: "utf8" });
  if (r.error) return `${KAMAILIO} not found (Debian package kamailio; or set $KAMAILIO)`;
  const mods = kamailioModules();
  for (const m of [...BASE_MODULES, ...extra]) {
    if (!existsSync(join(mods, `${m}.so`))) return `kamailio module ${m}.so not in ${mods}`;
  }
  return undefined;
}

export const kamailioVersion = () => firstLine(KAMAILIO, ["-v"]).replace(/^version:\s*/, "");
