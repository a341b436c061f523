import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateKeyPair, signDigest } from "../crypto/index.js";
import { bytesToHex, canonicalHash, canonicalJson } from "../encoding/index.js";
import {
  createNodeAnnouncement,
  NODE_ANNOUNCEMENT_MAX_AGE_MS,
  NODE_ANNOUNCEMENT_MAX_SKEW_MS,
  type NodeAnnouncement,
  type NodeAnnouncementFields,
  verifyNodeAnnouncement,
} from "./node-announcement.js";
import { MAX_UNKNOWN_CAPABILITY_FLAGS } from "./node-service-offer.js";

const node = generateKeyPair();
const other = generateKeyPair();
const now = 1_700_000_000_000;

const fields: NodeAnnouncementFields = {
  endpoint: "https://node-7.example.org:8443/trpc",
  operator: "Acme GPU Co.",
  services: [
    {
      serviceId: "llama-2-13b",
      tiers: ["standard", "batch"],
      model: { declared: "meta-llama/Llama-2-13b-chat-hf", family: "llama-2", quantization: "none" },
      capabilities: {
        completions: true,
        chat: true,
        streaming: true,
        promptLogprobs: true,
        logprobs: true,
        seed: true,
        tokenize: true,
        images: null,
      },
      tokenizer: { kind: "backend", exact: true },
    },
    {
      serviceId: "stable-diffusion",
      tiers: ["standard"],
      model: { declared: "sd-v1-5", quantization: "fp16" },
      capabilities: {
        completions: false,
        chat: false,
        streaming: false,
        promptLogprobs: false,
        logprobs: false,
        seed: true,
        tokenize: false,
        images: { generate: true, img2img: true, inpaint: true, outpaint: false },
      },
      tokenizer: { kind: "estimate", exact: false },
    },
  ],
  hardware: { gpu: "NVIDIA RTX 4090", vramGb: 24, cpuOnly: false },
  software: { name: "pocket-node", version: "0.1.0" },
  issuedAt: now - 1_000,
};

const announcement = createNodeAnnouncement(fields, node);
type Mutable = Record<string, unknown> & NodeAnnouncement;
const copy = (): Mutable => JSON.parse(JSON.stringify(announcement));
const verify = (input: unknown) => verifyNodeAnnouncement(input, { now });

describe("createNodeAnnouncement", () => {
  it("fills version and node identity and signs what verifies", () => {
    expect(announcement.v).toBe(1);
    expect(announcement.node).toEqual({ address: node.address, publicKey: node.publicKeyHex });
    const checked = verify(JSON.parse(JSON.stringify(announcement)));
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(checked.value.announcement).toEqual(announcement);
    const { signature: _s, ...unsigned } = announcement;
    expect(checked.value.digest).toBe(bytesToHex(canonicalHash(unsigned)));
  });

  it("signs the same way from a raw private key, and leaves out a missing operator", () => {
    expect(createNodeAnnouncement(fields, node.privateKey)).toEqual(announcement);
    const { operator: _o, ...anonymous } = fields;
    const bare = createNodeAnnouncement(anonymous, node);
    expect("operator" in bare).toBe(false);
    expect(verify(bare).ok).toBe(true);
  });

  it.each([
    ["endpoint", { endpoint: "ftp://node.example" }],
    ["endpoint", { endpoint: "https://user:pw@node.example" }],
    ["endpoint", { endpoint: "https://node.example/?x=1" }],
    ["operator", { operator: "x".repeat(65) }],
    ["operator", { operator: "" }],
    ["services", { services: [] }],
    ["services", { services: [fields.services[0]!, fields.services[0]!] }],
    ["services.0.tiers", { services: [{ ...fields.services[0]!, tiers: [] }] }],
    ["services.0.tiers", { services: [{ ...fields.services[0]!, tiers: ["batch", "batch"] }] }],
    ["services.0.serviceId", { services: [{ ...fields.services[0]!, serviceId: "Llama 2" }] }],
    ["hardware.vramGb", { hardware: { gpu: "", vramGb: -1, cpuOnly: true } }],
    ["issuedAt", { issuedAt: 1.5 }],
  ])("throws a TypeError naming %s when the node's own fields are wrong", (path, change) => {
    expect(() => createNodeAnnouncement({ ...fields, ...change } as NodeAnnouncementFields, node)).toThrow(
      new RegExp(path.replaceAll(".", "\\.")),
    );
  });
});

