import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { decodePng, encodePng, type RgbaImage } from "@pocket-ai/png";

/**
 * A ComfyUI-shaped server for tests, following the documented server API: `POST /upload/image`
 * (multipart `image`, `type`, `overwrite` → `{name, subfolder, type}`), `POST /prompt` (`{prompt,
 * client_id, prompt_id?}` → `{prompt_id, number, node_errors}` (the client's id when it sent one), or 400 with `{error, node_errors}` when the
 * workflow does not validate), `GET /history/{id}` (`{}` until the run finished, then `{[id]:
 * {outputs, status}}`), `GET /view?filename&subfolder&type`, `POST /queue` (`{delete: [ids]}`),
 * `POST /interrupt`, `GET /system_stats`, `GET /models/checkpoints`.
 *
 * It executes the workflow's core nodes for real on small pictures: a checkpoint, prompts, an
 * empty or encoded latent, a noise mask, batches, a sampler that paints a picture keyed on
 * (prompt, seed, batch index) and mixes it with the source by `denoise` where the mask allows,
 * decode and preview/save. With `hold`, runs wait until `release()` (to test cancelling).
 */
export interface FakeComfyUi {
  readonly url: string;
  readonly checkpoints: string[];
  /** Workflows queued, as sent. */
  readonly prompts: Record<string, unknown>[];
  /** Uploaded file names. */
  readonly uploads: string[];
  /** Prompt ids removed from the queue or interrupted. */
  readonly cancelled: string[];
  hold: boolean;
  /** Queue a prompt but never answer `POST /prompt` (with `hold`: a run the caller has no id for). */
  stallPromptAnswer: boolean;
  /**
   * When set, runs fail while executing (the workflow validated): their history says `error`, with
   * ComfyUI's `execution_error` message carrying this exception text and a Python traceback.
   */
  failRuns: string | null;
  /** Called as each request's head arrives, before its body is read (what the client had done by then). */
  onRequestHead: ((method: string, path: string) => void) | null;
  release(): void;
  /** Resolves with a held run's id once its client asked for its history (so it knows the id). */
  waitForQueued(): Promise<string>;
  /** Runs held and still queued. */
  pendingCount(): number;
  close(): Promise<void>;
}

interface Latent {
  readonly width: number;
  readonly height: number;
  readonly batch: number;
  readonly pixels: RgbaImage | null;
  readonly mask: Uint8Array | null;
}
type Value = string | number | RgbaImage[] | Uint8Array | Latent | { readonly ckpt: string };
type Node = { class_type: string; inputs: Record<string, unknown> };

const KNOWN: Record<string, readonly string[]> = {
  CheckpointLoaderSimple: ["ckpt_name"],
  CLIPTextEncode: ["text", "clip"],
  EmptyLatentImage: ["width", "height", "batch_size"],
  LoadImage: ["image"],
  LoadImageMask: ["image", "channel"],
  VAEEncode: ["pixels", "vae"],
  SetLatentNoiseMask: ["samples", "mask"],
  RepeatLatentBatch: ["samples", "amount"],
  KSampler: [
    "model",
    "positive",
    "negative",
    "latent_image",
    "seed",
    "steps",
    "cfg",
    "sampler_name",
    "scheduler",
    "denoise",
  ],
  VAEDecode: ["samples", "vae"],
  PreviewImage: ["images"],
  SaveImage: ["images"],
};
const SAMPLERS = new Set(["euler", "euler_ancestral", "dpmpp_2m", "ddim"]);

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A smooth picture keyed on (text, seed, index): two colours from the hash and a diagonal blend. */
function paint(text: string, seed: number, index: number, width: number, height: number): RgbaImage {
  const h = createHash("sha256").update(`${text}|${seed}|${index}`).digest();
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (x * h[6]! + y * h[7]!) / (255 * (width + height));
      const wave = 0.5 + 0.5 * Math.sin((x * (1 + (h[8]! % 5)) + y * (1 + (h[9]! % 3))) / 3);
      const p = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) data[p + c] = Math.round(h[c]! * (1 - t) * wave + h[c + 3]! * t);
      data[p + 3] = 255;
    }
  }
  return { width, height, data };
}

