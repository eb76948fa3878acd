/**
 * A pair member for the fuzz session: a SIP server that answers every request it can
 * read, as a real one does, and holds no state, so that a million messages cost it
 * nothing. INVITE gets 200 with SDP (Record-Route copied, so the dialog's ACK and BYE
 * come back through vipless), ACK nothing, anything else 200.
 *
 * It reads what vipless relayed strictly (strict.ts) and counts what is malformed,
 * keeping a few for the report. When given a generator it also answers the fuzzer's
 * own requests (Call-IDs ending in "@fuzz", see mutate.ts `freshen`) with mutated
 * responses now and then, so that vipless's response path gets hostile input from a
 * member too; the background calls' answers are never mutated.
 */
import type { Runtime, SocketAddress, UdpSocket } from "../../src/runtime/index.ts";
import { buildResponse, type SipMessage } from "../../src/sip/index.ts";
import { byteString, byteStringToBytes } from "../../src/sip/text.ts";
import type { Seed } from "./corpus.ts";
import { mutateText, type Rng } from "./mutate.ts";
import { strictProblem } from "./strict.ts";
import { udpDrops } from "./observe.ts";

export interface MemberStats {
  requests: number;
  /** Answers this member mutated before sending them. */
  mutatedAnswers: number;
  malformed: number;
  /** The first few malformed messages, as JSON strings of their bytes, with why. */
  samples: string[];
  /** Datagrams the kernel dropped for this member (its receive buffer was full). */
  kernelDrops: number;
  /** The last mutated answers and the requests they answered, for a reproduction. */
  lastMutated: Array<{ request: string; answer: string }>;
}

/** Mutated answers, when a generator is given: this share of the fuzzer's requests. */
export interface AnswerMutation {
  rng: Rng;
  corpus: readonly Seed[];
  share: number;
}

const SAMPLES = 5;
const LAST_MUTATED = 50;

const SDP = "v=0\r\no=member 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
  "m=audio 6002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

export class Member {
  readonly stats: MemberStats = {
    requests: 0,
    mutatedAnswers: 0,
    malformed: 0,
    samples: [],
    kernelDrops: 0,
    lastMutated: [],
  };

  private constructor(
    private readonly sock: UdpSocket,
    readonly name: string,
    private readonly mutation?: AnswerMutation,
  ) {}

  static async start(rt: Runtime, name: string, mutation?: AnswerMutation): Promise<Member> {
    // The socket's handler needs the member, which needs the socket.
    const ref: { member?: Member } = {};
    // A large receive buffer, as a real server has: a burst of the fuzzer's 64 KB
    // datagrams relayed to it must not crowd out the background calls' messages.
    const sock = await rt.bindUdp({ host: "127.0.0.1", port: 0 }, {
      onMessage: (data, from) => ref.member?.onDatagram(data, from),
    }, { bufferBytes: { receive: 8 << 20, send: 1 << 20 } });
    return ref.member = new Member(sock, name, mutation);
  }

  get port(): number {
    return this.sock.local.port;
  }

  /** Notes how many datagrams the kernel has dropped for this member so far. */
  readKernelDrops(): number {
    return this.stats.kernelDrops = udpDrops(this.port);
  }

  close(): void {
    this.sock.close();
  }

  private onDatagram(data: Uint8Array, from: SocketAddress): void {
    const bytes = data.slice();
    const text = byteString(bytes);
    if (text.trim() === "") return; // keep-alive
    const { problem, msg } = strictProblem(bytes, text);
    if (problem) {
      this.stats.malformed++;
      if (this.stats.samples.length < SAMPLES) {
        this.stats.samples.push(`${problem}: ${JSON.stringify(text)}`);
      }
    }
    if (!msg || msg.isResponse) return;
    this.stats.requests++;
    if (msg.method === "ACK") return;
    let answer: Uint8Array;
    let fuzzers: boolean;
    try {
      answer = this.answer(msg);
      fuzzers = msg.callId?.endsWith("@fuzz") ?? false;
    } catch {
      return; // a request the builder cannot answer (no Via, say) was counted above
    }
    const m = this.mutation;
    if (m && fuzzers && m.rng() < m.share) {
      const mutated = mutateText(byteString(answer), m.rng, m.corpus, 65_000, 2).text;
      answer = byteStringToBytes(mutated);
      this.stats.mutatedAnswers++;
      this.stats.lastMutated.push({ request: text, answer: mutated });
      if (this.stats.lastMutated.length > LAST_MUTATED) this.stats.lastMutated.shift();
    }
    this.sock.send(answer, from);
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
