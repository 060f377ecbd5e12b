import { Application, Container, Graphics, Sprite, Text, Texture } from 'pixi.js';
import { Viewport } from 'pixi-viewport';
import type { Point, Result } from './api';
import { TextureStore, type TextureRequest } from './textures';

/** The map is a WORLD_SIZE square; a result at (x, y) in [0, 1] sits at (x·WORLD_SIZE, y·WORLD_SIZE). */
export const WORLD_SIZE = 20000;
/** Longer side of a work on the map, in world units. */
const CARD_SIZE = 220;
/** Longer side, in pixels, of decoded thumbnails and of the sharper renditions. */
const THUMB_MAX = 192;
const FULL_MAX = 1024;
/** A work spanning more device pixels than this on screen gets its sharper rendition. */
const FULL_AT_PX = 1.3 * THUMB_MAX;
/** Sharper renditions kept in memory once they are no longer needed, before evicting them. */
const FULL_KEEP = 40;
const MAX_SCALE = 5;
/** A result set is never framed closer than this, so a single hit does not fill the screen. */
const MAX_FIT_SCALE = 1.5;
const FLIGHT_MS = 1000;
const APPEAR_MS = 450;
const STAGGER_MS = 28;
const STAGGER_TOTAL_MS = 600;
const HOVER_LIFT = 0.09;
/**
 * Zoomed out, works are drawn at least this many CSS pixels long (on their longer side), so that a
 * framed result set reads as pictures rather than specks. The minimum shrinks as the canvas fills up
 * (see minCardPx), down to MIN_CARD_PX_FLOOR, so that thousands of works do not merge into one blob.
 */
const MIN_CARD_PX = 88;
const MIN_CARD_PX_FLOOR = 14;
/** How much of a square of the free area's shorter side the works may cover at the minimum size. */
const MIN_CARD_FILL = 1;
/** Query labels: gap between pills, and length of the leader from the anchor to the pill. */
const LABEL_GAP = 4;
const LABEL_LIFT = 16;
const ACCENT = 0xd9b26f;
const LABEL_FONT = 'ui-serif, "Iowan Old Style", "Palatino Linotype", Palatino, Georgia, serif';

/** A query's label: a dot where the query landed, a leader line and a pill with the text. */
interface Label {
  /** Where the query landed, in world units. */
  x: number;
  y: number;
  /** The dot and leader (in the leaders layer, under every pill) and the pill, both placed at (x, y). */
  readonly leader: Graphics;
  readonly pill: Container;
  /** The pill's size in screen pixels. */
  readonly w: number;
  readonly h: number;
  /** Which candidate offset the pill sits at (see labelOffset); -1 before the first layout. */
  slot: number;
}

/** One artwork on the map. */
interface Work {
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

class WorkNode extends Container {
  work!: Work;
}

interface Insets {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

export interface SpriteInfo {
  id: number;
  x: number;
  y: number;
  screenX: number;
  screenY: number;
}

interface Flight {
  elapsed: number;
  duration: number;
  fromX: number;
  fromY: number;
  toX: number;
  toY: number;
  fromLogScale: number;
  toLogScale: number;
  /** How far (in log scale) to pull back mid-flight so that both ends stay in view. */
  hop: number;
}

/** The zoomable, pannable canvas of artworks (pixi.js + pixi-viewport). */
export class ArtMap {
  onSelect: (result: Result) => void = () => {};
  onCountChange: (count: number) => void = () => {};

  private readonly viewport: Viewport;
  private readonly worksLayer = new Container();
  private readonly leadersLayer = new Container();
  private readonly labelsLayer = new Container();
  private readonly works = new Map<number, Work>();
  /** The same works as an array, for allocation-free iteration every frame the view moves. */
  private readonly workList: Work[] = [];
  private readonly labels = new Map<string, Label>();
  /** The same labels, in the order they were placed (earlier ones keep the better spots). */
  private readonly labelList: Label[] = [];
  /** Works whose hover or appearance is animating; kept as an array to avoid per-frame allocation. */
  private readonly moving: Work[] = [];
  private readonly thumbs = new TextureStore(6);
  private readonly fulls = new TextureStore(2);
  private fullCount = 0;

