/**
 * One INVITE sent by a test peer: provisional responses, the final one, the ACK (end to
 * end along the route set for a 2xx, hop by hop for the rest) and CANCEL.
 */
import type { OutgoingRequest, RequestResult, SipPeer } from "./sip-peer.ts";
import type { SocketAddress } from "./peer-transport.ts";
import { Dialog } from "./dialog.ts";
import { cseqNumber, parseMessage, sameHopRequest, sdpBody, type SipMessage } from "./sip-text.ts";
import { withTimeout } from "./wait.ts";

export interface CallResult extends RequestResult {
  /** The dialog a 2xx created (or the re-INVITE's dialog). */
  dialog?: Dialog;
  /** The ACK sent for the 2xx, parsed. */
  ack?: SipMessage;
}

export interface CallOptions {
  timeoutMs?: number;
  /** ACK a 2xx automatically (default true); false lets a test leave it un-ACKed. */
  autoAck?: boolean;
  /** For a re-INVITE: the dialog it belongs to. */
  dialog?: Dialog;
}

export class Call {
  readonly request: OutgoingRequest;
  readonly result: Promise<CallResult>;

  constructor(readonly peer: SipPeer, text: string, to: SocketAddress, o: CallOptions = {}) {
    this.request = peer.sendRequestText(text, to, o.timeoutMs);
    this.result = this.request.result.then((r): CallResult => {
      if (!r.final || r.status < 200 || r.status >= 300) return r;
      const invite = this.request.msg;
      let dialog = o.dialog;
      if (dialog) {
        // A target refresh (RFC 3261 §12.2.1.2): the 2xx Contact is the new remote target.
        const contact = r.final.get("contact");
        if (contact) dialog.remoteTarget = Dialog.forUac(peer, invite, r.final).remoteTarget;
      } else {
        dialog = Dialog.forUac(peer, invite, r.final);
        peer.dialogs.push(dialog);
      }
      if (o.autoAck === false) return { ...r, dialog };
      const ack = dialog.ack(cseqNumber(invite));
      this.request.ack = ack;
      return { ...r, dialog, ack: parseMessage(ack.text) };
    });
  }

  /** Every response so far, retransmissions included. */
  get responses(): SipMessage[] {
    return this.request.responses;
  }

  waitForResponse(match: number | ((r: SipMessage) => boolean), timeoutMs: number) {
    return this.request.waitForResponse(match, timeoutMs);
  }

  /**
   * CANCELs the INVITE (RFC 3261 §9.1): waits for a provisional response first, then
   * sends CANCEL with the INVITE's branch, Request-URI, Call-ID, From, To and Route.
   * Resolves with the CANCEL's own final response; `result` then ends with the 487.
   */
  async cancel(timeoutMs = 5000): Promise<RequestResult> {
    await withTimeout(
      this.request.waitForResponse((r) => r.status >= 100, timeoutMs),
      timeoutMs,
      "a provisional response before CANCEL",
    );
    const invite = this.request.msg;
    const text = sameHopRequest("CANCEL", invite, invite.get("to") ?? "");
    return this.peer.sendRequestText(text, this.request.to, timeoutMs).result;
  }

  /** The SDP offer sent when a test gives no body. */
  static defaultOffer(): string {
    return sdpBody("127.0.0.1", 40000);
  }
}
