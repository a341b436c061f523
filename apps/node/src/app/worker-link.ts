import { Context } from "effect";
import type { SharedAdmission } from "../db/relay-store.js";
import type { MembershipListener } from "../relay/session-membership.js";

/**
 * The messages between a node's primary process and its workers (`workers` > 1, see
 * `node-cluster.ts`), over Node's IPC channel. Only request hashes, gateway addresses and the
 * gateways' candidate lists: never a prompt or an answer.
 */
export type ToWorker =
  | { readonly pocket: "config"; readonly index: number; readonly config: unknown }
  | { readonly pocket: "admitted"; readonly id: number; readonly ok: boolean }
  | {
      readonly pocket: "membership";
      /** The gateway whose registration answer this is: its lists judge its relays alone. */
      readonly gateway: string;
      readonly registry: Record<string, readonly { address: string }[]>;
      readonly nodesPerSession: number;
    }
  | { readonly pocket: "distrust"; readonly gateway: string }
  /** Render this worker's metrics (for a scrape another worker took). */
  | { readonly pocket: "render"; readonly id: number }
  /** Every process's metrics, for the scrape this worker asked about. */
  | { readonly pocket: "scraped"; readonly id: number; readonly parts: readonly ScrapedPart[] };

/** One process's Prometheus exposition, named by its worker number (or `primary`). */
export interface ScrapedPart {
  readonly process: string;
  readonly text: string;
}

export type ToPrimary =
  | { readonly pocket: "hello" }
  | { readonly pocket: "admit"; readonly id: number; readonly hash: string; readonly expiresAt?: number }
  | { readonly pocket: "release"; readonly hashes: readonly string[] }
  | { readonly pocket: "distrust"; readonly gateway: string }
  | { readonly pocket: "scrape"; readonly id: number }
  | { readonly pocket: "rendered"; readonly id: number; readonly text: string };

/** What a process sends on: `process` in a worker (the IPC channel to its primary). */
export interface IpcChannel {
  /** `false` only says the channel is backed up: the message is still delivered. */
  send?(
    message: unknown,
    handle?: undefined,
    options?: undefined,
    callback?: (error: Error | null) => void,
  ): boolean;
  on(event: "message", listener: (message: unknown) => void): unknown;
  once(event: "disconnect", listener: () => void): unknown;
}

/** A send whose failure (the other side just died: EPIPE) is the disconnect's to handle, not a crash. */
export const ignoreSendError = (): void => undefined;

/** A message of the node's own protocol (its `pocket` field names it); anything else is ignored. */
export const nodeMessage = (message: unknown): { readonly pocket: string } | undefined =>
  typeof message === "object" &&
  message !== null &&
  typeof (message as { pocket?: unknown }).pocket === "string"
    ? (message as { pocket: string })
    : undefined;

/**
 * A worker's line to its primary: admission shared with the other workers (a request hash is in
 * flight in one process at most), the gateways' candidate lists the primary learns at each
 * registration, and the gateways one worker caught miscounting (every worker distrusts them).
 */
export class PrimaryLink implements SharedAdmission {
  #next = 0;
  readonly #waiting = new Map<number, { resolve: (ok: boolean) => void; reject: (e: Error) => void }>();
  #releases: string[] = [];
  #gone = false;
  readonly #membership: MembershipListener[] = [];
  /** Every gateway's lists so far (its latest message), for a listener that subscribes later. */
  readonly #memberships = new Map<string, Extract<ToWorker, { pocket: "membership" }>>();
  readonly #distrust: ((gateway: string) => void)[] = [];
  /** Gateways the other workers caught, kept for a listener that subscribes later. */
  readonly #distrusted = new Set<string>();
  readonly #scrapes = new Map<
    number,
    { resolve: (parts: readonly ScrapedPart[]) => void; reject: (e: Error) => void }
  >();
  #render: (() => string) | undefined;