  private readonly hoverDecor = new Graphics();
  private readonly selectDecor = new Graphics();
  private hovered: Work | null = null;
  private selected: Work | null = null;
  private decorScale = 0;
  /** Extra scale of every work when zoomed far out (see MIN_CARD_PX). */
  private boost = 1;
  /** Labels need laying out again (one was added or moved). */
  private labelsDirty = false;

  private insets: Insets = { top: 0, right: 0, bottom: 0, left: 0 };
  private flight: Flight | null = null;
  private pointerX = -1;
  private pointerY = -1;
  private pointerInside = false;
  private cursor = '';
  // The view last processed by updateView(): culling and level of detail rerun only when it changes.
  private lastX = NaN;
  private lastY = NaN;
  private lastScale = NaN;
  private lastW = 0;
  private lastH = 0;
  private viewDirty = true;

  private constructor(private readonly app: Application) {
    const { width, height } = app.screen;
    this.viewport = new Viewport({
      screenWidth: width,
      screenHeight: height,
      worldWidth: WORLD_SIZE,
      worldHeight: WORLD_SIZE,
      events: app.renderer.events,
      ticker: app.ticker,
      passiveWheel: false,
      disableOnContextMenu: true,
    });
    this.viewport
      .drag()
      .pinch()
      .wheel({ smooth: 4 })
      .decelerate({ friction: 0.94 })
      .clampZoom({ minScale: this.minScale(), maxScale: MAX_SCALE });

    app.stage.addChild(this.viewport);
    this.viewport.addChild(makeGround(), this.worksLayer, this.leadersLayer, this.labelsLayer);
    // Hit testing is done here against plain rectangles, so pixi need not walk thousands of sprites.
    this.worksLayer.eventMode = 'none';
    this.worksLayer.interactiveChildren = false;
    for (const layer of [this.leadersLayer, this.labelsLayer]) {
      layer.eventMode = 'none';
      layer.interactiveChildren = false;
    }

    this.viewport.on('clicked', (e) => {
      const work = this.workAt(e.screen.x, e.screen.y);
      if (work) this.onSelect(work.result);
    });
    const canvas = app.canvas;
    canvas.addEventListener('pointermove', (e) => {
      this.pointerX = e.offsetX;
      this.pointerY = e.offsetY;
      this.pointerInside = true;
      this.updateHover();
    });
    canvas.addEventListener('pointerleave', () => {
      this.pointerInside = false;
      this.updateHover();
    });
    // Any gesture of the user's takes the camera back from an animation.
    canvas.addEventListener('pointerdown', () => (this.flight = null));
    canvas.addEventListener('wheel', () => (this.flight = null), { passive: true });

    this.showWholeWorld();
    app.ticker.add((ticker) => this.tick(ticker.deltaMS));
  }

  static async create(host: HTMLElement): Promise<ArtMap> {
    const app = new Application();
    await app.init({
      resizeTo: host,
      background: 0x0c0d0f,
      antialias: true,
      autoDensity: true,
      resolution: Math.min(window.devicePixelRatio || 1, 2),
      // WebGL where there is a GPU; pixi's canvas renderer where WebGL is missing or emulated.
      preference: hasSoftwareWebGL() ? 'canvas' : ['webgl', 'canvas'],
    });
    app.canvas.setAttribute('aria-label', 'Map of artworks: drag to pan, scroll or pinch to zoom');
    app.canvas.setAttribute('role', 'img');
    host.appendChild(app.canvas);
    const map = new ArtMap(app);
    app.renderer.on('resize', (w: number, h: number) => map.resize(w, h));
    return map;
  }

  get count(): number {
    return this.works.size;
  }

  /** True while the camera is flying to a result set. */
  get flying(): boolean {
    return this.flight !== null;
  }

  /** The part of the screen not covered by the floating search bar and the side panel. */
  setInsets(insets: Partial<Insets>): void {
    this.insets = { ...this.insets, ...insets };
    this.viewDirty = true; // the minimum size of works depends on the free area
  }

