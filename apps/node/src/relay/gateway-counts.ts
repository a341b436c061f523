import { randomInt } from "node:crypto";
import type { RelayRequest } from "@pocket-ai/protocol";

/** Where the node's metrics and log hear of counts (totals only: never any text). */
export interface GatewayCountReport {
  counted(source: InputCountSource): void;
  /** An audited count differed: the gateway's total and the node's; `first` for a gateway newly distrusted. */
  wrong(gateway: string, claimed: number, counted: number, first: boolean): void;
}

/** How a text relay's input was counted: the gateway's signed count, checked by the node, or the node's alone. */
export type InputCountSource = "gateway" | "audit" | "node";

/**
 * Which gateways' signed input counts (`RelayRequest.inputCount`) the node takes instead of running
 * its tokenizer. Only gateways named in the node's config (accountable parties; a node open to any
 * gateway counts every relay itself); on one relay in `auditEvery`, drawn at random so that a
 * gateway cannot tell which, the node counts anyway and compares. A gateway whose count differed
 * once is counted on every relay after, for the life of the process.
 *
 * What a wrong count can do while unaudited: bill less input than was sent (the gateway's own signed
 * word, which it cannot dispute either way) and pass a prompt over the tier's input limit to the
 * engine, whose own context limit still holds. Each such relay is caught with probability
 * `1 / auditEvery`.
 */
export class GatewayCounts {
  readonly #trusted: ReadonlySet<string>;
  readonly #distrusted = new Set<string>();
  readonly #auditEvery: number;
  readonly #draw: (below: number) => number;
  readonly #report: GatewayCountReport | undefined;
  readonly #onDistrust: ((gateway: string) => void) | undefined;

  constructor(options: {
    /** Gateways whose counts may be taken: those of the node's config. */
    readonly trusted: Iterable<string>;
    /** One relay in this many is counted anyway and compared; 1 audits every relay (takes no count). */
    readonly auditEvery: number;
    /** A uniform integer in [0, below): the audit draw (tests pass a fixed one). */
    readonly draw?: (below: number) => number;
    readonly report?: GatewayCountReport;
    /** Hears of each gateway newly distrusted here (a node's workers share what one of them caught). */
    readonly onDistrust?: (gateway: string) => void;
  }) {
    this.#trusted = new Set(options.trusted);
    this.#auditEvery = Math.max(1, Math.floor(options.auditEvery));
    this.#draw = options.draw ?? randomInt;
    this.#report = options.report;
    this.#onDistrust = options.onDistrust;
  }

  /** Tells the reporter how a relay's input was counted. */
  counted(source: InputCountSource): void {
    this.#report?.counted(source);
  }

  /**
   * How to count this relay's input: `node` when the request carries no count the node may take
   * (none, another tokenizer family, a gateway not in the config or caught before), else `audit` on
   * a random one in `auditEvery` (every one when it is 1) and `gateway` on the rest.
   */
  sourceFor(request: RelayRequest, family: string): InputCountSource {
    const counted = request.inputCount;
    if (counted === undefined || counted.tokenizer !== family) return "node";
    const gateway = request.gateway.address;
    if (!this.#trusted.has(gateway) || this.#distrusted.has(gateway)) return "node";
    return this.#auditEvery === 1 || this.#draw(this.#auditEvery) === 0 ? "audit" : "gateway";
  }

  /** The gateway's count differed from the node's: it is counted on every relay from now on. */
  distrust(gateway: string, claimed: number, counted: number): void {
    const first = !this.#distrusted.has(gateway);
    this.#distrusted.add(gateway);
    this.#report?.wrong(gateway, claimed, counted, first);
    if (first) this.#onDistrust?.(gateway);
  }

  /** Another worker of this node caught the gateway: its counts are no longer taken here either. */
  distrustedElsewhere(gateway: string): void {
    this.#distrusted.add(gateway);
  }

  /** Whether a gateway's counts are no longer taken. */
  distrusts(gateway: string): boolean {
    return this.#distrusted.has(gateway);
  }
}
