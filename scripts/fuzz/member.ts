/**
 * A pair member for the fuzz session: a SIP server that answers every request it can
 * read, as a real one does, and holds no state, so that a million messages cost it
 * nothing. INVITE gets 200 with SDP (Record-Route copied, so the dialog's ACK and BYE
 * come back through vipless), ACK nothing, anything else 200.
 *
 * It also checks what vipless relayed with the project's strict parser and validation:
 * a relayed message that does not parse, or that vipless itself would refuse with
 * 400/416/505/513, or that holds a NUL (other than the quoted-pair `\<NUL>` RFC 4475
 * §3.1.1.2 uses), a bare CR or a bare LF in its header part, is counted as malformed
 * and a few are kept for the report.
 */
import type { Runtime, SocketAddress, UdpSocket } from "../../src/runtime/index.ts";
import {
  buildResponse,
  parseMessage,
  requestRejection,
  type SipMessage,
} from "../../src/sip/index.ts";
import { byteString } from "../../src/sip/text.ts";

export interface MemberStats {
  requests: number;
  responsesIgnored: number;
  malformed: number;
  /** The first few malformed messages, as JSON strings of their bytes. */
  samples: string[];
}

const NO_TAGS: ReadonlySet<string> = new Set();
const SAMPLES = 5;

const SDP = "v=0\r\no=member 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
  "m=audio 6002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/** An unescaped NUL, a CR not followed by LF, or an LF not after CR, before the blank line. */
function hasStrayControl(text: string): boolean {
  const end = text.indexOf("\r\n\r\n");
  const head = end < 0 ? text : text.slice(0, end);
  return /(?<!\\)\0|\r(?!\n)|(?<!\r)\n/.test(head);
}

export class Member {
  readonly stats: MemberStats = { requests: 0, responsesIgnored: 0, malformed: 0, samples: [] };

  private constructor(private readonly sock: UdpSocket, readonly name: string) {}

  static async start(rt: Runtime, name: string): Promise<Member> {
    // The socket's handler needs the member, which needs the socket.
    const ref: { member?: Member } = {};
    const sock = await rt.bindUdp({ host: "127.0.0.1", port: 0 }, {
      onMessage: (data, from) => ref.member?.onDatagram(data, from),
    });
    return ref.member = new Member(sock, name);
  }

  get port(): number {
    return this.sock.local.port;
  }

  close(): void {
    this.sock.close();
  }

  private malformed(text: string): void {
    this.stats.malformed++;
    if (this.stats.samples.length < SAMPLES) this.stats.samples.push(JSON.stringify(text));
  }

  private onDatagram(data: Uint8Array, from: SocketAddress): void {
    const bytes = data.slice();
    const text = byteString(bytes);
    if (text.trim() === "") return; // keep-alive
    let msg: SipMessage;
    try {
      msg = parseMessage(bytes);
    } catch {
      return this.malformed(text);
    }
    if (msg.isResponse) {
      this.stats.responsesIgnored++;
      return;
    }
    this.stats.requests++;
    const refused = requestRejection(msg, NO_TAGS);
    if (hasStrayControl(text) || (refused && [400, 416, 505, 513].includes(refused.status))) {
      this.malformed(text);
    }
    if (msg.method === "ACK") return;
    try {
      this.sock.send(this.answer(msg), from);
    } catch {
      // a request the builder cannot answer (no Via, say) was counted above
    }
  }

  private answer(req: SipMessage): Uint8Array {
    if (req.method !== "INVITE") return buildResponse(req, 200, "OK");
    const headers: Array<[string, string]> = req.headerValues("record-route").map((v) => [
      "Record-Route",
      v,
    ]);
    headers.push(["Contact", `<sip:${this.name}@127.0.0.1:${this.port}>`]);
    headers.push(["Content-Type", "application/sdp"]);
    return buildResponse(req, 200, "OK", { headers, body: SDP });
  }
}