  /**
   * Adds a result set (skipping works already on the map), labels where the query landed and
   * flies the camera to frame it. Returns how many works were new.
   */
  addResults(results: Result[], label: string, queryPoint?: Point | null): number {
    if (results.length === 0) return 0;
    const batch: Work[] = [];
    let added = 0;
    let sumX = 0;
    let sumY = 0;
    let placed = 0;
    for (const r of results) {
      if (isUnit(r.x) && isUnit(r.y)) {
        sumX += r.x;
        sumY += r.y;
        placed++;
      }
    }
    const cx = placed ? sumX / placed : 0.5;
    const cy = placed ? sumY / placed : 0.5;
    let stray = 0;
    // Works appear one after another, the whole set within STAGGER_TOTAL_MS however large it is.
    const stagger = Math.min(STAGGER_MS, STAGGER_TOTAL_MS / results.length);
    for (const r of results) {
      let work = this.works.get(r.id);
      if (!work) {
        // Works not yet projected wait on a small spiral around the others.
        const [nx, ny] =
          isUnit(r.x) && isUnit(r.y) ? [r.x, r.y] : spiral(cx, cy, stray++, (CARD_SIZE * 1.3) / WORLD_SIZE);
        work = this.createWork(r, nx, ny, added * stagger);
        added++;
      }
      batch.push(work);
    }
    if (added) this.onCountChange(this.works.size);

    const anchor =
      queryPoint && isUnit(queryPoint.x) && isUnit(queryPoint.y)
        ? { x: queryPoint.x * WORLD_SIZE, y: queryPoint.y * WORLD_SIZE }
        : centroid(batch);
    this.placeLabel(label, anchor);
    this.frame(batch, anchor);
    this.viewDirty = true;
    return added;
  }

  /** Removes every work and label. */
  clear(): void {
    this.flight = null;
    this.hovered = null;
    this.selected = null;
    this.hoverDecor.removeFromParent();
    this.selectDecor.removeFromParent();
    for (const work of this.workList) {
      if (work.fullReq) work.fullReq.cancelled = true;
      work.node.destroy({ children: true });
    }
    this.works.clear();
    this.workList.length = 0;
    this.moving.length = 0;
    for (const label of this.labelList) {
      label.leader.destroy();
      label.pill.destroy({ children: true });
    }
    this.labels.clear();
    this.labelList.length = 0;
    this.thumbs.clear();
    this.fulls.clear();
    this.fullCount = 0;
    this.onCountChange(0);
    this.setCursor('');
  }

  /** Marks a work as the selected one (outlined), or clears the selection. */
  select(id: number | null): void {
    const work = id === null ? null : (this.works.get(id) ?? null);
    this.selected = work;
    if (!work) {
      this.selectDecor.removeFromParent();
      return;
    }
    work.node.addChild(this.selectDecor);
    this.worksLayer.setChildIndex(work.node, this.worksLayer.children.length - 1);
    this.drawDecor(true);
  }

  /** Pans (without zooming) so that a work is not hidden behind the side panel or the search bar. */
  reveal(id: number): void {
    const work = this.works.get(id);
    if (!work) return;
    const vp = this.viewport;
    const s = vp.scale.x;
    const sx = work.node.x * s + vp.x;
    const sy = work.node.y * s + vp.y;
    const { top, right, bottom, left } = this.insets;
    const margin = 24;
    const w = this.app.screen.width;
    const h = this.app.screen.height;
    const k = s * work.node.scale.x;
    const halfW = work.halfW * k + margin;
    const halfH = work.halfH * k + margin;
    if (sx - halfW >= left && sx + halfW <= w - right && sy - halfH >= top && sy + halfH <= h - bottom) return;
    const [fx, fy] = this.freeCentre();
    this.flyTo(vp.center.x + (sx - fx) / s, vp.center.y + (sy - fy) / s, s);
  }

  zoomBy(factor: number): void {
    const vp = this.viewport;
    const [fx, fy] = this.freeCentre();
    const s = vp.scale.x;
    // Keep the world point at the centre of the free area where it is.
    const wx = (fx - vp.x) / s;
    const wy = (fy - vp.y) / s;
    const to = clamp(s * factor, this.minScale(), MAX_SCALE);
    this.flyToFrame(wx, wy, to, 350);
  }

  /** Frames every work on the map, or the whole map when there is none. */
  fitAll(): void {
    if (this.works.size === 0) {
      this.flyToFrame(WORLD_SIZE / 2, WORLD_SIZE / 2, this.fitScale(WORLD_SIZE, WORLD_SIZE, false));
      return;
    }
    this.frame(this.workList, null);
  }

