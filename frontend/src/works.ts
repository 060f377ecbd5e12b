/** One artwork on the map: its sprite, its size on the map, and its appear and hover animations. */
import { Container, Graphics, Sprite, Text, Texture } from 'pixi.js';
import type { Result } from './api';
import type { Bounds } from './camera';
import type { TextureRequest } from './textures';
import { clamp } from './util';
import { CARD_SIZE, WORLD_SIZE } from './world';

const APPEAR_MS = 450;
const STAGGER_MS = 28;
const STAGGER_TOTAL_MS = 600;
const HOVER_LIFT = 0.09;
/** The outline in its search's colour, in screen pixels. */
const OUTLINE_PX = 2;
/** The rank and stack tabs show once a work is at least this many screen pixels long. */
const BADGE_FROM_PX = 40;
/** How far, in screen pixels, the card of a folded stack peeks out behind its best hit, and how strongly. */
const PILE_OFFSET_PX = 5;
const PILE_ALPHA = 0.55;
const TAB_STYLE = { fontFamily: 'system-ui, sans-serif', fontSize: 11, fontWeight: '700', fill: 0x101114 } as const;

/** One artwork on the map. */
export interface Work {
  readonly result: Result;
  /** Position on the map in [0, 1] (the API's x, y; a stand-in when the API has none yet). */
  readonly nx: number;
  readonly ny: number;
  readonly node: WorkNode;
  readonly image: Sprite;
  /** The outline behind the image, in the colour of the search it is shown as a hit of. */
  readonly outline: Sprite;
  /** A card peeking out behind it while near-duplicates are stacked under it (see showMark). */
  readonly pile: Sprite;
  /** Its rank in that search, in the top-left corner, while that search's results are the ones listed. */
  readonly badge: Tab;
  /** How many near-duplicates are stacked under it in that search, in the top-right corner ("+2"). */
  readonly tag: Tab;
  /** Its colour and rank in each search that holds it, by the search's label, in the order they came. */
  readonly marks: Map<string, HitMark>;
  /** Its mark in the listed search, when that search holds it. */
  listed: HitMark | null;
  /** Where the work is drawn, in world units: its place, or the free spot it was spread to (see spread.ts). */
  tx: number;
  ty: number;
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

/** How a work is marked as a search's hit: that search's colour, the work's rank in it (1 is the best; a
 * near-duplicate shown beside its stack's best hit shares its rank) and how many near-duplicates are stacked, folded,
 * under it. */
export interface HitMark {
  colour: number;
  rank: number;
  stacked: number;
}

/** A work at (nx, ny) on the map, a grey square until a texture arrives, appearing after `delayMs`. */
export function createWork(result: Result, nx: number, ny: number, delayMs: number, boost: number): Work {
  const node = new WorkNode();
  const outline = new Sprite(Texture.WHITE);
  outline.anchor.set(0.5);
  const pile = new Sprite(Texture.WHITE);
  pile.anchor.set(0.5);
  pile.alpha = PILE_ALPHA;
  pile.visible = false;
  const image = new Sprite(Texture.WHITE);
  image.anchor.set(0.5);
  image.tint = 0x25272c;
  const half = CARD_SIZE * 0.36;
  image.width = half * 2;
  image.height = half * 2;
  const badge = new Tab();
  const tag = new Tab();
  node.addChild(pile, outline, image, badge, tag);
  node.position.set(nx * WORLD_SIZE, ny * WORLD_SIZE);
  node.alpha = 0;
  node.scale.set(0.85 * boost);
  const work: Work = {
    result,
    nx,
    ny,
    node,
    image,
    outline,
    pile,
    badge,
    tag,
    marks: new Map(),
    listed: null,
    tx: node.x,
    ty: node.y,
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

/** Keeps the outline, the pile and the corner tabs a constant size on screen, for works drawn at `scale` px per unit. */
export function decorate(work: Work, scale: number): void {
  const { outline, pile, badge, tag, halfW, halfH } = work;
  const px = 1 / scale;
  outline.width = 2 * halfW + 2 * OUTLINE_PX * px;
  outline.height = 2 * halfH + 2 * OUTLINE_PX * px;
  pile.width = outline.width;
  pile.height = outline.height;
  pile.position.set(PILE_OFFSET_PX * px, -PILE_OFFSET_PX * px);
  const legible = 2 * Math.max(halfW, halfH) * scale >= BADGE_FROM_PX;
  badge.visible = legible && badge.caption !== '';
  tag.visible = legible && tag.caption !== '';
  badge.scale.set(px);
  badge.position.set(-halfW + 3 * px, -halfH + 3 * px);
  tag.scale.set(px);
  tag.position.set(halfW - (3 + tag.widthPx) * px, -halfH + 3 * px);
}

/** Shows the work as a hit of the search `active` when it holds the work (outline, rank, and its stack folded
 * under it), else of the first search that holds it (outline only). */
export function showMark(work: Work, active: string | null): void {
  const own = active !== null ? (work.marks.get(active) ?? null) : null;
  const mark = own ?? work.marks.values().next().value;
  if (!mark) return;
  work.listed = own;
  work.outline.tint = mark.colour;
  work.pile.tint = mark.colour;
  work.pile.visible = (own?.stacked ?? 0) > 0;
  work.badge.show(own ? String(own.rank) : '', mark.colour);
  work.tag.show(own?.stacked ? `+${own.stacked}` : '', mark.colour);
}

/** A short text in a rounded tab of its search's colour, its top-left corner at its origin; its size is in screen
 * pixels (decorate scales it). */
class Tab extends Container {
  caption = '';
  /** Its width in screen pixels. */
  widthPx = 0;
  private readonly tab = new Graphics();
  private readonly text = new Text({ text: '', style: TAB_STYLE, resolution: 2 });
  private colour = -1;

  constructor() {
    super();
    this.addChild(this.tab, this.text);
    this.visible = false;
  }

  /** Shows a text in a colour, or nothing (''). */
  show(caption: string, colour: number): void {
    if (caption === this.caption && (caption === '' || colour === this.colour)) return;
    this.caption = caption;
    if (!caption) {
      this.visible = false;
      return;
    }
    this.colour = colour;
    this.text.text = caption;
    const w = Math.max(16, this.text.width + 8);
    this.widthPx = w;
    this.tab.clear().roundRect(0, 0, w, 16, 4).fill({ color: colour });
    this.text.position.set((w - this.text.width) / 2, (16 - this.text.height) / 2);
  }
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

/** The world rectangle that some works' places and a point cover. */
export function boundsOf(works: readonly Work[], point: { x: number; y: number } | null): Bounds {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const w of works) {
    // Their places, not where they are spread to at this zoom; thumbnails may not be loaded yet: assume the
    // largest a card can be.
    const half = CARD_SIZE / 2;
    const x = w.nx * WORLD_SIZE;
    const y = w.ny * WORLD_SIZE;
    minX = Math.min(minX, x - half);
    maxX = Math.max(maxX, x + half);
    minY = Math.min(minY, y - half);
    maxY = Math.max(maxY, y + half);
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

  /** Advances every animation by `dt` ms, works resting at scale `boost`; false when none was running. */
  step(dt: number, boost: number): boolean {
    const list = this.moving;
    const any = list.length > 0;
    for (let i = list.length - 1; i >= 0; i--) {
      const w = list[i];
      if (advance(w, dt, boost)) continue;
      w.animating = false;
      list[i] = list[list.length - 1];
      list.pop();
    }
    return any;
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
