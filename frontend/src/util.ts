/** Small number and text helpers shared by the map's modules. */

export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** True for a map coordinate: a finite number in [0, 1]. */
export function isUnit(v: number | null): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
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

/** The i-th point of a golden-angle spiral around (cx, cy), kept inside the unit square. */
export function spiral(cx: number, cy: number, i: number, step: number): [number, number] {
  const r = step * Math.sqrt(i + 1);
  const a = i * 2.399963;
  return [clamp(cx + r * Math.cos(a), 0, 1), clamp(cy + r * Math.sin(a), 0, 1)];
}
