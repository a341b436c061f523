import { DEFAULT_CATALOG } from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import { DROPPED } from "./field-policy.js";
import { prepareRelay } from "./prepare-request.js";

const chat = (extra: Record<string, unknown>, message: Record<string, unknown> = {}) =>
  prepareRelay(DEFAULT_CATALOG, "chat.completions", {
    model: "llama-2-13b",
    messages: [{ role: "user", content: "hi", ...message }],
    ...extra,
  });

describe("the field policy", () => {
  it("takes an assistant turn's refusal part as text; refuses one with other fields, a non-string, or in a user turn", () => {
    const turn = (part: Record<string, unknown>, role = "assistant") =>
      prepareRelay(DEFAULT_CATALOG, "chat.completions", {
        model: "llama-2-13b",
        messages: [
          { role: "user", content: "hi" },
          { role, content: [{ type: "text", text: "Well." }, part] },
        ],
      });
    const ok = turn({ type: "refusal", refusal: "No." });
    expect(ok.ok && (ok.value.body.messages as { content: unknown }[])[1]?.content).toEqual([
      { type: "text", text: "Well." },
      { type: "text", text: "No." },
    ]);
    const refused = (r: ReturnType<typeof turn>) => (r.ok ? undefined : [r.error.code, r.error.param]);
    expect(refused(turn({ type: "refusal", refusal: "No.", extra: 1 }))).toEqual([
      "UNKNOWN_PARAMETER",
      "messages[1].content[1].extra",
    ]);
    expect(refused(turn({ type: "refusal", refusal: 7 }))).toEqual([
      "INVALID_REQUEST",
      "messages[1].content[1].refusal",
    ]);
    expect(refused(turn({ type: "refusal", refusal: "No." }, "user"))).toEqual([
      "UNKNOWN_PARAMETER",
      "messages[1].content[1].refusal",
    ]);
  });

  it("refuses engine options with UNKNOWN_PARAMETER, naming the field and the OpenAI field to use", () => {
    for (const field of ["n_predict", "num_predict", "max_new_tokens", "min_tokens", "repetition_penalty"]) {
      const r = chat({ [field]: 10 });
      expect(r.ok, field).toBe(false);
      if (r.ok) continue;
      expect(r.error).toMatchObject({ code: "UNKNOWN_PARAMETER", param: field });
      expect(r.error.detail).toMatch(/engine option/);
    }
    const completion = prepareRelay(DEFAULT_CATALOG, "completions", {
      model: "llama-2-13b",
      prompt: "x",
      options: { num_predict: 5000 },
    });
    expect(completion.ok ? undefined : completion.error).toMatchObject({
      code: "UNKNOWN_PARAMETER",
      param: "options",
    });
  });

  it("refuses unknown fields inside messages, content parts, stream_options, tools and response_format", () => {
    const cases: [Record<string, unknown>, Record<string, unknown>, string][] = [
      [{}, { n_predict: 5 }, "messages[0].n_predict"],
      [{}, { content: [{ type: "text", text: "a", extra: 1 }] }, "messages[0].content[0].extra"],
      [
        { stream: true, stream_options: { include_usage: true, chunk_size: 1 } },
        {},
        "stream_options.chunk_size",
      ],
      [
        { tools: [{ type: "function", function: { name: "f", grammar: "x" } }] },
        {},
        "tools[0].function.grammar",
      ],
      [{ response_format: { type: "json_object", guided_json: {} } }, {}, "response_format.guided_json"],
      [{ ["__proto__"]: { max_tokens: 1 } }, {}, "__proto__"],
    ];
    for (const [extra, message, param] of cases) {
      const r = chat(extra, message);
      expect(r.ok ? undefined : r.error, param).toMatchObject({ code: "UNKNOWN_PARAMETER", param });
    }
  });

  it("drops OpenAI fields that change nothing a node does, and keeps free-form tool schemas", () => {
    const r = chat({
      store: true,
      metadata: { team: "a" },
      service_tier: "auto",
      // Who the end user is, and OpenAI's prompt-cache hints: no business of a stranger node's.
      user: "end-user-7",
      safety_identifier: "hashed-user",
      prompt_cache_key: "session-42",
      prompt_cache_retention: "24h",
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object", anything: [1] } } }],
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    for (const field of DROPPED) expect(r.value.body).not.toHaveProperty(field);
    expect(r.value.body.tools).toEqual([
      { type: "function", function: { name: "f", parameters: { type: "object", anything: [1] } } },
    ]);
  });

  it("refuses OpenAI fields no service offers with UNSUPPORTED_PARAMETER, and drops the values that ask for nothing", () => {
    const refused: [Record<string, unknown>, Record<string, unknown>, string][] = [
      [{ reasoning_effort: "low" }, {}, "reasoning_effort"],
      [{ modalities: ["text", "audio"] }, {}, "modalities"],
      [{ audio: { voice: "alloy", format: "wav" } }, {}, "audio"],
      [{ verbosity: "low" }, {}, "verbosity"],
      [{ web_search_options: {} }, {}, "web_search_options"],
      [{ functions: [{ name: "f" }] }, {}, "functions"],
      [
        {},
        { content: [{ type: "image_url", image_url: { url: "https://x/y.png" } }] },
        "messages[0].content[0].type",
      ],
      [
        {},
        { content: [{ type: "input_audio", input_audio: { data: "", format: "wav" } }] },
        "messages[0].content[0].type",
      ],
      [{}, { content: [{ type: "file", file: { file_id: "f" } }] }, "messages[0].content[0].type"],
    ];
    for (const [extra, message, param] of refused) {
      const r = chat(extra, message);
      expect(r.ok ? undefined : r.error, param).toMatchObject({ code: "UNSUPPORTED_PARAMETER", param });
      expect(r.ok ? "" : r.error.detail, param).toContain(`\`${param}\``);
    }
    const assistantAudio = prepareRelay(DEFAULT_CATALOG, "chat.completions", {
      model: "llama-2-13b",
      messages: [
        { role: "user", content: "hi" },
        { role: "assistant", content: null, audio: { id: "audio_1" } },
      ],
    });
    expect(assistantAudio.ok ? undefined : assistantAudio.error).toMatchObject({
      code: "UNSUPPORTED_PARAMETER",
      param: "messages[1].audio",
    });

    const neutral = {
      modalities: ["text"],
      audio: null,
      reasoning_effort: null,
      prediction: { type: "content", content: "the answer I expect" },
    };
    const r = chat(neutral, { audio: null });
    expect(r.ok ? r.value.body : r.error).not.toHaveProperty("modalities");
    if (!r.ok) return;
    for (const field of Object.keys(neutral)) expect(r.value.body).not.toHaveProperty(field);
    expect(r.value.body.messages).toEqual([{ role: "user", content: "hi" }]);
  });

  it("images: OpenAI's default quality, background, format and size are taken; other values are refused by name", () => {
    const image = (extra: Record<string, unknown>) =>
      prepareRelay(DEFAULT_CATALOG, "images.generations", {
        model: "stable-diffusion",
        prompt: "a cat",
        ...extra,
      });
    const taken = image({
      quality: "standard",
      background: "auto",
      output_format: "png",
      stream: false,
      partial_images: 0,
      style: null,
      size: "auto",
    });
    expect(taken.ok).toBe(true);
    if (taken.ok) {
      expect(taken.value.body).not.toHaveProperty("quality");
      expect(taken.value.body).not.toHaveProperty("background");
      expect(taken.value.image).toMatchObject({ width: 512, height: 512 });
    }
    expect(image({ quality: "auto" }).ok).toBe(true);
    for (const [field, value] of [
      ["quality", "hd"],
      ["style", "vivid"],
      ["background", "transparent"],
      ["output_format", "webp"],
      ["output_compression", 80],
      ["moderation", "low"],
      ["stream", true],
    ] as const) {
      const r = image({ [field]: value });
      expect(r.ok ? undefined : r.error, field).toMatchObject({
        code: "UNSUPPORTED_PARAMETER",
        param: field,
      });
    }
  });
});
