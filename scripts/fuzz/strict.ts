/**
 * The strict reading of what vipless sent: to the pair members (relayed requests) and
 * back to the fuzzer (its own answers and relayed responses). Whatever vipless sends
 * must parse with the project's parser and hold no control octet a lax reader could
 * split on; what it relays must also pass the checks it applies to what it receives.
 */
import {
  parseMessage,
  requestRejection,
  responseRejection,
  type SipMessage,
} from "../../src/sip/index.ts";

const NO_TAGS: ReadonlySet<string> = new Set();

/** An unescaped NUL, a CR not followed by LF, or an LF not after CR, before the blank line. */
function hasStrayControl(text: string): boolean {
  const end = text.indexOf("\r\n\r\n");
  const head = end < 0 ? text : text.slice(0, end);
  // `\<NUL>` is a quoted-pair the grammar allows (RFC 4475 §3.1.1.2, intmeth.dat).
  return /(?<!\\)\0|\r(?!\n)|(?<!\r)\n/.test(head);
}

/** Why `bytes` (`text` is the same as a byte string) is malformed, or null. */
export function strictProblem(
  bytes: Uint8Array,
  text: string,
): { problem: string | null; msg?: SipMessage } {
  if (hasStrayControl(text)) return { problem: "NUL, bare CR or bare LF in the header part" };
  let msg: SipMessage;
  try {
    msg = parseMessage(bytes);
  } catch (e) {
    return { problem: `does not parse: ${(e as Error).message}` };
  }
  if (!msg.isResponse) {
    const refused = requestRejection(msg, NO_TAGS);
    // 483 (Max-Forwards ran out on the way) and 420 are answers, not malformation.
    if (refused && [400, 416, 505, 513].includes(refused.status)) {
      return { problem: `a relayed request vipless would refuse: ${refused.detail}`, msg };
    }
    return { problem: null, msg };
  }
  // vipless's own answers (Server: vipless) may lack what the request lacked; a
  // relayed response must be one vipless would accept.
  if (msg.header("server") !== "vipless") {
    const why = responseRejection(msg);
    if (why) return { problem: `a relayed response vipless would drop: ${why}`, msg };
  }
  return { problem: null, msg };
}
