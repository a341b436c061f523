import { describe, expect, it } from "vitest";
import { LocalnetConfig } from "../src/localnet-config.js";

const issue = (input: unknown) => {
  const parsed = LocalnetConfig.safeParse(input);
  return parsed.success ? undefined : parsed.error.issues[0]?.message;
};

describe("the local network's ports", () => {
  it("takes three node ports and a port per server", () => {
    expect(
      issue({ ports: { gateway: 28080, evaluator: 28546, nodes: [28551, 28552, 28553] } }),
    ).toBeUndefined();
    // Port 0 (any free port) may repeat.
    expect(issue({ ports: { gateway: 0, evaluator: 0, nodes: [0, 0, 0] } })).toBeUndefined();
  });

  it("refuses one port for two servers, naming both", () => {
    expect(issue({ ports: { nodes: [28651, 28651, 28653] } })).toBe(
      "port 28651 is set for both nodes[0] and nodes[1]; give each server its own port",
    );
    expect(issue({ ports: { gateway: 8551 } })).toBe(
      "port 8551 is set for both gateway and nodes[0]; give each server its own port",
    );
  });

  it("says what the node ports look like when they are not a list of three", () => {
    expect(issue({ ports: { nodes: "28651,28652,28653" } })).toBe(
      "a JSON list of three ports, like [8551,8552,8553]",
    );
    expect(issue({ ports: { nodes: [28651, 28652] } })).toBe(
      "a JSON list of three ports, like [8551,8552,8553]",
    );
  });
});
