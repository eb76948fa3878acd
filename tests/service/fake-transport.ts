// The SipTransport that service-glue tests hand to sip-core: every message and probe
// goes to `send` (the test records it), and the probe socket is `probePort`'s.
import type { SipTransport } from "../../src/transport/sip-transport.ts";
import type { Endpoint } from "../../src/transport/types.ts";

export function fakeTransport(
  send: (bytes: Uint8Array, to: Endpoint) => void,
  probePort: number | null = null,
): SipTransport {
  return {
    send,
    sendProbe: send,
    probePort: () => probePort,
    probePorts: () => (probePort === null ? [] : [probePort]),
    // Nothing is read from real sockets: no queue in front of vipless.
    udpRead: { datagrams: 0, bytes: 0 },
    udpQueueBytes: () => null,
    udpReceiveDrops: () => null,
    connections: 0,
  } as unknown as SipTransport;
}
