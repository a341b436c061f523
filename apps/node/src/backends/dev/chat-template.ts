import { z } from "zod";

export const ChatMessage = z.object({
  role: z.enum(["system", "developer", "user", "assistant"]),
  content: z.string(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

const LABELS: Record<ChatMessage["role"], string> = {
  system: "System",
  // OpenAI's newer name for the system role; the model knows one label for both.
  developer: "System",
  user: "User",
  assistant: "Assistant",
};

/**
 * The development backend's chat template: one line per message, a role label, a colon and a
 * space, then the content; the prompt ends with `Assistant:` for the model to continue.
 *
 *     System: You are a helpful assistant.
 *     User: What is the capital of France?
 *     Assistant: The capital of France is Paris.
 *     User: And of Italy?
 *     Assistant:
 *
 * The corpus holds dialogues in this shape, so the model answers in it too.
 */
export function formatChatPrompt(messages: readonly ChatMessage[]): string {
  const lines = messages.map((m) => `${LABELS[m.role]}: ${m.content}`);
  lines.push("Assistant:");
  return lines.join("\n");
}

/** A reply ends where the model starts another turn. */
export const CHAT_STOP_SEQUENCES: readonly string[] = ["\nUser:", "\nSystem:", "\nAssistant:"];
