import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair } from "@pocket-ai/protocol";
import { loadConfig } from "@pocket-ai/runtime";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { GatewayLink, NodeConfig } from "./node-config.js";

const service = "services:\n  - serviceId: llama-2-13b\n    backends:\n      - kind: dev\n";

const load = (yaml: string) => {
  const file = join(mkdtempSync(join(tmpdir(), "pocket-node-config-")), "node.yaml");
  writeFileSync(file, yaml);
  return loadConfig({ schema: NodeConfig, file, envPrefix: "POCKET_NODE", env: {} });
};

describe("node config", () => {
  it("keeps time-based sessions, ten minutes by default", async () => {
    const config = await Effect.runPromise(load(service));
    expect(config.session).toEqual({ mode: "time", genesisMs: 0, sessionLengthMs: 600_000, graceMs: 60_000 });
  });

  it("refuses height-based sessions, which it cannot keep without a chain, and says what to use", async () => {
    const error = await Effect.runPromise(
      Effect.flip(load(`${service}session:\n  mode: height\n  blocksPerSession: 4\n  graceBlocks: 1\n`)),
    );
    expect(error.problems).toEqual([expect.stringMatching(/^session: height-based sessions .*mode: "time"/)]);
    expect(error.message).toContain("node.yaml");
  });

  it("refuses at start what gateways would refuse in its announcement, naming the field", async () => {
    const declared = (model: string) =>
      `services:\n  - serviceId: llama-2-13b\n    model: { declared: ${JSON.stringify(model)} }\n    backends:\n      - kind: dev\n`;
    const refused: [yaml: string, field: string][] = [
      [`${service}operator: "Acme\\u202eoC"\n`, "operator"],
      [`${service}operator: "${"x".repeat(65)}"\n`, "operator"],
      [`${service}hardware: { gpu: "RTX\\u001b[2J" }\n`, "hardware.gpu"],
      [`${service}hardware: { gpu: "${"x".repeat(129)}" }\n`, "hardware.gpu"],
      [`${service}hardware: { vramGb: 1000000 }\n`, "hardware.vramGb"],
      [declared("llama\n2"), "services.0.model.declared"],
      [declared("x".repeat(201)), "services.0.model.declared"],
    ];
    for (const [yaml, field] of refused) {
      const error = await Effect.runPromise(Effect.flip(load(yaml)));
      expect(error.problems).toEqual([
        expect.stringMatching(new RegExp(`^${field.replaceAll(".", "\\.")}: `)),
      ]);
    }
    const config = await Effect.runPromise(
      load(`${service}operator: "Acme <GPU> Co."\nhardware: { gpu: "RTX 4090" }\n`),
    );
    expect(config.operator).toBe("Acme <GPU> Co.");
    expect(config.hardware).toEqual({ gpu: "RTX 4090", vramGb: 0, cpuOnly: false });
  });

  it("refuses at start a publicUrl gateways could not be announced, naming the field", async () => {
    const refused = [
      "https://node.example?x=1",
      "https://node.example/#top",
      "https://operator:secret@node.example",
      " https://node.example",
      "https://node.example/a b",
      "ftp://node.example",
      "node.example:8545",
      `https://node.example/${"p".repeat(2048)}`,
      "https://node.example/\u202e",
    ];
    for (const publicUrl of refused) {
      const error = await Effect.runPromise(
        Effect.flip(load(`${service}publicUrl: ${JSON.stringify(publicUrl)}\n`)),
      );
      expect(error.code).toBe("INVALID_CONFIG");
      expect(error.problems).toEqual([
        expect.stringMatching(/^publicUrl: .*: set it to the base URL gateways reach this node at/),
      ]);
    }
    const taken = async (publicUrl: string) =>
      (await Effect.runPromise(load(`${service}publicUrl: ${JSON.stringify(publicUrl)}\n`))).publicUrl;
    expect(await taken("https://node.example.org:8545")).toBe("https://node.example.org:8545");
    expect(await taken("http://10.0.0.7:8545/pocket")).toBe("http://10.0.0.7:8545/pocket");
    // Announced as <publicUrl>/trpc: a trailing slash would make it //trpc, which no route serves.
    expect(await taken("https://node.example/")).toBe("https://node.example");
  });

  it("takes a gateway's URL as the gateway prints it, or with its /trpc path", () => {
    const address = generateKeyPair().address;
    const url = (u: string) => GatewayLink.safeParse({ url: u, address }).data?.url;
    expect(url("http://127.0.0.1:8080")).toBe("http://127.0.0.1:8080/trpc");
    expect(url("http://127.0.0.1:8080/")).toBe("http://127.0.0.1:8080/trpc");
    expect(url("http://127.0.0.1:8080/trpc")).toBe("http://127.0.0.1:8080/trpc");
    expect(url("https://gw.example.org/pocket/trpc/")).toBe("https://gw.example.org/pocket/trpc");
    expect(url("https://gw.example.org/pocket")).toBe("https://gw.example.org/pocket/trpc");
  });
});

describe("the shipped example", () => {
  it("node.example.yaml is a valid config as shipped (its placeholders included)", () => {
    const file = new URL("../../node.example.yaml", import.meta.url).pathname;
    const config = Effect.runSync(
      loadConfig({ schema: NodeConfig, file, envPrefix: "POCKET_NODE", env: {} }),
    );
    expect(config.gateways).toHaveLength(1);
    expect(config.services.length).toBeGreaterThan(0);
  });
});
