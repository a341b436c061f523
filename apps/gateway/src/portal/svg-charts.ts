import { escapeHtml, type Html, trusted } from "./html.js";

/** Series colours: distinct under common colour-vision deficiencies, readable on white. */
export const PALETTE = [
  "#4f46e5",
  "#0891b2",
  "#d97706",
  "#db2777",
  "#16a34a",
  "#7c3aed",
  "#dc2626",
  "#64748b",
];

export interface StackedSeries {
  readonly name: string;
  /** One value per category (day), in order. */
  readonly values: readonly number[];
}

const niceMax = (max: number) => {
  if (max <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= max) return m * step;
  return 10 * step;
};

/**
 * A stacked bar chart as inline SVG (no script, no network): one bar per category (a day), one
 * colour per series (a model), a y axis with four gridlines and a legend. `format` writes axis and
 * tooltip values.
 */
export function stackedBars(options: {
  readonly title: string;
  readonly categories: readonly string[];
  readonly series: readonly StackedSeries[];
  readonly format: (n: number) => string;
  /** Whole counts: gridlines fall on whole numbers. */
  readonly integer?: boolean;
}): Html {
  const { categories, series, format } = options;
  const width = 760;
  const height = 240;
  const left = 64;
  const bottom = 28;
  const top = 12;
  const plotW = width - left - 12;
  const plotH = height - top - bottom;
  const totals = categories.map((_, i) => series.reduce((s, x) => s + (x.values[i] ?? 0), 0));
  const top0 = niceMax(Math.max(0, ...totals));
  const max = options.integer === true ? Math.max(4, Math.ceil(top0 / 4) * 4) : top0;
  const slot = plotW / Math.max(1, categories.length);
  const barW = Math.max(2, Math.min(36, slot * 0.7));
  const parts: string[] = [];
  for (let g = 0; g <= 4; g++) {
    const y = top + plotH - (plotH * g) / 4;
    parts.push(
      `<line x1="${left}" x2="${width - 12}" y1="${y}" y2="${y}" class="grid"/>`,
      `<text x="${left - 6}" y="${y + 4}" text-anchor="end" class="axis">${escapeHtml(format((max * g) / 4))}</text>`,
    );
  }
  const labelEvery = Math.ceil(categories.length / 10);
  categories.forEach((category, i) => {
    const x = left + slot * i + (slot - barW) / 2;
    let y = top + plotH;
    series.forEach((s, k) => {
      const v = s.values[i] ?? 0;
      if (v <= 0) return;
      const h = (plotH * v) / max;
      y -= h;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barW.toFixed(1)}" height="${Math.max(0.5, h).toFixed(1)}" fill="${PALETTE[k % PALETTE.length]}"><title>${escapeHtml(`${category} · ${s.name}: ${format(v)}`)}</title></rect>`,
      );
    });
    if (i % labelEvery === 0) {
      parts.push(
        `<text x="${(x + barW / 2).toFixed(1)}" y="${height - 8}" text-anchor="middle" class="axis">${escapeHtml(category.slice(5))}</text>`,
      );
    }
  });
  const legend = series
    .map(
      (s, k) =>
        `<span class="legend-item"><i style="background:${PALETTE[k % PALETTE.length]}"></i>${escapeHtml(s.name)}</span>`,
    )
    .join("");
  const empty = totals.every((t) => t === 0)
    ? `<text x="${left + plotW / 2}" y="${top + plotH / 2}" text-anchor="middle" class="empty">No traffic in this period yet</text>`
    : "";
  return trusted(
    `<figure class="chart"><figcaption>${escapeHtml(options.title)}</figcaption><svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(options.title)}">${parts.join("")}${empty}</svg><div class="legend">${legend}</div></figure>`,
  );
}

/** Horizontal bars, one per label, with the value written at the end. */
export function horizontalBars(options: {
  readonly title: string;
  readonly rows: readonly { readonly label: string; readonly value: number }[];
  readonly format: (n: number) => string;
}): Html {
  const rowH = 26;
  const width = 760;
  const labelW = 220;
  const height = Math.max(1, options.rows.length) * rowH + 8;
  const max = Math.max(1, ...options.rows.map((r) => r.value));
  const bars = options.rows
    .map((r, i) => {
      const y = 4 + i * rowH;
      const w = ((width - labelW - 90) * r.value) / max;
      return `<text x="${labelW - 8}" y="${y + 17}" text-anchor="end" class="label">${escapeHtml(r.label)}</text><rect x="${labelW}" y="${y + 4}" width="${Math.max(1, w).toFixed(1)}" height="${rowH - 10}" rx="3" fill="${PALETTE[i % PALETTE.length]}"/><text x="${(labelW + w + 6).toFixed(1)}" y="${y + 17}" class="axis">${escapeHtml(options.format(r.value))}</text>`;
    })
    .join("");
  const empty =
    options.rows.length === 0
      ? `<text x="${width / 2}" y="20" text-anchor="middle" class="empty">No traffic yet</text>`
      : "";
  return trusted(
    `<figure class="chart"><figcaption>${escapeHtml(options.title)}</figcaption><svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(options.title)}">${bars}${empty}</svg></figure>`,
  );
}

/** A 0..1 score as a small bar with its confidence interval as a whisker. */
export function scoreBar(
  estimate: { mean: number; lower: number; upper: number; n: number } | undefined,
): Html {
  if (estimate === undefined) return trusted(`<span class="muted">not scored</span>`);
  const w = 120;
  const x = (v: number) => (v * w).toFixed(1);
  return trusted(
    `<svg class="score" viewBox="0 0 ${w + 2} 14" width="${w + 2}" height="14" role="img" aria-label="score ${estimate.mean.toFixed(2)}, 95% interval ${estimate.lower.toFixed(2)} to ${estimate.upper.toFixed(2)}, ${estimate.n} samples"><rect x="0" y="3" width="${w}" height="8" rx="2" class="track"/><rect x="0" y="3" width="${x(estimate.mean)}" height="8" rx="2" class="fill"/><line x1="${x(estimate.lower)}" x2="${x(estimate.upper)}" y1="7" y2="7" class="whisker"/><line x1="${x(estimate.lower)}" x2="${x(estimate.lower)}" y1="2" y2="12" class="whisker"/><line x1="${x(estimate.upper)}" x2="${x(estimate.upper)}" y1="2" y2="12" class="whisker"/></svg>`,
  );
}