/** A history entry as ComfyUI writes it when a node raised while the workflow ran. */
function failedRun(id: string, workflow: Record<string, Node>, exception: string): Record<string, unknown> {
  const [nodeId, node] = Object.entries(workflow).find(([, n]) => n.class_type === "KSampler") ?? ["?", null];
  const at = Date.now();
  return {
    prompt: [0, id, workflow, {}, []],
    outputs: {},
    status: {
      status_str: "error",
      completed: false,
      messages: [
        ["execution_start", { prompt_id: id, timestamp: at }],
        [
          "execution_error",
          {
            prompt_id: id,
            node_id: nodeId,
            node_type: node?.class_type ?? "",
            executed: ["checkpoint", "positive", "negative"],
            exception_message: exception,
            exception_type: "torch.OutOfMemoryError",
            traceback: [
              '  File "/opt/ComfyUI/execution.py", line 323, in execute\n',
              '  File "/opt/ComfyUI/comfy/samplers.py", line 1038, in sample\n',
            ],
            current_inputs: {},
            current_outputs: {},
            timestamp: at,
          },
        ],
      ],
    },
  };
}

export async function startFakeComfyUi(): Promise<FakeComfyUi> {
  const inputs = new Map<string, RgbaImage>();
  const files = new Map<string, Uint8Array>();
  const history = new Map<string, Record<string, unknown>>();
  const pending = new Map<string, () => void>();
  const queuedWaiters: ((id: string) => void)[] = [];
  const fake: FakeComfyUi = {
    url: "",
    checkpoints: ["sd15.safetensors"],
    prompts: [],
    uploads: [],
    cancelled: [],
    hold: false,
    stallPromptAnswer: false,
    failRuns: null,
    onRequestHead: null,
    release: () => {
      for (const run of [...pending.values()]) run();
    },
    waitForQueued: () => new Promise((resolve) => queuedWaiters.push(resolve)),
    pendingCount: () => pending.size,
    close: async () => {},
  };

  /** ComfyUI's `node_errors`: per node id, `{errors: [{type, message, details}], class_type}`. */
  const validate = (workflow: Record<string, Node>): Record<string, unknown> => {
    const errors: Record<string, unknown> = {};
    for (const [id, node] of Object.entries(workflow)) {
      const required = KNOWN[node.class_type];
      const problems: { type: string; message: string; details: string }[] = [];
      const notInList = (name: string, allowed: Iterable<string>) =>
        problems.push({
          type: "value_not_in_list",
          message: "Value not in list",
          details: `${name}: '${String(node.inputs[name])}' not in ${JSON.stringify([...allowed])}`,
        });
      if (required === undefined)
        problems.push({ type: "invalid_prompt", message: "Unknown node type", details: node.class_type });
      for (const name of required ?? []) {
        const value = node.inputs?.[name];
        if (value === undefined)
          problems.push({
            type: "required_input_missing",
            message: "Required input is missing",
            details: name,
          });
        if (Array.isArray(value) && workflow[String(value[0])] === undefined)
          problems.push({ type: "bad_linked_input", message: "Bad linked input", details: name });
      }
      if (
        node.class_type === "CheckpointLoaderSimple" &&
        !fake.checkpoints.includes(String(node.inputs.ckpt_name))
      )
        notInList("ckpt_name", fake.checkpoints);
      if (node.class_type === "KSampler" && !SAMPLERS.has(String(node.inputs.sampler_name)))
        notInList("sampler_name", SAMPLERS);
      if (
        (node.class_type === "LoadImage" || node.class_type === "LoadImageMask") &&
        !inputs.has(String(node.inputs.image))
      )
        problems.push({
          type: "custom_validation_failed",
          message: "Custom validation failed for node",
          details: `image - Invalid image file: ${String(node.inputs.image)}`,
        });
      if (problems.length > 0)
        errors[id] = { errors: problems, dependent_outputs: [], class_type: node.class_type };
    }
    return errors;
  };

  const execute = (workflow: Record<string, Node>): Record<string, { images: unknown[] }> => {
    const cache = new Map<string, Value[]>();
    const outputs: Record<string, { images: unknown[] }> = {};
    const input = (node: Node, name: string): Value => {
      const value = node.inputs[name];
      if (Array.isArray(value)) return evaluate(String(value[0]))[Number(value[1])]!;
      return value as Value;
    };
    const evaluate = (id: string): Value[] => {
      const cached = cache.get(id);
      if (cached !== undefined) return cached;
      const node = workflow[id]!;
      let out: Value[];
      switch (node.class_type) {
        case "CheckpointLoaderSimple":
          out = [{ ckpt: String(node.inputs.ckpt_name) }, "clip", "vae"];
          break;
        case "CLIPTextEncode":
          out = [String(input(node, "text"))];
          break;
        case "EmptyLatentImage":
          out = [
            {
              width: Number(node.inputs.width),
              height: Number(node.inputs.height),
              batch: Number(node.inputs.batch_size),
              pixels: null,
              mask: null,
            },
          ];
          break;
        case "LoadImage":
          out = [[inputs.get(String(node.inputs.image))!], new Uint8Array(0)];
          break;
        case "LoadImageMask": {
          const image = inputs.get(String(node.inputs.image))!;
          const bits = new Uint8Array(image.width * image.height);
          for (let i = 0; i < bits.length; i++) bits[i] = image.data[i * 4]! > 127 ? 1 : 0;
          out = [bits];
          break;
        }
        case "VAEEncode": {
          const [image] = input(node, "pixels") as RgbaImage[];
          out = [{ width: image!.width, height: image!.height, batch: 1, pixels: image!, mask: null }];
          break;
        }
        case "SetLatentNoiseMask":
          out = [{ ...(input(node, "samples") as Latent), mask: input(node, "mask") as Uint8Array }];
          break;
        case "RepeatLatentBatch":
          out = [{ ...(input(node, "samples") as Latent), batch: Number(node.inputs.amount) }];
          break;
        case "KSampler": {
          const latent = input(node, "latent_image") as Latent;
          const text = String(input(node, "positive"));
          const seed = Number(node.inputs.seed);
          const denoise = Number(node.inputs.denoise);
          const images = Array.from({ length: latent.batch }, (_, b) => {
            const fresh = paint(text, seed, b, latent.width, latent.height);
            if (latent.pixels === null) return fresh;
            const data = new Uint8Array(fresh.data.length);
            for (let i = 0; i < latent.width * latent.height; i++) {
              const t = latent.mask === null || latent.mask[i] === 1 ? denoise : 0;
              for (let c = 0; c < 3; c++)
                data[i * 4 + c] = Math.round(
                  latent.pixels.data[i * 4 + c]! * (1 - t) + fresh.data[i * 4 + c]! * t,
                );
              data[i * 4 + 3] = 255;
            }
            return { width: latent.width, height: latent.height, data };
          });
          out = [{ ...latent, pixels: null, mask: null, images } as unknown as Latent];
          break;
        }
        case "VAEDecode":
          out = [(input(node, "samples") as unknown as { images: RgbaImage[] }).images];
          break;
        default: {
          const images = input(node, "images") as RgbaImage[];
          const type = node.class_type === "PreviewImage" ? "temp" : "output";
          outputs[id] = {
            images: images.map((image) => {
              const filename = `ComfyUI_${randomUUID()}.png`;
              files.set(`${type}/${filename}`, encodePng(image));
              return { filename, subfolder: "", type };
            }),
          };
          out = [];
        }
      }
      cache.set(id, out);
      return out;
    };
    for (const [id, node] of Object.entries(workflow))
      if (node.class_type === "PreviewImage" || node.class_type === "SaveImage") evaluate(id);
    return outputs;
  };

  let number = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://fake");
    const raw = await readRaw(req);
    if (req.method === "GET" && url.pathname === "/system_stats")
      return send(res, 200, { system: { os: "posix", comfyui_version: "fake" }, devices: [] });
    if (req.method === "GET" && url.pathname === "/models/checkpoints")
      return send(res, 200, fake.checkpoints);
    if (req.method === "POST" && url.pathname === "/upload/image") {
      const form = await new Request("http://fake/", {
        method: "POST",
        headers: { "content-type": req.headers["content-type"] ?? "" },
        body: raw,
      }).formData();
      const file = form.get("image");
      if (file === null || typeof file === "string") return send(res, 400, { error: "no image" });
      const name = file.name;
      inputs.set(name, decodePng(new Uint8Array(await file.arrayBuffer())));
      fake.uploads.push(name);
      return send(res, 200, { name, subfolder: "", type: "input" });
    }
    if (req.method === "POST" && url.pathname === "/prompt") {
      const body = JSON.parse(raw.toString("utf8")) as { prompt: Record<string, Node>; prompt_id?: unknown };
      fake.prompts.push(body.prompt);
      const nodeErrors = validate(body.prompt);
      if (Object.keys(nodeErrors).length > 0)
        return send(res, 400, {
          error: {
            type: "prompt_outputs_failed_validation",
            message: "Prompt outputs failed validation",
            details: "",
          },
          node_errors: nodeErrors,
        });
      // ComfyUI takes the client's `prompt_id` when it sends one.
      const id = typeof body.prompt_id === "string" ? body.prompt_id : randomUUID();
      const failure = fake.failRuns;
      const run = () => {
        pending.delete(id);
        if (failure !== null) return history.set(id, failedRun(id, body.prompt, failure));
        history.set(id, {
          prompt: [number, id, body.prompt, {}, []],
          outputs: execute(body.prompt),
          status: { status_str: "success", completed: true, messages: [] },
        });
      };
      if (fake.hold) pending.set(id, run);
      else setImmediate(run);
      if (fake.stallPromptAnswer) {
        // Queued, but the answer never comes: the caller learns no id from ComfyUI.
        for (const waiter of queuedWaiters.splice(0)) waiter(id);
        return;
      }
      return send(res, 200, { prompt_id: id, number: number++, node_errors: {} });
    }
    if (req.method === "GET" && url.pathname.startsWith("/history/")) {
      const id = decodeURIComponent(url.pathname.slice("/history/".length));
      const entry = history.get(id);
      if (pending.has(id)) for (const waiter of queuedWaiters.splice(0)) waiter(id);
      return send(res, 200, entry === undefined ? {} : { [id]: entry });
    }
    if (req.method === "GET" && url.pathname === "/view") {
      const key = `${url.searchParams.get("type")}/${url.searchParams.get("filename")}`;
      const file = files.get(key);
      if (file === undefined) return send(res, 404, { error: "not found" });
      res.writeHead(200, { "content-type": "image/png", "content-length": file.length });
      return void res.end(file);
    }
    if (req.method === "POST" && (url.pathname === "/queue" || url.pathname === "/interrupt")) {
      const body = JSON.parse(raw.toString("utf8") || "{}") as { delete?: string[]; prompt_id?: string };
      for (const id of [...(body.delete ?? []), ...(body.prompt_id === undefined ? [] : [body.prompt_id])]) {
        if (pending.delete(id) || url.pathname === "/interrupt") fake.cancelled.push(id);
      }
      res.writeHead(200);
      return void res.end();
    }
    send(res, 404, { error: `no route ${req.method} ${url.pathname}` });
  };

  const server = createServer((req, res) => {
    fake.onRequestHead?.(req.method ?? "GET", (req.url ?? "/").split("?")[0] ?? "/");
    handle(req, res).catch((error: unknown) => send(res, 500, { error: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(fake, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
