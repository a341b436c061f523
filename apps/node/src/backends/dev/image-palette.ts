/** Hue (degrees), saturation and lightness nudges for a color word. */
interface ColorWord {
  readonly hue: number;
  readonly sat?: number;
  readonly light?: number;
}

/**
 * The words a prompt may contain that set a hue. A Map, as the key is a prompt's word: a prompt's
 * `constructor` is no color.
 */
const COLOR_WORDS: ReadonlyMap<string, ColorWord> = new Map(
  Object.entries({
    red: { hue: 0 },
    fire: { hue: 12 },
    sunset: { hue: 22 },
    orange: { hue: 30 },
    brown: { hue: 28, sat: 0.35, light: 0.35 },
    gold: { hue: 45 },
    yellow: { hue: 55 },
    desert: { hue: 40, sat: 0.45 },
    green: { hue: 120 },
    forest: { hue: 110, light: 0.35 },
    teal: { hue: 175 },
    cyan: { hue: 185 },
    sky: { hue: 200, light: 0.65 },
    sea: { hue: 200 },
    ocean: { hue: 205 },
    blue: { hue: 220 },
    night: { hue: 230, light: 0.2 },
    purple: { hue: 275 },
    violet: { hue: 270 },
    pink: { hue: 330, light: 0.7 },
    snow: { hue: 210, sat: 0.1, light: 0.85 },
    white: { hue: 0, sat: 0.05, light: 0.9 },
    black: { hue: 0, sat: 0.05, light: 0.1 },
    gray: { hue: 0, sat: 0.05 },
  }),
);

export type Rgb = readonly [number, number, number];

export function colorWords(text: string): ColorWord[] {
  return (text.toLowerCase().match(/\p{L}+/gu) ?? []).flatMap((w) => {
    const found = COLOR_WORDS.get(w);
    return found ? [found] : [];
  });
}

/**
 * Five colors from dark to light. Color words in the prompt set the hues (so "a red barn" is
 * reddish); the prompt's hash fills in the rest. Hues the negative prompt names are turned away.
 */
export function buildPalette(hash: Uint8Array, prompt: string, negativePrompt: string): Rgb[] {
  const words = colorWords(prompt);
  const avoid = colorWords(negativePrompt).map((w) => w.hue);
  const byte = (i: number): number => hash[i % hash.length]! / 255;
  const palette: Rgb[] = [];
  for (let i = 0; i < 5; i++) {
    const word = words.length > 0 ? words[i % words.length] : undefined;
    let hue = (word?.hue ?? byte(0) * 360) + (byte(i + 1) - 0.5) * (word ? 40 : 160);
    if (avoid.some((h) => hueDistance(h, hue) < 45)) hue += 180;
    const sat = word?.sat ?? 0.45 + byte(i + 7) * 0.45;
    const baseLight = word?.light ?? 0.5;
    const light = Math.min(0.95, Math.max(0.05, baseLight + (i - 2) * 0.17 + (byte(i + 13) - 0.5) * 0.1));
    palette.push(hslToRgb(((hue % 360) + 360) % 360, sat, light));
  }
  return palette;
}

function hueDistance(a: number, b: number): number {
  const d = Math.abs((((a - b) % 360) + 360) % 360);
  return Math.min(d, 360 - d);
}

function hslToRgb(h: number, s: number, l: number): Rgb {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const x = c * (1 - Math.abs(((h / 60) % 2) - 1));
  const m = l - c / 2;
  const [r, g, b] =
    h < 60
      ? [c, x, 0]
      : h < 120
        ? [x, c, 0]
        : h < 180
          ? [0, c, x]
          : h < 240
            ? [0, x, c]
            : h < 300
              ? [x, 0, c]
              : [c, 0, x];
  return [(r + m) * 255, (g + m) * 255, (b + m) * 255];
}

/** Smooth lookup along the palette for t in [0, 1]. */
export function samplePalette(palette: readonly Rgb[], t: number): Rgb {
  const x = Math.min(0.9999, Math.max(0, t)) * (palette.length - 1);
  const i = Math.floor(x);
  const f = x - i;
  const a = palette[i]!;
  const b = palette[i + 1]!;
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}
