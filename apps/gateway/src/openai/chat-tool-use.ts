import { fail, ok, type Result } from "@pocket-ai/protocol";

/**
 * The checks that a chat request's tools add up, as OpenAI's API makes them: a node is a stranger
 * paid per relay, and an engine handed a choice of a tool it was not given, a result of a call
 * nobody made, or a call left without its result, fails or makes something up. Each is refused with `400 INVALID_REQUEST` naming the
 * field, before anything is reserved or relayed.
 */

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The function names a request's `tools` define. */
function toolNames(tools: unknown): Set<string> {
  const names = new Set<string>();
  if (!Array.isArray(tools)) return names;
  for (const tool of tools) {
    if (isRecord(tool) && isRecord(tool.function) && typeof tool.function.name === "string")
      names.add(tool.function.name);
  }
  return names;
}

/** A `tool_choice` outside OpenAI's shapes, as a refusal; `undefined` for one of them. */
function choiceShape(choice: unknown): Result<never> | undefined {
  if (
    choice === undefined ||
    choice === null ||
    choice === "none" ||
    choice === "auto" ||
    choice === "required"
  )
    return undefined;
  if (!isRecord(choice))
    return fail(
      "INVALID_REQUEST",
      'tool_choice takes "none", "auto", "required" or { "type": "function", "function": { "name": … } }',
      "tool_choice",
    );
  if (choice.type !== "function")
    return fail(
      "UNSUPPORTED_PARAMETER",
      'only a function tool_choice is offered: { "type": "function", "function": { "name": … } }',
      "tool_choice.type",
    );
  if (!isRecord(choice.function) || typeof choice.function.name !== "string")
    return fail(
      "INVALID_REQUEST",
      'a function tool_choice names its function: { "type": "function", "function": { "name": … } }',
      "tool_choice.function",
    );
  return undefined;
}

/**
 * `tool_choice` against `tools`: `"required"` or a named function needs tools, and the named one
 * among them (`param` `tool_choice.function.name`). `"auto"` and `"none"` without tools ask for
 * nothing and are removed, as an empty `tools` is (engines such as vLLM refuse either, and the
 * node would be blamed). Returns the body to relay.
 */
export function checkToolChoice(body: Record<string, unknown>): Result<Record<string, unknown>> {
  const choice = body.tool_choice;
  const shape = choiceShape(choice);
  if (shape !== undefined) return shape;
  const hasTools = Array.isArray(body.tools) && body.tools.length > 0;
  if (!hasTools) {
    if (body.parallel_tool_calls !== undefined && body.parallel_tool_calls !== null)
      return fail(
        "INVALID_REQUEST",
        "parallel_tool_calls only applies to a request that defines tools: send the functions in tools, or leave parallel_tool_calls out",
        "parallel_tool_calls",
      );
    if (choice === "required" || isRecord(choice))
      return fail(
        "INVALID_REQUEST",
        "tool_choice asks for a tool call but the request defines no tools: send the functions in tools, or leave tool_choice out",
        "tool_choice",
      );
    if (body.tools === undefined && choice === undefined) return ok(body);
    const { tools: _tools, tool_choice: _choice, ...rest } = body;
    return ok(rest);
  }
  if (
    isRecord(choice) &&
    isRecord(choice.function) &&
    !toolNames(body.tools).has(String(choice.function.name))
  )
    return fail(
      "INVALID_REQUEST",
      "tool_choice names a function that is not in tools: name one of the functions the request defines",
      "tool_choice.function.name",
    );
  return ok(body);
}

/** The first call of the latest assistant turn that no `tool` message has answered, as a refusal. */
function unanswered(pending: Map<string, string>): Result<never> | undefined {
  for (const param of pending.values())
    return fail(
      "INVALID_REQUEST",
      "this tool call has no tool message: send a tool message with its id as tool_call_id right after the assistant message, one for each of its tool_calls, before any other message",
      param,
    );
  return undefined;
}

/**
 * Tool results against the calls before them: each `tool` message answers a call an earlier
 * assistant turn made (its `tool_call_id` is that call's `id`), once; an assistant turn's
 * `tool_calls`, when sent, holds at least one call, each with its own id; and every call of a turn
 * is answered by the `tool` messages right after it, before any other message (the history ends
 * with them at the latest). A later turn may make a call under an id used before: results then
 * answer the latest call of that id.
 */
export function checkToolResults(messages: unknown): Result<void> {
  if (!Array.isArray(messages)) return ok(undefined);
  /** Each call id made so far, and whether its latest call was answered. */
  const answered = new Map<string, boolean>();
  /** The latest turn's calls not answered yet: id to the call's `param`. */
  const pending = new Map<string, string>();
  for (const [i, message] of messages.entries()) {
    if (!isRecord(message)) continue;
    if (message.role !== "tool") {
      const open = unanswered(pending);
      if (open !== undefined) return open;
    }
    if (message.role === "assistant" && Array.isArray(message.tool_calls)) {
      // OpenAI's API refuses an empty list; engines differ on it (some render an empty call turn).
      if (message.tool_calls.length === 0)
        return fail(
          "INVALID_REQUEST",
          "an assistant message's tool_calls must hold at least one call: send the calls the turn made, or leave tool_calls out",
          `messages[${i}].tool_calls`,
        );
      const turn = new Set<string>();
      for (const [j, call] of message.tool_calls.entries()) {
        if (!isRecord(call) || typeof call.id !== "string") continue;
        if (turn.has(call.id))
          return fail(
            "INVALID_REQUEST",
            "two tool calls of this assistant turn have the same id: send each call with the id it was made with (ids are unique within a turn)",
            `messages[${i}].tool_calls[${j}].id`,
          );
        turn.add(call.id);
        answered.set(call.id, false);
        pending.set(call.id, `messages[${i}].tool_calls[${j}].id`);
      }
    } else if (message.role === "tool" && typeof message.tool_call_id === "string") {
      const done = answered.get(message.tool_call_id);
      if (done === undefined)
        return fail(
          "INVALID_REQUEST",
          "this tool message answers no tool call: a tool message must follow the assistant message whose tool_calls has an id equal to its tool_call_id",
          `messages[${i}].tool_call_id`,
        );
      if (done)
        return fail(
          "INVALID_REQUEST",
          "this tool call is already answered by an earlier tool message: send one tool message per call",
          `messages[${i}].tool_call_id`,
        );
      answered.set(message.tool_call_id, true);
      pending.delete(message.tool_call_id);
    }
  }
  return unanswered(pending) ?? ok(undefined);
}
