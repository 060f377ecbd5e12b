/** One artwork on the map: its sprite, its size on the map, and its appear and hover animations. */
import { Container, Sprite, Texture } from 'pixi.js';
import type { Result } from './api';
import type { Bounds } from './camera';
import type { TextureRequest } from './textures';
import { clamp } from './util';
import { CARD_SIZE, WORLD_SIZE } from './world';

const APPEAR_MS = 450;
const STAGGER_MS = 28;
const STAGGER_TOTAL_MS = 600;
const HOVER_LIFT = 0.09;

/** One artwork on the map. */
export interface Work {
  readonly result: Result;
  /** Position on the map in [0, 1] (the API's x, y; a stand-in when the API has none yet). */
  readonly nx: number;
  readonly ny: number;
  readonly node: WorkNode;
  readonly image: Sprite;
  halfW: number;
  halfH: number;
  thumb: Texture | null;
  full: Texture | null;
  fullReq: TextureRequest | null;
  onScreen: boolean;
  wantsFull: boolean;
  hover: number;
  hoverTarget: number;
  /** Appearance progress in ms; negative while waiting for its turn in the stagger. */
  appearMs: number;
  animating: boolean;
}

/** A work's container on the canvas, pointing back at its work for hit testing. */
export class WorkNode extends Container {
  work!: Work;
}

/** How long each work of a set of `count` waits after the one before to appear. */
export function staggerMs(count: number): number {
  // One after another, the whole set within STAGGER_TOTAL_MS however large it is.
  return Math.min(STAGGER_MS, STAGGER_TOTAL_MS / count);
}

/** A work at (nx, ny) on the map, a grey square until a texture arrives, appearing after `delayMs`. */
export function createWork(result: Result, nx: number, ny: number, delayMs: number, boost: number): Work {
  const node = new WorkNode();
  const image = new Sprite(Texture.WHITE);
  image.anchor.set(0.5);
  image.tint = 0x25272c;
  const half = CARD_SIZE * 0.36;
  image.width = half * 2;
  image.height = half * 2;
  node.addChild(image);
  node.position.set(nx * WORLD_SIZE, ny * WORLD_SIZE);
  node.alpha = 0;
  node.scale.set(0.85 * boost);
  const work: Work = {
    result,
    nx,
    ny,
    node,
    image,
    halfW: half,
    halfH: half,
    thumb: null,
    full: null,
    fullReq: null,
    onScreen: true,
    wantsFull: false,
    hover: 0,
    hoverTarget: 0,
    appearMs: -delayMs,
    animating: false,
  };
  node.work = work;
  return work;
}

/** Draws a texture on the work at its aspect ratio, CARD_SIZE on its longer side. */
export function showTexture(work: Work, texture: Texture): void {
  const { image } = work;
  image.texture = texture;
  image.tint = 0xffffff;
  const aspect = texture.width / texture.height;
  const w = aspect >= 1 ? CARD_SIZE : CARD_SIZE * aspect;
  const h = aspect >= 1 ? CARD_SIZE / aspect : CARD_SIZE;
  image.width = w;
  image.height = h;
  work.halfW = w / 2;
  work.halfH = h / 2;
}

/** Leaves a muted placeholder where the work's image could not be loaded. */
export function showMissing(work: Work): void {
  work.image.tint = 0x3a2e2e;
}

/** Cancels the work's pending download and takes it off the canvas. */
export function destroyWork(work: Work): void {
  if (work.fullReq) work.fullReq.cancelled = true;
  work.node.destroy({ children: true });
}

/** The world rectangle that some works and a point cover. */
export function boundsOf(works: readonly Work[], point: { x: number; y: number } | null): Bounds {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const w of works) {
    // Thumbnails may not be loaded yet: assume the largest a card can be.
    const half = CARD_SIZE / 2;
    minX = Math.min(minX, w.node.x - half);
    maxX = Math.max(maxX, w.node.x + half);
    minY = Math.min(minY, w.node.y - half);
    maxY = Math.max(maxY, w.node.y + half);
  }
  if (point) {
    minX = Math.min(minX, point.x);
    maxX = Math.max(maxX, point.x);
    minY = Math.min(minY, point.y);
    maxY = Math.max(maxY, point.y);
  }
  return { minX, minY, maxX, maxY };
}

/** The works whose appearance (fade and grow in, staggered) or hover lift is animating. */
export class WorkAnimations {
  /** An array rather than a set, to avoid allocation every frame. */
  private readonly moving: Work[] = [];

  add(work: Work): void {
    if (work.animating) return;
    work.animating = true;
    this.moving.push(work);
  }

  /** Advances every animation by `dt` ms; works rest at scale `boost`. */
  step(dt: number, boost: number): void {
    const list = this.moving;
    for (let i = list.length - 1; i >= 0; i--) {
      const w = list[i];
      if (advance(w, dt, boost)) continue;
      w.animating = false;
      list[i] = list[list.length - 1];
      list.pop();
    }
  }

  /** Stops animating a work (it is leaving the map). */
  remove(work: Work): void {
    const at = this.moving.indexOf(work);
    if (at >= 0) this.moving.splice(at, 1);
    work.animating = false;
  }

  clear(): void {
    this.moving.length = 0;
  }
}

/** One frame of a work's animations; false once they have all settled. */
function advance(w: Work, dt: number, boost: number): boolean {
  let busy = false;
  if (w.appearMs < APPEAR_MS) {
    w.appearMs += dt;
    const a = clamp(w.appearMs / APPEAR_MS, 0, 1);
    w.node.alpha = a;
    busy = a < 1;
  }
  const k = 1 - Math.exp(-dt / 70);
  w.hover += (w.hoverTarget - w.hover) * k;
  if (Math.abs(w.hoverTarget - w.hover) < 0.002) w.hover = w.hoverTarget;
  else busy = true;
  const appear = clamp(w.appearMs / APPEAR_MS, 0, 1);
  const grow = 0.85 + 0.15 * (1 - (1 - appear) * (1 - appear));
  w.node.scale.set(grow * (1 + HOVER_LIFT * w.hover) * boost);
  return busy;
}
