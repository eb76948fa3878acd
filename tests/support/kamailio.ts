/**
 * Kamailio (Debian `kamailio` with `kamailio-tls-modules`) as a TLS SIP server for the
 * tests: a stateless UAS on a loopback port that answers every request 200 (INVITEs
 * with a Contact, so the caller can ACK and BYE), with the test certificate. Absent
 * kamailio or its tls module, `kamailioMissing` says why and the tests skip saying so.
 */
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Proc, start, tempDir } from "./vipless-process.ts";

const MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules";

export function kamailioMissing(): string | null {
  const r = spawnSync("kamailio", ["-v"], { encoding: "utf8" });
  if (r.error) return `kamailio not found (${r.error.message}); apt-get install kamailio`;
  if (!existsSync(join(MODULES, "tls.so"))) {
    return "kamailio's tls module is missing; apt-get install kamailio-tls-modules";
  }
  return null;
}

export interface Kamailio {
  port: number;
  proc: Proc;
  stop(): Promise<void>;
}

export async function startKamailioTls(
  port: number,
  pem: { certPath: string; keyPath: string },
): Promise<Kamailio> {
  const dir = tempDir();
  writeFileSync(
    join(dir, "tls.cfg"),
    `[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
private_key = ${pem.keyPath}
certificate = ${pem.certPath}

[client:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
`,
  );
  writeFileSync(
    join(dir, "kamailio.cfg"),
    `#!KAMAILIO
debug=2
log_stderror=yes
children=1
tcp_children=2
listen=tls:127.0.0.1:${port}
enable_tls=yes
mpath="${MODULES}/"
loadmodule "sl.so"
loadmodule "textops.so"
loadmodule "tls.so"
modparam("tls", "config", "${join(dir, "tls.cfg")}")
request_route {
  if (is_method("ACK")) { exit; }
  if (is_method("INVITE")) {
    append_to_reply("Contact: <sip:kamailio@127.0.0.1:${port};transport=tls>\\r\\n");
  }
  sl_send_reply("200", "OK");
  exit;
}
`,
  );
  const proc = start("kamailio", [
    "-f",
    join(dir, "kamailio.cfg"),
    "-DD",
    "-E",
    "-m",
    "32",
    "-M",
    "8",
    "-Y",
    dir,
    "-P",
    join(dir, "kamailio.pid"),
  ]);
  await proc.waitForOutput(/Listening on/, 10_000);
  // The TCP/TLS workers start after the banner.
  await new Promise((r) => setTimeout(r, 300));
  return {
    port,
    proc,
    // SIGTERM: kamailio's main process ends its workers (a SIGKILL would orphan them).
    async stop() {
      proc.kill("SIGTERM");
      const done = await Promise.race([
        proc.exited.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 5000)),
      ]);
      if (!done) await proc.stop();
    },
  };
}