  constructor(
    /** This worker's number, 1 … workers (a replacement keeps the number of the worker it replaces). */
    readonly index: number,
    private readonly channel: IpcChannel,
  ) {
    channel.on("message", (raw) => {
      const message = nodeMessage(raw) as ToWorker | undefined;
      if (message === undefined) return;
      if (message.pocket === "admitted") {
        const waiting = this.#waiting.get(message.id);
        this.#waiting.delete(message.id);
        waiting?.resolve(message.ok === true);
      } else if (message.pocket === "membership" && typeof message.gateway === "string") {
        this.#memberships.set(message.gateway, message);
        for (const listener of this.#membership)
          listener(message.gateway, message.registry, message.nodesPerSession);
      } else if (message.pocket === "distrust" && typeof message.gateway === "string") {
        this.#distrusted.add(message.gateway);
        for (const listener of this.#distrust) listener(message.gateway);
      } else if (message.pocket === "render") {
        this.#send({ pocket: "rendered", id: message.id, text: this.#render?.() ?? "" });
      } else if (message.pocket === "scraped") {
        const waiting = this.#scrapes.get(message.id);
        this.#scrapes.delete(message.id);
        waiting?.resolve(Array.isArray(message.parts) ? message.parts : []);
      }
    });
    channel.once("disconnect", () => {
      this.#gone = true;
      const error = new Error("the node's primary process is gone: this worker is stopping");
      for (const waiting of this.#waiting.values()) waiting.reject(error);
      this.#waiting.clear();
      for (const waiting of this.#scrapes.values()) waiting.reject(error);
      this.#scrapes.clear();
    });
  }

  /** Sends unless the primary is gone (a backed-up channel still delivers: Node queues the message). */
  #send(message: ToPrimary): boolean {
    if (this.#gone || this.channel.send === undefined) return false;
    this.channel.send(message, undefined, undefined, ignoreSendError);
    return true;
  }

  admit(requestHash: string, expiresAt: number | undefined): Promise<boolean> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      const message: ToPrimary =
        expiresAt === undefined
          ? { pocket: "admit", id, hash: requestHash }
          : { pocket: "admit", id, hash: requestHash, expiresAt };
      if (!this.#send(message)) {
        this.#waiting.delete(id);
        reject(new Error("the node's primary process is gone: this worker is stopping"));
      }
    });
  }

  /** Released hashes go in one message per turn of the event loop. */
  release(requestHashes: readonly string[]): void {
    if (this.#releases.length === 0) setImmediate(this.#flush);
    for (const hash of requestHashes) this.#releases.push(hash);
  }

  readonly #flush = (): void => {
    const hashes = this.#releases;
    this.#releases = [];
    if (hashes.length > 0) this.#send({ pocket: "release", hashes });
  };

  /** Tells the other workers, through the primary, that a gateway's counts are no longer taken. */
  distrusted(gateway: string): void {
    this.#send({ pocket: "distrust", gateway });
  }

  /** Renders this worker's metrics when a scrape another worker took asks for them. */
  onRender(render: () => string): void {
    this.#render = render;
  }

  /** Every process's metrics (this worker's among them), through the primary. */
  scrape(): Promise<readonly ScrapedPart[]> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#scrapes.set(id, { resolve, reject });
      if (!this.#send({ pocket: "scrape", id })) {
        this.#scrapes.delete(id);
        reject(new Error("the node's primary process is gone: this worker is stopping"));
      }
    });
  }

  /** Hears each gateway another worker caught (those caught already, at once). */
  onDistrust(listener: (gateway: string) => void): void {
    this.#distrust.push(listener);
    for (const gateway of this.#distrusted) listener(gateway);
  }

  /** Hears the candidate lists the primary passes on (each gateway's latest at once, if any came already). */
  onMembership(listener: MembershipListener): void {
    this.#membership.push(listener);
    for (const m of this.#memberships.values()) listener(m.gateway, m.registry, m.nodesPerSession);
  }
}

/** Present in a worker process of a node that runs several (`workers` > 1). */
export class WorkerLink extends Context.Tag("node/WorkerLink")<WorkerLink, PrimaryLink>() {}
