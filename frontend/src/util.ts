/** Small number and text helpers shared by the map's modules. */

export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** True for a map coordinate: a finite number in [0, 1]. */
export function isUnit(v: number | null): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
}

/** A count and its noun, in the plural but for 1: "1 work", "3 near-duplicates". */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** The text cut to at most `max` characters, an ellipsis marking the cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}

/** The mean position of some points (at least one). */
export function centroid(points: readonly { x: number; y: number }[]): { x: number; y: number } {
  let x = 0;
  let y = 0;
  for (const p of points) {
    x += p.x;
    y += p.y;
  }
  return { x: x / points.length, y: y / points.length };
}

/**
 * The score-weighted centre of a query's hits: where its label belongs. CLIP's text vectors sit apart from its image
 * vectors (the "modality gap"), so the projected query lands away from its matches; its best hits do not. Weights
 * rise from a tenth of the score range for the last hit to 1.1 of it for the first, so the best hits pull most.
 */
export function scoreCentre(hits: readonly { x: number; y: number; score: number }[]): { x: number; y: number } {
  const scores = hits.map((h) => h.score);
  const low = Math.min(...scores);
  const range = Math.max(...scores) - low || 1;
  let x = 0;
  let y = 0;
  let total = 0;
  for (const h of hits) {
    const w = (h.score - low) / range + 0.1;
    x += w * h.x;
    y += w * h.y;
    total += w;
  }
  return { x: x / total, y: y / total };
}

/** The i-th point of a golden-angle spiral around (cx, cy), kept inside the unit square. */
export function spiral(cx: number, cy: number, i: number, step: number): [number, number] {
  const r = step * Math.sqrt(i + 1);
  const a = i * 2.399963;
  return [clamp(cx + r * Math.cos(a), 0, 1), clamp(cy + r * Math.sin(a), 0, 1)];
}
