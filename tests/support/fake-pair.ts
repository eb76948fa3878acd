// A pair of fake SIP servers on UDP (primary and backup) and the TestConfig that points
// vipless at them: the set-up of the end-to-end tests that run the real process.
import { FakeSipServer, type FakeSipServerOptions } from "./fake-sip-server.ts";
import { freePort, type TestConfig } from "./vipless-process.ts";

export interface FakePair {
  primary: FakeSipServer;
  backup: FakeSipServer;
  cfg: TestConfig;
}

/** Starts both members (each answering as `answer` says) and a config on free ports. */
export async function startFakePair(
  o: { answer?: FakeSipServerOptions["answer"]; extra?: string } = {},
): Promise<FakePair> {
  const answer = o.answer;
  const primary = await FakeSipServer.start({ transport: "udp", name: "primary", answer });
  const backup = await FakeSipServer.start({ transport: "udp", name: "backup", answer });
  const cfg: TestConfig = {
    sipPort: await freePort(),
    httpPort: await freePort("tcp"),
    primaryPort: primary.address.port,
    backupPort: backup.address.port,
    extra: o.extra ?? "",
  };
  return { primary, backup, cfg };
}
