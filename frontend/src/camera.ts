/** The camera: pan and zoom (pixi-viewport), the area the UI leaves free, animated flights and framing. */
import { Viewport } from 'pixi-viewport';
import type { Application } from 'pixi.js';
import { clamp } from './util';
import { WORLD_SIZE } from './world';

/** The closest zoom of a small collection; a large one zooms closer (see setMaxScale). */
const MAX_SCALE = 5;
/** A result set is never framed closer than this, so a single hit does not fill the screen. */
const MAX_FIT_SCALE = 1.5;
const FLIGHT_MS = 1000;

/** How far, in CSS pixels, the floating search bar and the side panel reach into each side of the screen. */
export interface Insets {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

/** A rectangle of the world, in world units. */
export interface Bounds {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

/** A view of the map: the point at the screen's centre (both in [0, 1]) and the zoom (screen px per world unit). */
export interface MapView {
  x: number;
  y: number;
  scale: number;
}

/** How the view changed between two frames: zoomed (and maybe moved), or only moved (panned, resized). */
type ViewChange = 'zoomed' | 'moved' | null;

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

/** Where the map is looked at from, and the flights that move it. */
export class Camera {
  readonly viewport: Viewport;
  private insets: Insets = { top: 0, right: 0, bottom: 0, left: 0 };
  private maxScale = MAX_SCALE;
  private flight: Flight | null = null;
  // The view last reported by viewChange().
  private lastX = NaN;
  private lastY = NaN;
  private lastScale = NaN;
  private lastW = 0;
  private lastH = 0;

  constructor(private readonly app: Application) {
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
      .clampZoom({ minScale: this.minScale(), maxScale: this.maxScale });
    // Any gesture of the user's takes the camera back from an animation.
    app.canvas.addEventListener('pointerdown', () => this.stop());
    app.canvas.addEventListener('wheel', () => this.stop(), { passive: true });
  }

  /** True while the camera is flying. */
  get flying(): boolean {
    return this.flight !== null;
  }

  /** Screen pixels per world unit. */
  get scale(): number {
    return this.viewport.scale.x;
  }

  setInsets(insets: Partial<Insets>): void {
    this.insets = { ...this.insets, ...insets };
  }

  /** Width and height, in CSS pixels, of the area not covered by the UI. */
  freeSize(): [number, number] {
    const { top, right, bottom, left } = this.insets;
    return [this.app.screen.width - left - right, this.app.screen.height - top - bottom];
  }

  /** The part of the world on screen. */
  visibleBounds(): Bounds {
    const vp = this.viewport;
    const s = vp.scale.x;
    const minX = -vp.x / s;
    const minY = -vp.y / s;
    // The viewport's own screen size: during a resize it is still the size the view was seen at.
    return { minX, minY, maxX: minX + vp.screenWidth / s, maxY: minY + vp.screenHeight / s };
  }

  /** The world point under a point of the canvas (CSS pixels). */
  toWorld(sx: number, sy: number): { x: number; y: number } {
    const vp = this.viewport;
    const s = vp.scale.x;
    return { x: (sx - vp.x) / s, y: (sy - vp.y) / s };
  }

  /** Where a world point is on the canvas (CSS pixels). */
  toScreen(wx: number, wy: number): { x: number; y: number } {
    const vp = this.viewport;
    const s = vp.scale.x;
    return { x: wx * s + vp.x, y: wy * s + vp.y };
  }

  /** Reports, once, whether the view zoomed or moved since the last call. */
  viewChange(): ViewChange {
    const vp = this.viewport;
    const s = vp.scale.x;
    const { width, height } = this.app.screen;
    const zoomed = s !== this.lastScale;
    if (!zoomed && vp.x === this.lastX && vp.y === this.lastY && width === this.lastW && height === this.lastH) {
      return null;
    }
    this.lastX = vp.x;
    this.lastY = vp.y;
    this.lastScale = s;
    this.lastW = width;
    this.lastH = height;
    return zoomed ? 'zoomed' : 'moved';
  }

  zoomBy(factor: number): void {
    const [fx, fy] = this.freeCentre();
    // Keep the world point at the centre of the free area where it is.
    const { x, y } = this.toWorld(fx, fy);
    const to = clamp(this.scale * factor, this.minScale(), this.maxScale);
    this.flyToFrame(x, y, to, 350);
  }

  /**
   * Pans (without zooming) so that a world rectangle centred on (x, y), `halfW` by `halfH` either side,
   * is not hidden behind the UI.
   */
  reveal(x: number, y: number, halfW: number, halfH: number): void {
    const s = this.scale;
    const { x: sx, y: sy } = this.toScreen(x, y);
    const { top, right, bottom, left } = this.insets;
    const margin = 24;
    const w = this.app.screen.width;
    const h = this.app.screen.height;
    const halfWPx = halfW * s + margin;
    const halfHPx = halfH * s + margin;
    if (sx - halfWPx >= left && sx + halfWPx <= w - right && sy - halfHPx >= top && sy + halfHPx <= h - bottom) {
      return;
    }
    const [fx, fy] = this.freeCentre();
    const centre = this.viewport.center;
    this.flyTo(centre.x + (sx - fx) / s, centre.y + (sy - fy) / s, s);
  }

