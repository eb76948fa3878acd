/** What the transaction layer matches on (RFC 3261 §17.1.3, §17.2.3), read from a message. */
import type { SipMessage } from "../sip/index.ts";
import type { RequestFacts, ResponseFacts } from "../transaction/index.ts";

export function requestFacts(req: SipMessage): RequestFacts {
  const via = req.topVia!;
  const cseq = req.cseq!;
  return {
    method: req.method,
    branch: via.branch ?? "",
    sentBy: `${via.host}:${via.port ?? 5060}`,
    requestUri: req.requestUri,
    callId: req.callId ?? "",
    fromTag: req.from?.tag ?? "",
    toTag: req.to?.tag ?? "",
    cseq: cseq.seq,
    viaKey: via.raw,
  };
}

/** A response's matching facts; `branch` is its top Via's. */
export function responseFacts(res: SipMessage, branch: string): ResponseFacts {
  return { status: res.status, branch, cseqMethod: res.cseq!.method };
}
