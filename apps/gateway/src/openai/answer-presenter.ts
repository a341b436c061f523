import type { ErrorCode } from "@pocket-ai/protocol";

/**
 * How a relay's answer is written when the client called another API than the one relayed
 * (`/v1/responses` rides the chat path): the node's verified chat payload or chunks go in, the
 * client's API shape comes out. Billing, ledger and signatures never see the difference: they
 * work on the chat relay. One presenter serves one request (a stream's presenter keeps state).
 */
export interface AnswerPresenter {
  /** The whole body of a non-streamed answer. */
  unary(payload: Record<string, unknown>): unknown;
  /** Server-sent events written right after a stream's headers. */
  open(): string;
  /** Events for one verified chat chunk (the usage chunk included); `""` for none. */
  chunk(data: Record<string, unknown>): string;
  /** Events that end a whole stream. */
  close(): string;
  /** Events that end a stream which failed after its first byte. */
  fail(code: ErrorCode, detail: string | undefined, requestId: string | undefined): string;
}
