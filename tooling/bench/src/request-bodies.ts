/** The chat requests the benchmark sends: the same body on every path but for the model name. */
import type { System } from "./load-client.js";
import { modelOf } from "./systems.js";

export interface BodyOptions {
  readonly stream: boolean;
  readonly maxTokens: number;
  /** Extra text in the prompt; `delay=<ms>` sets the mock's delay between tokens for this request. */
  readonly note?: string;
  /** The whole prompt instead of the default one (`note` is then ignored). */
  readonly content?: string;
  /** Another model name than the path's default (a tier of the Pocket AI path's service). */
  readonly model?: string;
}

export function chatBody(system: System, options: BodyOptions): string {
  return JSON.stringify({
    model: options.model ?? modelOf(system),
    messages: [
      { role: "user", content: options.content ?? `Say hello to the benchmark ${options.note ?? ""}`.trim() },
    ],
    max_tokens: options.maxTokens,
    ...(options.stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
}