  /** Works on the map with their centres in CSS pixels of the page (for tests). */
  sprites(): SpriteInfo[] {
    const rect = this.app.canvas.getBoundingClientRect();
    const vp = this.viewport;
    const s = vp.scale.x;
    const out: SpriteInfo[] = [];
    for (const work of this.workList) {
      out.push({
        id: work.result.id,
        x: work.nx,
        y: work.ny,
        screenX: rect.left + work.node.x * s + vp.x,
        screenY: rect.top + work.node.y * s + vp.y,
      });
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------

  private createWork(result: Result, nx: number, ny: number, delayMs: number): Work {
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
    node.scale.set(0.85 * this.boost);
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
    this.works.set(result.id, work);
    this.workList.push(work);
    this.worksLayer.addChild(node);
    this.animate(work);

    const url = result.thumbnail_url || result.image_url;
    if (url) {
      this.thumbs.request(
        url,
        THUMB_MAX,
        () => work.onScreen,
        (texture) => {
          if (node.destroyed) {
            if (texture) this.thumbs.release(texture);
            return;
          }
          if (!texture) {
            image.tint = 0x3a2e2e; // The image could not be loaded: a muted placeholder stays.
            return;
          }
          work.thumb = texture;
          if (!work.full) this.showTexture(work, texture);
        },
      );
    }
    return work;
  }

  private showTexture(work: Work, texture: Texture): void {
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
    if (work === this.hovered || work === this.selected) this.drawDecor(true);
  }

  private placeLabel(text: string, anchor: { x: number; y: number }): void {
    this.labelsDirty = true;
    const existing = this.labels.get(text);
    if (existing) {
      existing.x = anchor.x;
      existing.y = anchor.y;
      existing.leader.position.set(anchor.x, anchor.y);
      existing.pill.position.set(anchor.x, anchor.y);
      existing.slot = -1;
      return;
    }
    const caption = new Text({
      text: truncate(text, 60),
      style: { fontFamily: LABEL_FONT, fontSize: 15, fill: 0xf4efe4, fontStyle: 'italic' },
    });
    const padX = 12;
    const padY = 6;
    const w = caption.width + padX * 2;
    const h = caption.height + padY * 2;
    // The pill is drawn centred on its container's origin; layoutLabels() moves it off the anchor.
    const pill = new Container();
    const body = new Graphics()
      .roundRect(-w / 2, -h / 2, w, h, h / 2)
      .fill({ color: 0x121316, alpha: 0.88 })
      .stroke({ color: ACCENT, alpha: 0.55, width: 1 });
    caption.position.set(-caption.width / 2, -h / 2 + padY);
    const inner = new Container();
    inner.addChild(body, caption);
    pill.addChild(inner);
    const leader = new Graphics();
    const inv = 1 / this.viewport.scale.x;
    for (const c of [leader, pill]) {
      c.position.set(anchor.x, anchor.y);
      c.scale.set(inv);
    }
    const label: Label = { x: anchor.x, y: anchor.y, leader, pill, w, h, slot: -1 };
    this.labels.set(text, label);
    this.labelList.push(label);
    this.leadersLayer.addChild(leader);
    this.labelsLayer.addChild(pill);
  }

  /**
   * Places every label's pill where it overlaps no other pill nor another label's dot, at the current
   * zoom: straight above its anchor when that is free, else below it, else stacked further above or
   * below, joined to its anchor by a leader line. Earlier labels keep the better spots, and a label
   * keeps its spot while it stays free, so that labels do not jump about while zooming.
   */
  private layoutLabels(): void {
    const list = this.labelList;
    if (list.length === 0) return;
    const s = this.viewport.scale.x;
    // Screen-space boxes (relative to the world origin, which pans with everything) placed so far.
    const placed: number[] = [];
    const dots: number[] = [];
    for (const l of list) dots.push(l.x * s, l.y * s);
    const free = (l: Label, index: number, slot: number): number => {
      const cx = l.x * s;
      const cy = l.y * s + labelOffset(l, slot);
      const x0 = cx - l.w / 2 - LABEL_GAP;
      const x1 = cx + l.w / 2 + LABEL_GAP;
      const y0 = cy - l.h / 2 - LABEL_GAP;
      const y1 = cy + l.h / 2 + LABEL_GAP;
      let overlap = 0;
      for (let i = 0; i < placed.length; i += 4) {
        const ox = Math.min(x1, placed[i + 2]) - Math.max(x0, placed[i]);
        const oy = Math.min(y1, placed[i + 3]) - Math.max(y0, placed[i + 1]);
        if (ox > 0 && oy > 0) overlap += ox * oy;
      }
      for (let i = 0; i < dots.length; i += 2) {
        if (i / 2 === index) continue;
        const dx = dots[i];
        const dy = dots[i + 1];
        if (dx > x0 - 4 && dx < x1 + 4 && dy > y0 - 4 && dy < y1 + 4) overlap += 64;
      }
      return overlap;
    };
    const SLOTS = 12;
    for (let i = 0; i < list.length; i++) {
      const l = list[i];
      let best = -1;
      if (free(l, i, 0) === 0) best = 0;
      else if (l.slot > 0 && free(l, i, l.slot) === 0) best = l.slot;
      else {
        let least = Infinity;
        for (let slot = 0; slot < SLOTS; slot++) {
          const overlap = free(l, i, slot);
          if (overlap < least) {
            least = overlap;
            best = slot;
            if (overlap === 0) break;
          }
        }
      }
      const dy = labelOffset(l, best);
      const cx = l.x * s;
      const cy = l.y * s + dy;
      placed.push(cx - l.w / 2, cy - l.h / 2, cx + l.w / 2, cy + l.h / 2);
      if (best === l.slot) continue;
      l.slot = best;
      l.pill.children[0].position.set(0, dy);
      const edge = dy < 0 ? dy + l.h / 2 : dy - l.h / 2;
      l.leader
        .clear()
        .moveTo(0, Math.sign(dy) * 4)
        .lineTo(0, edge)
        .stroke({ color: ACCENT, alpha: 0.7, width: 1 })
        .circle(0, 0, 4)
        .fill({ color: ACCENT });
    }
  }

  /** Flies the camera so that the given works (and the query's anchor) fill the free area. */
  private frame(batch: Work[], anchor: { x: number; y: number } | null): void {
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    for (const w of batch) {
      // Thumbnails may not be loaded yet: assume the largest a card can be.
      const half = CARD_SIZE / 2;
      minX = Math.min(minX, w.node.x - half);
      maxX = Math.max(maxX, w.node.x + half);
      minY = Math.min(minY, w.node.y - half);
      maxY = Math.max(maxY, w.node.y + half);
    }
    if (anchor) {
      minX = Math.min(minX, anchor.x);
      maxX = Math.max(maxX, anchor.x);
      minY = Math.min(minY, anchor.y);
      maxY = Math.max(maxY, anchor.y);
    }
    // Zoomed out, works are drawn larger than CARD_SIZE (see minCardPx): leave room for half of one.
    const margin = Math.max(48, this.minCardPx() / 2 + 16);
    const scale = this.fitScale(maxX - minX, maxY - minY, true, margin);
    this.flyToFrame((minX + maxX) / 2, (minY + maxY) / 2, scale);
  }

  /** The scale at which a w × h world rectangle fits the free area with `pad` screen pixels around it. */
  private fitScale(w: number, h: number, limit: boolean, pad = 48): number {
    const { top, right, bottom, left } = this.insets;
    const freeW = Math.max(120, this.app.screen.width - left - right - pad * 2);
    const freeH = Math.max(120, this.app.screen.height - top - bottom - pad * 2);
    const s = Math.min(freeW / Math.max(w, 1), freeH / Math.max(h, 1));
    return clamp(s, this.minScale(), limit ? MAX_FIT_SCALE : MAX_SCALE);
  }

  /**
   * The least length, in CSS pixels, of a work's longer side on screen. It is MIN_CARD_PX while few
   * works are on the canvas; with many, it is about the side of the share of the free area each work
   * would get (the map is square, so the free area's shorter side squared), so that a crowded canvas
   * zoomed out stays a field of small pictures rather than one blob.
   */
  private minCardPx(): number {
    const n = this.workList.length;
    if (n === 0) return MIN_CARD_PX;
    const { top, right, bottom, left } = this.insets;
    const side = Math.max(120, Math.min(this.app.screen.width - left - right, this.app.screen.height - top - bottom));
    return clamp(Math.sqrt((MIN_CARD_FILL * side * side) / n), MIN_CARD_PX_FLOOR, MIN_CARD_PX);
  }

  /** Centre, in screen pixels, of the area not covered by the UI. */
  private freeCentre(): [number, number] {
    const { top, right, bottom, left } = this.insets;
    return [
      left + (this.app.screen.width - left - right) / 2,
      top + (this.app.screen.height - top - bottom) / 2,
    ];
  }

  /** Flies so that world point (wx, wy) ends at the centre of the free area, at `scale`. */
  private flyToFrame(wx: number, wy: number, scale: number, duration = FLIGHT_MS): void {
    const [fx, fy] = this.freeCentre();
    const { width, height } = this.app.screen;
    // The viewport's centre is the screen's centre; offset it so (wx, wy) lands on the free centre.
    this.flyTo(wx + (width / 2 - fx) / scale, wy + (height / 2 - fy) / scale, scale, duration);
  }

  private flyTo(cx: number, cy: number, scale: number, duration = FLIGHT_MS): void {
    const vp = this.viewport;
    vp.plugins.get('decelerate')?.reset();
    const from = vp.center;
    const fromLog = Math.log(vp.scale.x);
    const toLog = Math.log(scale);
    // Pull back mid-flight when the trip is long compared with the view (van Wijk & Nuij, simplified).
    const dist = Math.hypot(cx - from.x, cy - from.y);
    const viewSpan = Math.min(this.app.screen.width, this.app.screen.height);
    const midScale = viewSpan / (dist + viewSpan / Math.max(vp.scale.x, scale));
    const hop = Math.max(0, (fromLog + toLog) / 2 - Math.log(midScale));
    const reduced = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
    this.flight = {
      elapsed: 0,
      duration: reduced ? 1 : duration,
      fromX: from.x,
      fromY: from.y,
      toX: cx,
      toY: cy,
      fromLogScale: fromLog,
      toLogScale: toLog,
      hop,
    };
  }

  /** Jumps (no animation) to show the whole map. */
  showWholeWorld(): void {
    const s = this.fitScale(WORLD_SIZE, WORLD_SIZE, false);
    this.viewport.scale.set(s);
    this.viewport.moveCenter(WORLD_SIZE / 2, WORLD_SIZE / 2);
  }

  private minScale(): number {
    return (Math.min(this.app.screen.width, this.app.screen.height) / WORLD_SIZE) * 0.5;
  }

  private resize(width: number, height: number): void {
    this.viewport.resize(width, height, WORLD_SIZE, WORLD_SIZE);
    this.viewport.plugins.remove('clamp-zoom');
    this.viewport.clampZoom({ minScale: this.minScale(), maxScale: MAX_SCALE });
    this.viewDirty = true;
  }

  private tick(dt: number): void {
    const vp = this.viewport;
    const f = this.flight;
    if (f) {
      f.elapsed += dt;
      const t = Math.min(1, f.elapsed / f.duration);
      const e = t < 0.5 ? 4 * t * t * t : 1 - Math.pow(-2 * t + 2, 3) / 2; // easeInOutCubic
      const logScale = f.fromLogScale + (f.toLogScale - f.fromLogScale) * e - f.hop * 4 * e * (1 - e);
      vp.scale.set(Math.exp(logScale));
      vp.moveCenter(f.fromX + (f.toX - f.fromX) * e, f.fromY + (f.toY - f.fromY) * e);
      if (t >= 1) this.flight = null;
    }

    // Per-work animations: appearance (fade and grow in, staggered) and hover lift.
    const list = this.moving;
    for (let i = list.length - 1; i >= 0; i--) {
      const w = list[i];
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
      w.node.scale.set(grow * (1 + HOVER_LIFT * w.hover) * this.boost);
      if (!busy) {
        w.animating = false;
        list[i] = list[list.length - 1];
        list.pop();
      }
    }

    const s = vp.scale.x;
    const { width, height } = this.app.screen;
    if (this.viewDirty || vp.x !== this.lastX || vp.y !== this.lastY || s !== this.lastScale || width !== this.lastW || height !== this.lastH) {
      const zoomed = s !== this.lastScale;
      this.lastX = vp.x;
      this.lastY = vp.y;
      this.lastScale = s;
      this.lastW = width;
      this.lastH = height;
      this.viewDirty = false;
      this.updateView(zoomed);
    }
  }

  /** Culls works off screen, picks each work's level of detail and keeps labels a constant size. */
  private updateView(zoomed: boolean): void {
    const vp = this.viewport;
    const s = vp.scale.x;
    const { width, height } = this.app.screen;
    // Works are drawn `boost` times larger when zoomed out, so that they stay legible (see minCardPx).
    const boost = Math.max(1, this.minCardPx() / (CARD_SIZE * s));
    const margin = CARD_SIZE * boost; // slack so that works slide in already drawn
    const left = -vp.x / s - margin;
    const top = -vp.y / s - margin;
    const right = left + width / s + 2 * margin;
    const bottom = top + height / s + 2 * margin;
    const devicePx = s * boost * this.app.renderer.resolution;

    const list = this.workList;
    for (let i = 0; i < list.length; i++) {
      const work = list[i];
      const { x, y } = work.node;
      const on = x >= left && x <= right && y >= top && y <= bottom;
      work.onScreen = on;
      work.node.visible = on;
      const wants = on && Math.max(work.halfW, work.halfH) * 2 * devicePx > FULL_AT_PX;
      work.wantsFull = wants;
      if (wants && !work.full && !work.fullReq && work.thumb) this.requestFull(work);
      else if (!wants && work.fullReq) {
        work.fullReq.cancelled = true;
        work.fullReq = null;
      }
    }
    if (this.fullCount > FULL_KEEP) this.evictFull();

    if (boost !== this.boost) {
      this.boost = boost;
      for (let i = 0; i < list.length; i++) if (!list[i].animating) list[i].node.scale.set(boost);
    }
    if (zoomed) {
      const inv = 1 / s;
      for (const layer of [this.leadersLayer, this.labelsLayer]) {
        const labels = layer.children;
        for (let i = 0; i < labels.length; i++) labels[i].scale.set(inv);
      }
    }
    if (zoomed || this.labelsDirty) {
      this.labelsDirty = false;
      this.layoutLabels();
    }
    // Outlines and shadows are drawn in screen pixels; redraw them when the zoom changed noticeably.
    if (Math.abs(Math.log((s * boost) / this.decorScale)) > 0.08) this.drawDecor(false);
    this.updateHover();
  }

  private requestFull(work: Work): void {
    const url = work.result.image_url || work.result.thumbnail_url;
    if (!url) return;
    work.fullReq = this.fulls.request(
      url,
      FULL_MAX,
      () => work.wantsFull,
      (texture) => {
        work.fullReq = null;
        if (!texture) return;
        if (work.node.destroyed || work.full) {
          this.fulls.release(texture);
          return;
        }
        work.full = texture;
        this.fullCount++;
        this.showTexture(work, texture);
      },
    );
  }

  /** Frees sharper renditions of works that are off screen or small again. */
  private evictFull(): void {
    for (const work of this.workList) {
      if (this.fullCount <= FULL_KEEP) return;
      if (work.full && !work.wantsFull) {
        const texture = work.full;
        work.full = null;
        this.fullCount--;
        if (work.thumb) this.showTexture(work, work.thumb);
        this.fulls.release(texture);
      }
    }
  }

  /** The top-most work under a screen point. */
  private workAt(sx: number, sy: number): Work | null {
    const vp = this.viewport;
    const s = vp.scale.x;
    const wx = (sx - vp.x) / s;
    const wy = (sy - vp.y) / s;
    const nodes = this.worksLayer.children;
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i] as WorkNode;
      if (!node.visible) continue;
      const w = node.work;
      const k = node.scale.x;
      if (Math.abs(wx - node.x) <= w.halfW * k && Math.abs(wy - node.y) <= w.halfH * k) return w;
    }
    return null;
  }