  /** Flies so that a world rectangle fills the free area, `pad` screen pixels around it. */
  frame(bounds: Bounds, pad: number): void {
    const { minX, minY, maxX, maxY } = bounds;
    this.flyToFrame((minX + maxX) / 2, (minY + maxY) / 2, this.scaleToFrame(bounds, pad));
  }

  /** The zoom at which frame(bounds, pad) arrives. */
  scaleToFrame(bounds: Bounds, pad: number): number {
    return this.fitScale(bounds.maxX - bounds.minX, bounds.maxY - bounds.minY, true, pad);
  }

  /** Flies to show the whole map. */
  frameWorld(): void {
    this.flyToFrame(WORLD_SIZE / 2, WORLD_SIZE / 2, this.fitScale(WORLD_SIZE, WORLD_SIZE, false));
  }

  /** The zoom at which the whole map fits the free area. */
  worldScale(): number {
    return this.fitScale(WORLD_SIZE, WORLD_SIZE, false);
  }

  /** Where the camera looks: the map point (in [0, 1]) at the screen's centre, and the zoom. */
  view(): MapView {
    const { x, y } = this.viewport.center;
    return { x: x / WORLD_SIZE, y: y / WORLD_SIZE, scale: this.viewport.scale.x };
  }

  /** Jumps (no animation) to a view. */
  setView(view: MapView): void {
    this.stop();
    this.viewport.setZoom(clamp(view.scale, this.minScale(), this.maxScale), true);
    this.viewport.moveCenter(view.x * WORLD_SIZE, view.y * WORLD_SIZE);
  }

  /** Jumps (no animation) to show the whole map. */
  showWholeWorld(): void {
    const s = this.fitScale(WORLD_SIZE, WORLD_SIZE, false);
    this.viewport.scale.set(s);
    this.viewport.moveCenter(WORLD_SIZE / 2, WORLD_SIZE / 2);
  }

  /**
   * Follows the canvas to its new size keeping the world point at its centre, and everything that was in view
   * still in view: a rotated phone or a narrower window zooms out by as much as it shrank.
   */
  resize(width: number, height: number): void {
    const vp = this.viewport;
    const { x, y } = vp.center;
    const shrink = Math.min(1, width / Math.max(vp.screenWidth, 1), height / Math.max(vp.screenHeight, 1));
    vp.resize(width, height, WORLD_SIZE, WORLD_SIZE);
    this.clampZoom();
    if (width > 0 && height > 0) {
      vp.setZoom(clamp(vp.scale.x * shrink, this.minScale(), this.maxScale), false);
      vp.moveCenter(x, y);
    }
  }

  /** Lets the camera zoom in until `scale` (never less than MAX_SCALE): a dense map's works are small. */
  setMaxScale(scale: number): void {
    this.maxScale = Math.max(MAX_SCALE, scale);
    this.clampZoom();
  }

  private clampZoom(): void {
    this.viewport.plugins.remove('clamp-zoom');
    this.viewport.clampZoom({ minScale: this.minScale(), maxScale: this.maxScale });
  }

  /** Ends the flight, if any, where the camera is. */
  stop(): void {
    this.flight = null;
  }

  /** Advances the flight by `dt` ms. */
  step(dt: number): void {
    const f = this.flight;
    if (!f) return;
    f.elapsed += dt;
    const t = Math.min(1, f.elapsed / f.duration);
    const e = t < 0.5 ? 4 * t * t * t : 1 - Math.pow(-2 * t + 2, 3) / 2; // easeInOutCubic
    const logScale = f.fromLogScale + (f.toLogScale - f.fromLogScale) * e - f.hop * 4 * e * (1 - e);
    this.viewport.scale.set(Math.exp(logScale));
    this.viewport.moveCenter(f.fromX + (f.toX - f.fromX) * e, f.fromY + (f.toY - f.fromY) * e);
    if (t >= 1) this.flight = null;
  }

  /** The scale at which a w × h world rectangle fits the free area with `pad` screen pixels around it. */
  private fitScale(w: number, h: number, limit: boolean, pad = 48): number {
    const [width, height] = this.freeSize();
    const freeW = Math.max(120, width - pad * 2);
    const freeH = Math.max(120, height - pad * 2);
    const s = Math.min(freeW / Math.max(w, 1), freeH / Math.max(h, 1));
    return clamp(s, this.minScale(), limit ? MAX_FIT_SCALE : this.maxScale);
  }

  private minScale(): number {
    return (Math.min(this.app.screen.width, this.app.screen.height) / WORLD_SIZE) * 0.5;
  }

  /** Centre, in screen pixels, of the area not covered by the UI. */
  private freeCentre(): [number, number] {
    const { top, left } = this.insets;
    const [width, height] = this.freeSize();
    return [left + width / 2, top + height / 2];
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
}
