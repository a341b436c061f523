/** The chat requests the benchmark sends: the same body on every path but for the model name. */
import type { System } from "./load-client.js";
import { modelOf } from "./systems.js";

export interface BodyOptions {
  readonly stream: boolean;
  readonly maxTokens: number;
  /** Extra text in the prompt; `delay=<ms>` sets the mock's delay between tokens for this request. */
  readonly note?: string;
}

export function chatBody(system: System, options: BodyOptions): string {
  return JSON.stringify({
    model: modelOf(system),
    messages: [{ role: "user", content: `Say hello to the benchmark ${options.note ?? ""}`.trim() }],
    max_tokens: options.maxTokens,
    ...(options.stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
}