  private updateHover(): void {
    const work = this.pointerInside && !this.flight ? this.workAt(this.pointerX, this.pointerY) : null;
    if (work === this.hovered) return;
    const previous = this.hovered;
    if (previous) {
      previous.hoverTarget = 0;
      this.animate(previous);
    }
    this.hovered = work;
    if (work) {
      work.hoverTarget = 1;
      this.animate(work);
      // Lift it above its neighbours; the shadow sits under the image, the outline above it.
      this.worksLayer.setChildIndex(work.node, this.worksLayer.children.length - 1);
      work.node.addChildAt(this.hoverDecor, 0);
      this.drawDecor(true);
    } else {
      this.hoverDecor.removeFromParent();
    }
    this.setCursor(work ? 'pointer' : '');
  }

  private animate(work: Work): void {
    if (work.animating) return;
    work.animating = true;
    this.moving.push(work);
  }

  /** Draws the hover shadow and the selection outline at the current zoom. */
  private drawDecor(force: boolean): void {
    // The decorations are children of the works, which are scaled by `boost` when zoomed out.
    const s = this.viewport.scale.x * this.boost;
    if (!force && s === this.decorScale) return;
    this.decorScale = s;
    const px = 1 / s; // one screen pixel in the works' units
    const h = this.hovered;
    if (h) {
      const g = this.hoverDecor.clear();
      // A soft drop shadow from stacked translucent rectangles: cheap on both renderers.
      for (let i = 6; i >= 1; i--) {
        const spread = i * 3 * px;
        g.roundRect(
          -h.halfW - spread,
          -h.halfH - spread + 8 * px,
          2 * (h.halfW + spread),
          2 * (h.halfH + spread),
          spread + 2 * px,
        ).fill({ color: 0x000000, alpha: 0.09 });
      }
      g.rect(-h.halfW - px, -h.halfH - px, 2 * (h.halfW + px), 2 * (h.halfH + px)).fill({
        color: 0xffffff,
        alpha: 0.9,
      });
    }
    const sel = this.selected;
    if (sel) {
      const w = 3 * px;
      this.selectDecor
        .clear()
        .rect(-sel.halfW - w / 2 - px, -sel.halfH - w / 2 - px, 2 * sel.halfW + w + 2 * px, 2 * sel.halfH + w + 2 * px)
        .stroke({ color: ACCENT, width: w, alpha: 1 });
    }
  }

