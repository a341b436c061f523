import { describe, expect, it } from "vitest";
import { DEFAULT_CATALOG, findService, findTier, type ImageTierSpec } from "../catalog/index.js";
import { imageEditMode } from "./image-requests.js";
import { imageRequestSize, parseImageSize } from "./image-size.js";
import { parseOpenAIRequest } from "./parse-request.js";

/** The 8-byte PNG signature plus the start of an IHDR chunk, as base64. */
const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
const sdTier = findTier(findService(DEFAULT_CATALOG, "stable-diffusion")!, "standard") as ImageTierSpec;

describe("ImageGenerationRequest", () => {
  it("accepts the openai client's body plus Stable Diffusion extras", () => {
    const body = {
      model: "stable-diffusion",
      prompt: "a lighthouse at dusk, oil painting",
      n: 2,
      size: "768x512",
      response_format: "b64_json",
      user: "u-1",
      negative_prompt: "blurry",
      seed: 42,
      steps: 30,
      cfg_scale: 7.5,
      sampler: "euler_a",
      quality: "standard",
    };
    const r = parseOpenAIRequest("images.generations", body);
    expect(r.ok && r.value).toEqual(body);
  });

  it.each([
    [{ prompt: "" }, "prompt"],
    [{ prompt: "x", size: "512" }, "size"],
    [{ prompt: "x", size: "512x512px" }, "size"],
    [{ prompt: "x", n: 11 }, "n"],
    [{ prompt: "x", response_format: "png" }, "response_format"],
    [{ prompt: "x", steps: 0 }, "steps"],
  ])("refuses %j at param %s", (body, param) => {
    const r = parseOpenAIRequest("images.generations", body);
    expect(!r.ok && r.error.param).toBe(param);
  });
});

describe("ImageEditRequest", () => {
  it("reads multipart string fields back into numbers and objects", () => {
    const r = parseOpenAIRequest("images.edits", {
      image: PNG,
      prompt: "extend the beach",
      n: "1",
      size: "1024x512",
      strength: "0.75",
      seed: "9",
      padding: '{"top":0,"right":256,"bottom":0,"left":256}',
    });
    if (!r.ok) throw new Error(r.error.detail);
    expect(r.value.n).toBe(1);
    expect(r.value.strength).toBe(0.75);
    expect(r.value.padding).toEqual({ top: 0, right: 256, bottom: 0, left: 256 });
    expect(imageEditMode(r.value)).toBe("outpainting");
  });

  it("tells img2img, inpainting and outpainting apart", () => {
    expect(imageEditMode({})).toBe("img2img");
    expect(imageEditMode({ mask: PNG })).toBe("inpainting");
    expect(imageEditMode({ padding: { top: 0, right: 0, bottom: 0, left: 0 } })).toBe("img2img");
    expect(imageEditMode({ padding: { top: 8, right: 0, bottom: 0, left: 0 } })).toBe("outpainting");
  });

  it.each([
    [{ prompt: "x" }, "image"],
    [{ image: "not base64!", prompt: "x" }, "image"],
    [{ image: "R0lGODlhAQABAAAAACw=", prompt: "x" }, "image"],
    [{ image: PNG, mask: "abc", prompt: "x" }, "mask"],
    [{ image: PNG, prompt: "x", strength: "1.5" }, "strength"],
    [{ image: PNG, prompt: "x", padding: { top: -1, right: 0, bottom: 0, left: 0 } }, "padding.top"],
    [{ image: PNG, mask: PNG, prompt: "x", padding: { top: 8, right: 0, bottom: 0, left: 0 } }, "padding"],
  ])("refuses %j at param %s", (body, param) => {
    const r = parseOpenAIRequest("images.edits", body);
    expect(!r.ok && r.error.param).toBe(param);
  });
});

describe("image sizes", () => {
  it("parses WxH", () => {
    expect(parseImageSize("1024x768")).toEqual({ ok: true, value: { width: 1024, height: 768 } });
    const bad = parseImageSize("1024*768");
    expect(!bad.ok && bad.error).toMatchObject({ code: "INVALID_REQUEST", param: "size" });
  });

  it("defaults to the tier's standard size and checks outpainting room", () => {
    expect(imageRequestSize({}, sdTier)).toEqual({ ok: true, value: { width: 512, height: 512 } });
    expect(
      imageRequestSize({ size: "768x768", padding: { top: 0, right: 128, bottom: 0, left: 128 } }, sdTier).ok,
    ).toBe(true);
    const full = imageRequestSize(
      { size: "512x512", padding: { top: 0, right: 256, bottom: 0, left: 256 } },
      sdTier,
    );
    expect(!full.ok && full.error.param).toBe("padding");
  });
});