describe("verifyNodeAnnouncement", () => {
  type Tamper = [name: string, change: (a: Mutable) => void, code: string];
  const tampers: Tamper[] = [
    [
      "endpoint",
      (a) => {
        a.endpoint = "https://evil.example/trpc";
      },
      "INVALID_SIGNATURE",
    ],
    [
      "operator",
      (a) => {
        a.operator = "Someone Else";
      },
      "INVALID_SIGNATURE",
    ],
    ["operator removed", (a) => void delete a.operator, "INVALID_SIGNATURE"],
    ["a tier added", (a) => void a.services[0]!.tiers.push("long-context"), "INVALID_SIGNATURE"],
    [
      "model.declared",
      (a) => {
        a.services[0]!.model.declared = "gpt-4";
      },
      "INVALID_SIGNATURE",
    ],
    [
      "model.quantization",
      (a) => {
        a.services[0]!.model.quantization = "q4_0";
      },
      "INVALID_SIGNATURE",
    ],
    [
      "capabilities.promptLogprobs",
      (a) => {
        a.services[0]!.capabilities.promptLogprobs = false;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "images.outpaint",
      (a) => {
        a.services[1]!.capabilities.images!.outpaint = true;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "tokenizer.exact",
      (a) => {
        a.services[1]!.tokenizer.exact = true;
      },
      "INVALID_SIGNATURE",
    ],
    ["services reordered", (a) => void a.services.reverse(), "INVALID_SIGNATURE"],
    [
      "hardware.vramGb",
      (a) => {
        a.hardware.vramGb = 80;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "hardware.cpuOnly",
      (a) => {
        a.hardware.cpuOnly = true;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "software.version",
      (a) => {
        a.software.version = "9.9.9";
      },
      "INVALID_SIGNATURE",
    ],
    [
      "issuedAt",
      (a) => {
        a.issuedAt += 1;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "signature",
      (a) => {
        // Its last byte changed, whatever it was (a fixed value is the same one time in 256).
        a.signature = `${a.signature.slice(0, -2)}${a.signature.endsWith("00") ? "01" : "00"}`;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "node swapped consistently",
      (a) => {
        a.node = { address: other.address, publicKey: other.publicKeyHex };
      },
      "INVALID_SIGNATURE",
    ],
    [
      "node.address",
      (a) => {
        a.node.address = other.address;
      },
      "ADDRESS_MISMATCH",
    ],
    [
      "node.publicKey",
      (a) => {
        a.node.publicKey = other.publicKeyHex;
      },
      "ADDRESS_MISMATCH",
    ],
    [
      "v",
      (a) => {
        a.v = 2 as 1;
      },
      "MALFORMED_ENVELOPE",
    ],
    [
      "extra field",
      (a) => {
        a.extra = true;
      },
      "MALFORMED_ENVELOPE",
    ],
    [
      "tokenizer kind, to one this version does not know",
      (a) => {
        a.services[0]!.tokenizer.kind = "gpt2" as "dev";
      },
      "INVALID_SIGNATURE",
    ],
    [
      "capabilities, by a flag this version does not know",
      (a) => {
        (a.services[0]!.capabilities as Record<string, unknown>).speculative = true;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "a known capability flag's type",
      (a) => {
        (a.services[0]!.capabilities as Record<string, unknown>).seed = "yes";
      },
      "MALFORMED_ENVELOPE",
    ],
    [
      "an offer, by a field outside its capabilities",
      (a) => {
        (a.services[0] as Record<string, unknown>).priority = 1;
      },
      "MALFORMED_ENVELOPE",
    ],
    [
      "capability missing",
      (a) =>
        void delete (a.services[0]!.capabilities as Partial<Mutable["services"][0]["capabilities"]>).seed,
      "MALFORMED_ENVELOPE",
    ],
    ["duplicate service", (a) => void a.services.push(a.services[0]!), "MALFORMED_ENVELOPE"],
    ["missing signature", (a) => void delete (a as Partial<Mutable>).signature, "MALFORMED_ENVELOPE"],
  ];

  it.each(tampers)("refuses a change of %s", (_name, change, code) => {
    const tampered = copy();
    change(tampered);
    const checked = verify(tampered);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.error.code).toBe(code);
  });

  it("verifies an announcement of a newer node over what it signed, then drops what this version does not know", () => {
    const [text, image] = fields.services;
    const newer = createNodeAnnouncement(
      {
        ...fields,
        services: [
          {
            ...text!,
            capabilities: { ...text!.capabilities, speculative: true, maxTools: { count: 8 } },
            tokenizer: { kind: "qwen-2", exact: true },
          },
          {
            ...image!,
            capabilities: {
              ...image!.capabilities,
              images: { ...image!.capabilities.images!, upscale: true },
            },
          },
        ],
      },
      node,
    );
    expect(newer.services[0]!.capabilities).toHaveProperty("speculative", true);
    const checked = verify(JSON.parse(JSON.stringify(newer)));
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    const { signature: _s, ...unsigned } = newer;
    expect(checked.value.digest).toBe(bytesToHex(canonicalHash(unsigned)));
    const [readText, readImage] = checked.value.announcement.services;
    expect(readText!.capabilities).toEqual(text!.capabilities);
    expect(readText!.tokenizer).toEqual({ kind: "estimate", exact: false });
    expect(readImage!.capabilities).toEqual(image!.capabilities);
    const wrong = JSON.parse(JSON.stringify(newer));
    wrong.services[0].capabilities.tools = "yes";
    const refused = verify(wrong);
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.error.code).toBe("MALFORMED_ENVELOPE");
      expect(refused.error.param).toBe("services.0.capabilities.tools");
    }
  });

  it.each([
    ["services.0.capabilities", (a: Mutable) => a.services[0]!.capabilities as Record<string, unknown>],
    [
      "services.1.capabilities.images",
      (a: Mutable) => a.services[1]!.capabilities.images as Record<string, unknown>,
    ],
  ])("refuses %s with more flags than it may carry unknown, signed as it is", (param, flagsOf) => {
    const signedWithFlags = (count: number): Mutable => {
      const { signature: _s, ...unsigned } = JSON.parse(JSON.stringify(announcement)) as Mutable;
      const flags = flagsOf(unsigned as Mutable);
      for (let i = 0; i < count; i += 1) flags[`newerFlag${i}`] = true;
      return {
        ...unsigned,
        signature: bytesToHex(signDigest(canonicalHash(unsigned), node.privateKey)),
      } as Mutable;
    };
    expect(verify(signedWithFlags(MAX_UNKNOWN_CAPABILITY_FLAGS)).ok).toBe(true);
    const refused = verify(signedWithFlags(MAX_UNKNOWN_CAPABILITY_FLAGS + 1));
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error).toMatchObject({ code: "MALFORMED_ENVELOPE", param });
    const many = verify(signedWithFlags(100_000));
    expect(!many.ok && many.error.code).toBe("MALFORMED_ENVELOPE");
  });

  it('reads a "__proto__" key in its open flags as data: it changes nothing the announcement says and sets no prototype', () => {
    // JSON.parse makes "__proto__" an own key; the flags it names must not be inherited by the
    // capabilities read (tools, embeddings), nor by every object.
    const text = JSON.stringify(announcement).replace(
      '"completions":true',
      '"__proto__":{"tools":true,"embeddings":true,"polluted":true},"completions":true',
    );
    const checked = verify(JSON.parse(text));
    if (checked.ok) {
      expect(checked.value.announcement).toEqual(announcement);
      const capabilities = checked.value.announcement.services[0]!.capabilities;
      expect(Object.getPrototypeOf(capabilities)).toBe(Object.prototype);
      expect([capabilities.tools, capabilities.embeddings]).toEqual([undefined, undefined]);
    }
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses a stale announcement with detail 'stale', and one from the future", () => {
    const limit = announcement.issuedAt + NODE_ANNOUNCEMENT_MAX_AGE_MS;
    expect(verifyNodeAnnouncement(announcement, { now: limit }).ok).toBe(true);
    const stale = verifyNodeAnnouncement(announcement, { now: limit + 1 });
    expect(stale.ok).toBe(false);
    if (!stale.ok)
      expect(stale.error).toMatchObject({ code: "MALFORMED_ENVELOPE", detail: "stale", param: "issuedAt" });
    expect(verifyNodeAnnouncement(announcement, { now, maxAgeMs: 500 }).ok).toBe(false);
    const early = announcement.issuedAt - NODE_ANNOUNCEMENT_MAX_SKEW_MS;
    expect(verifyNodeAnnouncement(announcement, { now: early }).ok).toBe(true);
    const future = verifyNodeAnnouncement(announcement, { now: early - 1 });
    expect(!future.ok && future.error.code).toBe("MALFORMED_ENVELOPE");
  });

  it("uses the wall clock when no time is given", () => {
    expect(verifyNodeAnnouncement(announcement).ok).toBe(false); // signed in 2023
    const fresh = createNodeAnnouncement({ ...fields, issuedAt: Date.now() }, node);
    expect(verifyNodeAnnouncement(fresh).ok).toBe(true);
  });

  it("refuses a change of any leaf value", () => {
    const leaves = leafPaths(JSON.parse(JSON.stringify(announcement)));
    fc.assert(
      fc.property(fc.constantFrom(...leaves), (path) => {
        const tampered = copy();
        mutateAt(tampered, path);
        expect(verify(tampered).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it("never throws on arbitrary input", () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        expect(verify(input).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it("never throws when any field is replaced by an arbitrary value", () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(announcement)), fc.anything(), (key, value) => {
        const tampered = { ...copy(), [key]: value };
        const checked = verify(tampered);
        if (checked.ok) expect(canonicalJson(tampered)).toBe(canonicalJson(announcement));
      }),
      { numRuns: 500 },
    );
  });
});

describe("the gateway an announcement names", () => {
  const gatewayA = generateKeyPair().address;
  const gatewayB = generateKeyPair().address;
  const forA = createNodeAnnouncement({ ...fields, gatewayAddress: gatewayA }, node);
  const at = (input: unknown, gatewayAddress: string) =>
    verifyNodeAnnouncement(input, { now, gatewayAddress });

  it("is signed: the gateway it names takes it, and reads the name back", () => {
    expect(forA.gatewayAddress).toBe(gatewayA);
    const checked = at(JSON.parse(JSON.stringify(forA)), gatewayA);
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(checked.value.announcement.gatewayAddress).toBe(gatewayA);
    const { signature: _s, ...unsigned } = forA;
    expect(checked.value.digest).toBe(bytesToHex(canonicalHash(unsigned)));
  });

  it("is refused by another gateway with ANNOUNCEMENT_WRONG_GATEWAY, naming both", () => {
    const refused = at(forA, gatewayB);
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.error).toMatchObject({ code: "ANNOUNCEMENT_WRONG_GATEWAY", param: "gatewayAddress" });
    expect(refused.error.detail).toContain(gatewayA);
    expect(refused.error.detail).toContain(gatewayB);
    // Without a gateway to compare with (a tool reading announcements), the name is not checked.
    expect(verify(forA).ok).toBe(true);
  });

  it("cannot be renamed, removed or added after signing", () => {
    const renamed = { ...JSON.parse(JSON.stringify(forA)), gatewayAddress: gatewayB };
    expect(at(renamed, gatewayB)).toMatchObject({ ok: false, error: { code: "INVALID_SIGNATURE" } });
    const { gatewayAddress: _g, ...removed } = forA;
    expect(at(removed, gatewayB)).toMatchObject({ ok: false, error: { code: "INVALID_SIGNATURE" } });
    const added = { ...copy(), gatewayAddress: gatewayB };
    expect(at(added, gatewayB)).toMatchObject({ ok: false, error: { code: "INVALID_SIGNATURE" } });
  });

  it("may be missing (a node older than the field): its signature, made as before, still verifies at any gateway", () => {
    // Signed the way a node of the previous version signs: the canonical bytes of the fields it
    // knew, no `gatewayAddress` among them.
    const unsigned = { ...fields, v: 1, node: { address: node.address, publicKey: node.publicKeyHex } };
    const earlier = {
      ...unsigned,
      signature: bytesToHex(signDigest(canonicalHash(unsigned), node.privateKey)),
    };
    expect(earlier).toEqual(announcement);
    for (const gateway of [gatewayA, gatewayB]) {
      const checked = at(JSON.parse(JSON.stringify(earlier)), gateway);
      expect(checked.ok).toBe(true);
      if (checked.ok) expect("gatewayAddress" in checked.value.announcement).toBe(false);
    }
  });

  it("is a pokt1 address: anything else is refused when signed and when verified", () => {
    expect(() => createNodeAnnouncement({ ...fields, gatewayAddress: "pokt1xyz" }, node)).toThrow(
      /gatewayAddress/,
    );
    const unsigned = {
      ...fields,
      gatewayAddress: "https://gateway.example",
      v: 1,
      node: { address: node.address, publicKey: node.publicKeyHex },
    };
    const signed = {
      ...unsigned,
      signature: bytesToHex(signDigest(canonicalHash(unsigned), node.privateKey)),
    };
    expect(at(signed, gatewayA)).toMatchObject({
      ok: false,
      error: { code: "MALFORMED_ENVELOPE", param: "gatewayAddress" },
    });
  });
});

describe("announced text", () => {
  const TEXT_FIELDS = [
    "endpoint",
    "operator",
    "hardware.gpu",
    "software.name",
    "software.version",
    "services.0.model.declared",
    "services.0.model.family",
    "services.0.model.quantization",
    "services.0.tokenizer.kind",
  ];
  /** Characters that change how the text around them is shown, rather than being shown. */
  const HIDDEN = [
    ["a line break", "\n"],
    ["a carriage return", "\r"],
    ["a tab", "\t"],
    ["a terminal escape", "\u001b[2J"],
    ["a C1 control sequence introducer", "\u009b2J"],
    ["a right-to-left override", "\u202e"],
    ["a right-to-left isolate", "\u2067"],
    ["a zero-width space", "\u200b"],
    ["a line separator", "\u2028"],
    ["a paragraph separator", "\u2029"],
    ["a lone surrogate", "\ud800"],
    ["a private-use character", "\ue000"],
  ];
  /** An announcement whose text at `path` is `text`, signed by its node as it is. */
  const signedWith = (path: string, text: string): Mutable => {
    const { signature: _s, ...unsigned } = copy();
    const keys = path.split(".");
    let parent = unsigned as Record<string, unknown>;
    for (const key of keys.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
    const last = keys[keys.length - 1]!;
    const at = parent[last] as string;
    // Inside an endpoint's path, where a URL parser would take it as part of the address.
    parent[last] = last === "endpoint" ? `${at}${text}x` : `${at.slice(0, 2)}${text}${at.slice(2)}`;
    return {
      ...unsigned,
      signature: bytesToHex(signDigest(canonicalHash(unsigned), node.privateKey)),
    } as Mutable;
  };

  it.each(TEXT_FIELDS.flatMap((path) => HIDDEN.map(([name, text]) => [path, name!, text!])))(
    "refuses %s holding %s, signed as it is, as MALFORMED_ENVELOPE naming the field",
    (path, _name, text) => {
      const checked = verify(signedWith(path, text));
      expect(checked.ok).toBe(false);
      if (checked.ok) return;
      expect(checked.error.code).toBe("MALFORMED_ENVELOPE");
      expect(checked.error.param).toBe(path);
    },
  );

  it.each(TEXT_FIELDS)("refuses %s longer than its limit (10 KB)", (path) => {
    const checked = verify(signedWith(path, "x".repeat(10_240)));
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.error.param).toBe(path);
  });

  it("takes markup, quotes, backslashes and any script's letters, which each page escapes", () => {
    for (const text of [
      "<script>alert(1)</script>",
      '"><img src=x onerror=alert(1)>',
      "a\\b",
      "Ünïcödé 日本語 عربي 🚀",
    ]) {
      for (const path of TEXT_FIELDS.filter((p) => p !== "endpoint")) {
        expect(verify(signedWith(path, text.slice(0, 20))).ok).toBe(true);
      }
    }
  });

  it("is what createNodeAnnouncement refuses, naming the field", () => {
    expect(() => createNodeAnnouncement({ ...fields, operator: "Acme\u202eoC" }, node)).toThrow(/operator/);
    expect(() =>
      createNodeAnnouncement({ ...fields, hardware: { ...fields.hardware, gpu: "RTX\u001b[2J" } }, node),
    ).toThrow(/hardware\.gpu/);
  });
});

/** Every path to a primitive in a JSON value. */
function leafPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) =>
      leafPaths(v, [...path, Array.isArray(value) ? Number(k) : k]),
    );
  }
  return [path];
}

/** Changes the primitive at `path` to another value of the same type. */
function mutateAt(root: unknown, path: (string | number)[]): void {
  let parent = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const key = path[path.length - 1]!;
  const v = parent[key];
  parent[key] =
    typeof v === "number" ? v + 1 : typeof v === "boolean" ? !v : typeof v === "string" ? `${v}x` : 0;
}
