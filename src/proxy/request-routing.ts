/**
 * The routing step of a request, between validation and the response context: decode
 * what routing reads (the error boundary), ask the router where the request goes, and
 * build the plan of its forwarded copies. Requests that get no transaction (an ACK for
 * a 2xx, an unmatched CANCEL) are forwarded from here, statelessly (§16.11).
 */
import { formatHostPort } from "../net/address.ts";
import { type SipMessage, SipParseError, type SipUri } from "../sip/index.ts";
import { answer, serviceUnavailable } from "./answers.ts";
import { type ForwardPlan, forwardRequest } from "./forward.ts";
import { isLooped, requestLoopHash } from "./loop.ts";
import type { Responder } from "./responder.ts";
import { parseOptionalUri, type PreprocessedRoutes, preprocessRoutes } from "./route-preprocess.ts";
import type { RouteDecision, Router } from "./router.ts";
import { SelfAddresses } from "./self.ts";
import type { ProxyOutput, ProxySettings, Source } from "./types.ts";

/** The part of the responder this step uses: it never holds a transaction. */
type StatelessResponder = Pick<Responder<never>, "stateless" | "drop">;

/** What routing reads of a request, decoded once while no state exists. */
export interface DecodedRouting {
  routes: PreprocessedRoutes;
  xGenesysRoute: SipUri | null;
}

export class RequestRouting {
  readonly #responder: StatelessResponder;
  readonly #out: ProxyOutput;
  #router!: Router;
  /** The URIs and sent-bys that name this proxy; set by `reconfigure`. */
  self!: SelfAddresses;
  #viaHost!: string;
  #tlsViaHost!: string;
  #tlsAlias = false;

  constructor(
    settings: ProxySettings,
    router: Router,
    responder: StatelessResponder,
    out: ProxyOutput,
  ) {
    this.#responder = responder;
    this.#out = out;
    this.reconfigure(settings, router);
  }

  reconfigure(settings: ProxySettings, router: Router): void {
    this.#router = router;
    this.self = new SelfAddresses(
      settings.advertiseHost,
      settings.advertisePort,
      settings.localAddresses,
    );
    this.#viaHost = formatHostPort(settings.advertiseHost, settings.advertisePort);
    this.#tlsAlias = settings.tlsAlias ?? false;
    this.#tlsViaHost = formatHostPort(
      settings.advertiseHost,
      settings.advertisePort === null ? null : settings.advertiseTlsPort ?? 5061,
    );
  }

  /**
   * Decodes what routing reads: Route preprocessing (Route URIs, Request-URI) and, from
   * a pair member only, X-Genesys-Route. A malformed one is answered 400 statelessly
   * (an ACK is dropped) and null returned.
   */
  decode(req: SipMessage, src: Source, fromMember: boolean): DecodedRouting | null {
    try {
      return {
        routes: preprocessRoutes(req, this.self),
        // From anyone else the header is neither parsed nor forwarded (no open relay).
        xGenesysRoute: fromMember ? parseOptionalUri(req.xGenesysRoute) : null,
      };
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
      if (req.method === "ACK") this.#responder.drop("malformed-request");
      else this.#responder.stateless(req, src, answer(400, e.message));
      return null;
    }
  }

  /** The routing decision, and the plan of the forwarded copies. */
  decide(req: SipMessage, src: Source, d: DecodedRouting, fromMember: boolean, now: number): {
    decision: RouteDecision;
    plan: ForwardPlan;
  } {
    const decision = this.#router.route(
      {
        method: req.method,
        inDialog: req.to?.tag != null,
        requestUri: d.routes.requestUri,
        topRoute: d.routes.topRoute,
        xGenesysRoute: d.xGenesysRoute,
        source: src,
      },
      fromMember,
      now,
    );
    const consumed = (decision.kind === "forward" || decision.kind === "locate") &&
      decision.consumedXGenesysRoute;
    const plan: ForwardPlan = {
      request: req,
      source: src,
      routes: d.routes,
      removeXGenesysRoute: req.xGenesysRoute !== null && (consumed || !fromMember),
      viaHost: this.#viaHost,
      tlsViaHost: this.#tlsViaHost,
      tlsAlias: this.#tlsAlias,
    };
    return { decision, plan };
  }

  /** ACK for a 2xx, unmatched CANCEL and the like: route and forward without a transaction. */
  forwardStateless(
    req: SipMessage,
    src: Source,
    d: DecodedRouting,
    fromMember: boolean,
    now: number,
  ): void {
    const hash = requestLoopHash(req, req.topVia);
    if (isLooped(req, this.self)) return this.#responder.drop("loop-on-ack");
    const { decision, plan } = this.decide(req, src, d, fromMember, now);
    // Nothing waits without a transaction: the name is looked up so that the ACK's
    // retransmission (after the 2xx's, RFC 3261 §13.3.1.4) finds its targets.
    if (decision.kind === "locate") this.#out.locate?.(decision.query, decision.key);
    if (decision.kind !== "forward" || decision.hops.length === 0) {
      if (req.method === "ACK") return this.#responder.drop("ack-unroutable");
      return this.#responder.stateless(req, src, serviceUnavailable());
    }
    // §16.11: a stateless branch is a function of the request, so retransmissions match.
    const branch = `z9hG4bKvl${hash}.s${
      (req.topVia?.branch ?? "").replace(/[^A-Za-z0-9.\-_]/g, "")
    }`;
    const { dest, bytes } = forwardRequest(plan, decision.hops[0]!.dest, branch);
    this.#out.send(bytes, dest);
  }
}
