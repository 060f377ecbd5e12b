/**
 * Spreading results that overlap on screen, so that each stays reachable: in rank order, a work keeps its place on
 * the map unless an earlier one covers it, and then moves to the nearest free spot on rings around its place.
 * Zoomed in, the works' places are far apart and none moves; zoomed out, a clump opens into a tight cluster.
 *
 * A spatial hash of the works placed so far keeps one layout linear in the number of works.
 */
import type { Work } from './works';
import { WORLD_SIZE } from './world';

/** Screen pixels kept free between two spread works. */
const GAP_PX = 4;
/** Rings of candidate spots tried around a work's place before it is left where it is. */
const RINGS = 7;
/** Candidates per ring, times the ring's number: evenly spaced whatever the radius. */
const PER_RING = 6;
/** How quickly a work glides to its new spot (ms to cover about two-thirds of the way). */
const GLIDE_MS = 90;

/** Where each work is drawn: its target (tx, ty) in world units, and the glide of its node towards it. */
export class Spread {
  private readonly grid = new Map<number, Work[]>();
  private moving = false;
  private boost = 1;

  /**
   * Lays out the works (in rank order) for a view at `scale` screen px per world unit with works drawn
   * `boost` times their size; the nodes then glide to their spots (see step).
   */
  layout(works: readonly Work[], scale: number, boost: number): void {
    const gap = GAP_PX / scale;
    this.boost = boost;
    let largest = 0;
    for (const w of works) largest = Math.max(largest, 2 * Math.max(w.halfW, w.halfH) * boost + gap);
    if (largest === 0) return;
    const cell = largest;
    this.grid.clear();
    for (const work of works) {
      const hw = work.halfW * boost;
      const hh = work.halfH * boost;
      const [x, y] = this.freeSpot(work.nx * WORLD_SIZE, work.ny * WORLD_SIZE, hw, hh, gap, cell);
      work.tx = x;
      work.ty = y;
      const key = cellKey(Math.floor(x / cell), Math.floor(y / cell));
      const bucket = this.grid.get(key);
      if (bucket) bucket.push(work);
      else this.grid.set(key, [work]);
    }
    this.moving = true;
  }

  /** True while some works glide to their spots. */
  get gliding(): boolean {
    return this.moving;
  }

  /** Glides every node a step towards its spot; false once all have arrived (nothing to redraw). */
  step(works: readonly Work[], dt: number): boolean {
    if (!this.moving) return false;
    const k = 1 - Math.exp(-dt / GLIDE_MS);
    let still = true;
    for (let i = 0; i < works.length; i++) {
      const { node, tx, ty } = works[i];
      const dx = tx - node.x;
      const dy = ty - node.y;
      if (dx === 0 && dy === 0) continue;
      if (Math.abs(dx) + Math.abs(dy) < 0.5) node.position.set(tx, ty);
      else {
        node.position.set(node.x + dx * k, node.y + dy * k);
        still = false;
      }
    }
    this.moving = !still;
    return true;
  }

  /** The work's own place when free, else the first free spot on the rings around it (its place when none is). */
  private freeSpot(px: number, py: number, hw: number, hh: number, gap: number, cell: number): [number, number] {
    if (!this.collides(px, py, hw, hh, gap, cell)) return [px, py];
    for (let ring = 1; ring <= RINGS; ring++) {
      const count = PER_RING * ring;
      const radius = ring * cell * 0.55;
      for (let i = 0; i < count; i++) {
        const a = (2 * Math.PI * (i + 0.5 * (ring % 2))) / count;
        const x = px + radius * Math.cos(a);
        const y = py + radius * Math.sin(a);
        if (!this.collides(x, y, hw, hh, gap, cell)) return [x, y];
      }
    }
    return [px, py];
  }

  /** True when a work centred at (x, y) with these half sizes would overlap one already placed. */
  private collides(x: number, y: number, hw: number, hh: number, gap: number, cell: number): boolean {
    const cx = Math.floor(x / cell);
    const cy = Math.floor(y / cell);
    for (let i = cx - 1; i <= cx + 1; i++) {
      for (let j = cy - 1; j <= cy + 1; j++) {
        const bucket = this.grid.get(cellKey(i, j));
        if (!bucket) continue;
        for (const other of bucket) {
          if (
            Math.abs(other.tx - x) < hw + other.halfW * this.boost + gap &&
            Math.abs(other.ty - y) < hh + other.halfH * this.boost + gap
          ) {
            return true;
          }
        }
      }
    }
    return false;
  }
}

/** One number per grid cell (cells span far fewer than 2^21 along either axis). */
function cellKey(i: number, j: number): number {
  return (i + 0x100000) * 0x200000 + (j + 0x100000);
}
