/**
 * Loopback ports for the demo: the ones config/vipless.yaml uses when they are free (so
 * the demo matches the example a newcomer reads next), otherwise any free port.
 */
import { detectRuntime, type Runtime } from "../../src/runtime/index.ts";

export const HOST = "127.0.0.1";

export interface DemoPorts {
  sip: number;
  http: number;
  primary: number;
  backup: number;
}

/** The ports of config/vipless.yaml. */
export const PREFERRED: DemoPorts = { sip: 5060, http: 8080, primary: 5070, backup: 5080 };

let rt: Runtime | undefined;
async function runtime(): Promise<Runtime> {
  rt ??= await detectRuntime();
  return rt;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True when `port` can be bound on loopback for UDP and TCP (or TCP only). */
async function isFree(port: number, kinds: "tcp" | "both"): Promise<boolean> {
  const r = await runtime();
  try {
    const tcp = await r.listenTcp({ host: HOST, port }, { onData() {} });
    tcp.close();
    if (kinds === "both") {
      const udp = await r.bindUdp({ host: HOST, port }, { onMessage() {} });
      udp.close();
    }
  } catch {
    return false;
  }
  // Deno releases a closed UDP port only once its pending receive settles.
  await sleep(30);
  return true;
}

/** A port free for UDP and TCP (or TCP only) that was not handed out before. */
async function anyFree(kinds: "tcp" | "both", taken: Set<number>): Promise<number> {
  const r = await runtime();
  for (let attempt = 0; attempt < 50; attempt++) {
    // Keep the TCP listener open while trying UDP: Deno releases a closed listener's port
    // only later, so listening on it again at once would fail.
    const tcp = await r.listenTcp({ host: HOST, port: 0 }, { onData() {} });
    const port = tcp.local.port;
    let ok = !taken.has(port);
    if (ok && kinds === "both") {
      try {
        const udp = await r.bindUdp({ host: HOST, port }, { onMessage() {} });
        udp.close();
      } catch {
        ok = false;
      }
    }
    tcp.close();
    if (ok) {
      await sleep(30);
      return port;
    }
  }
  throw new Error("no free port on loopback");
}

/** The preferred ports where free, free ones elsewhere. */
export async function choosePorts(): Promise<DemoPorts> {
  const taken = new Set<number>();
  const pick = async (preferred: number, kinds: "tcp" | "both") => {
    const port = await isFree(preferred, kinds) ? preferred : await anyFree(kinds, taken);
    taken.add(port);
    return port;
  };
  return {
    sip: await pick(PREFERRED.sip, "both"),
    http: await pick(PREFERRED.http, "tcp"),
    primary: await pick(PREFERRED.primary, "both"),
    backup: await pick(PREFERRED.backup, "both"),
  };
}