  private setCursor(cursor: string): void {
    if (cursor === this.cursor) return;
    this.cursor = cursor;
    this.app.canvas.style.cursor = cursor;
  }
}

/**
 * True when WebGL runs on a CPU emulation (SwiftShader, llvmpipe: headless browsers, machines without
 * a GPU), where drawing a full-screen WebGL canvas is several times slower than canvas 2D.
 */
function hasSoftwareWebGL(): boolean {
  try {
    const gl = document.createElement('canvas').getContext('webgl');
    if (!gl) return false;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return /swiftshader|llvmpipe|softpipe|software/i.test(renderer);
  } catch {
    return false;
  }
}

function makeGround(): Graphics {
  const g = new Graphics().rect(0, 0, WORLD_SIZE, WORLD_SIZE).fill({ color: 0x131417 });
  // A faint grid gives a sense of place and of motion while panning an empty stretch.
  const step = 1000;
  for (let v = step; v < WORLD_SIZE; v += step) {
    g.moveTo(v, 0).lineTo(v, WORLD_SIZE);
    g.moveTo(0, v).lineTo(WORLD_SIZE, v);
  }
  g.stroke({ color: 0xffffff, alpha: 0.035, width: 1, pixelLine: true });
  g.rect(0, 0, WORLD_SIZE, WORLD_SIZE).stroke({ color: 0xffffff, alpha: 0.08, width: 1, pixelLine: true });
  return g;
}

function isUnit(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function centroid(batch: Work[]): { x: number; y: number } {
  let x = 0;
  let y = 0;
  for (const w of batch) {
    x += w.node.x;
    y += w.node.y;
  }
  return { x: x / batch.length, y: y / batch.length };
}

/** The i-th point of a golden-angle spiral around (cx, cy). */
function spiral(cx: number, cy: number, i: number, step: number): [number, number] {
  const r = step * Math.sqrt(i + 1);
  const a = i * 2.399963;
  return [clamp(cx + r * Math.cos(a), 0, 1), clamp(cy + r * Math.sin(a), 0, 1)];
}

/** Vertical offset, in screen pixels, of a label's pill centre from its anchor, for a layout slot. */
function labelOffset(label: Label, slot: number): number {
  const sign = slot % 2 === 0 ? -1 : 1; // even slots above the anchor, odd ones below
  const step = Math.floor(slot / 2);
  return sign * (LABEL_LIFT + label.h / 2 + step * (label.h + 2 * LABEL_GAP));
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}
