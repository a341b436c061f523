import { Effect } from "effect";
import type { Backend, BackendError } from "../backends/backend.js";
import { type EngineTarget, requestJson } from "../backends/engine-http.js";
import type { BackendConfig } from "../config/node-config.js";
import {
  type Finding,
  fromError,
  no,
  type ProbeObservation,
  type ProbeReport,
  type ProbeRow,
  type Run,
  yes,
} from "./check-finding.js";
import { probeImages } from "./image-checks.js";
import { probeEmbeddings, probeText } from "./text-checks.js";

export type { ProbeObservation, ProbeReport, ProbeRow } from "./check-finding.js";

/** The models the engine lists, from its own listing route. */
function listModels(backend: Backend, config: BackendConfig): Effect.Effect<Finding, BackendError> {
  if (backend.kind === "gguf") return Effect.succeed(yes("GGUF model, in-process"));
  if (backend.kind === "dev" || config.url === undefined)
    return Effect.succeed(yes("development backend, in-process"));
  const target: EngineTarget = { backendId: backend.id, baseUrl: config.url, timeoutMs: config.timeoutMs };
  const route =
    backend.kind === "a1111"
      ? "/sdapi/v1/sd-models"
      : backend.kind === "comfyui"
        ? "/models/checkpoints"
        : backend.kind === "tgi"
          ? "/info"
          : "/v1/models";
  return requestJson(target, "GET", route).pipe(
    Effect.map((answer) => {
      const items = Array.isArray(answer) ? answer : ((answer as { data?: unknown })?.data ?? [answer]);
      const names = (Array.isArray(items) ? items : [])
        .map((item) => {
          if (typeof item === "string") return item;
          const record = (item ?? {}) as Record<string, unknown>;
          return record.id ?? record.model_id ?? record.model_name ?? record.title;
        })
        .filter((name): name is string => typeof name === "string");
      if (names.length === 0) return no(`${route} lists no model`);
      if (
        config.model !== undefined &&
        !names.some((name) => name === config.model || name.startsWith(`${config.model} `))
      ) {
        return no(`configured model '${config.model}' is not among: ${names.slice(0, 5).join(", ")}`);
      }
      return yes(names.slice(0, 5).join(", "));
    }),
  );
}

/**
 * Probes a backend for real and reports what it saw next to what the backend declares:
 * reachable, models listed, then each text capability (a tiny completion, chat, prompt logprobs
 * with `echo`, generated-token logprobs, seeded reproducibility, streaming, tokenize, `n`, a
 * forced tool call, at most one tool call where tools work, JSON mode, a JSON schema,
 * embeddings), each image capability (txt2img, img2img, inpainting, outpainting at 64×64, two
 * steps), or for an embedding service the embeddings alone. A declared capability the engine does not do is an `error` finding and fails
 * the report. Prompts are fixed harmless strings; nothing is logged.
 */
export function probeBackend(
  backend: Backend,
  config: BackendConfig,
  serviceKind: "text" | "image" | "embedding" = "text",
): Effect.Effect<ProbeReport> {
  return Effect.gen(function* () {
    const rows: ProbeRow[] = [];
    const declared = backend.capabilities;
    const model = config.model ?? "probe";
    const record = (check: string, claim: boolean | null, observed: ProbeObservation, detail: string) => {
      const agrees = claim === null ? observed === "yes" : claim === (observed === "yes");
      const finding = agrees ? "ok" : claim === false ? "note" : "error";
      rows.push({ check, declared: claim, observed, detail, agrees, finding });
    };
    const run: Run = (check, claim, probe) =>
      probe.pipe(
        Effect.match({
          onFailure: fromError,
          onSuccess: (finding): { observed: ProbeObservation; detail: string } => finding,
        }),
        Effect.map(({ observed, detail }) => {
          record(check, claim, observed, detail);
          return observed;
        }),
      );

    const reachable = yield* Effect.either(backend.health());
    if (reachable._tag === "Left") {
      record("reachable", null, "error", fromError(reachable.left).detail);
      return { backendId: backend.id, kind: backend.kind, rows, ok: false };
    }
    record("reachable", null, "yes", "health check passed");
    yield* run("models listed", null, listModels(backend, config));
    if (serviceKind === "embedding") yield* probeEmbeddings(declared, backend, model, run);
    else if (declared.images !== null || backend.kind === "a1111" || backend.kind === "comfyui")
      yield* probeImages(declared, backend, run);
    else yield* probeText(declared, backend, model, run);
    const ok = rows.every((row) => row.finding !== "error");
    return { backendId: backend.id, kind: backend.kind, rows, ok };
  });
}

/** The report as a fixed-width table for a terminal. */
export function formatProbeReport(report: ProbeReport): string {
  const mark = (value: boolean | null) => (value === null ? "-" : value ? "yes" : "no");
  const verdict = { ok: "ok", error: "ERROR", note: "note" } as const;
  const lines = [
    ["check", "declared", "observed", "", "detail"],
    ...report.rows.map((row) => [
      row.check,
      mark(row.declared),
      row.observed,
      verdict[row.finding],
      row.detail,
    ]),
  ];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...lines.map((line) => (line[i] ?? "").length)));
  const table = lines.map((line) =>
    line
      .map((cell, i) => (i < 4 ? cell.padEnd(widths[i] ?? 0) : cell))
      .join("  ")
      .trimEnd(),
  );
  return [`${report.backendId} (${report.kind})`, ...table].join("\n");
}
