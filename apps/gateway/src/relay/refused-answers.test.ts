import { MetricsRegistry } from "@pocket-ai/runtime";
import { describe, expect, it } from "vitest";
import { InvalidNodeResponse } from "./attempt-errors.js";
import { RefusedAnswerLog } from "./refused-answers.js";

const refusedBy = (node: string, reason: "SCHEMA" | "BAD_SIGNATURE") => ({
  failure: new InvalidNodeResponse({ nodeAddress: node, reason, detail: `${reason} detail` }),
  serviceId: "llama-2-13b",
  tierId: "standard",
  requestId: "req_1",
  cut: false,
});

function setup() {
  const registry = new MetricsRegistry();
  const lines: { message: string; fields: Record<string, unknown> }[] = [];
  const clock = { now: 1_000 };
  const log = new RefusedAnswerLog({
    warn: (message, fields) => lines.push({ message, fields }),
    counter: registry.counter("pocket_gateway_node_refused_answers_total", "Refused answers."),
    everyMs: 60_000,
    now: () => clock.now,
  });
  return { registry, lines, clock, log };
}

describe("the log of refused answers", () => {
  it("warns once per node and reason in a window, counts every refusal, and says how many it held back", () => {
    const { registry, lines, clock, log } = setup();
    for (let i = 0; i < 5; i++) log.note(refusedBy("pokt1a", "SCHEMA"));
    log.note(refusedBy("pokt1a", "BAD_SIGNATURE"));
    log.note(refusedBy("pokt1b", "SCHEMA"));
    expect(lines.map((l) => [l.fields.node, l.fields.reason])).toEqual([
      ["pokt1a", "SCHEMA"],
      ["pokt1a", "BAD_SIGNATURE"],
      ["pokt1b", "SCHEMA"],
    ]);
    expect(lines[0]).toEqual({
      message: "node answer refused: it failed the gateway's checks",
      fields: {
        node: "pokt1a",
        service: "llama-2-13b",
        tier: "standard",
        reason: "SCHEMA",
        detail: "SCHEMA detail",
        requestId: "req_1",
      },
    });
    const text = registry.render();
    expect(text).toContain('pocket_gateway_node_refused_answers_total{node="pokt1a",reason="SCHEMA"} 5');
    expect(text).toContain('pocket_gateway_node_refused_answers_total{node="pokt1b",reason="SCHEMA"} 1');

    clock.now += 60_000;
    log.note({ ...refusedBy("pokt1a", "SCHEMA"), cut: true });
    expect(lines).toHaveLength(4);
    expect(lines[3]?.message).toBe("node stream cut: a chunk failed the gateway's checks");
    expect(lines[3]?.fields.heldBack).toBe(4);
  });
});
