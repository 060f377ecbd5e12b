/** Level of detail: which works are drawn, how large when zoomed out, and which get their sharper rendition. */
import type { Texture } from 'pixi.js';
import type { Bounds } from './camera';
import { TextureStore } from './textures';
import { clamp } from './util';
import { showMissing, showTexture, type Work } from './works';
import { CARD_SIZE } from './world';

/** Longer side, in pixels, of decoded thumbnails and of the sharper renditions. */
const THUMB_MAX = 192;
const FULL_MAX = 1024;
/** A work spanning more device pixels than this on screen gets its sharper rendition. */
const FULL_AT_PX = 1.3 * THUMB_MAX;
/** Sharper renditions kept in memory once they are no longer needed, before evicting them. */
const FULL_KEEP = 40;
/**
 * Zoomed out, works are drawn at least this many CSS pixels long (on their longer side), so that a
 * framed result set reads as pictures rather than specks. The minimum shrinks as the canvas fills up
 * (see minCardPx), down to MIN_CARD_PX_FLOOR, so that thousands of works do not merge into one blob.
 */
const MIN_CARD_PX = 88;
const MIN_CARD_PX_FLOOR = 14;
/** How much of a square of the free area's shorter side the works may cover at the minimum size: well under all of
 * it, so that a result set spread apart (spread.ts) still fits the screen. */
const MIN_CARD_FILL = 0.4;

/**
 * The least length, in CSS pixels, of a work's longer side on screen. It is MIN_CARD_PX while few
 * works are on the canvas; with many, it is about the side of the share of the free area each work
 * would get (the map is square, so the free area's shorter side squared), so that a crowded canvas
 * zoomed out stays a field of small pictures rather than one blob.
 */
export function minCardPx(count: number, freeWidth: number, freeHeight: number): number {
  if (count === 0) return MIN_CARD_PX;
  const side = Math.max(120, Math.min(freeWidth, freeHeight));
  return clamp(Math.sqrt((MIN_CARD_FILL * side * side) / count), MIN_CARD_PX_FLOOR, MIN_CARD_PX);
}

/** How steeply works grow on screen as the camera zooms in while they are held above their plain size: 0 would
 * keep them the same size (zooming in would only spread them), 1 is the plain zoom. */
const GROWTH = 0.35;
/** The longest a result is drawn, in CSS pixels: a dense map lets the camera zoom far closer than a card needs. */
const MAX_CARD_PX = 720;

/**
 * How many times CARD_SIZE works are drawn at `scale`: at least `minPx` long at `worldScale` (the whole map in
 * view) and growing steadily from there as the camera zooms in, until their plain size takes over; never more
 * than MAX_CARD_PX.
 */
export function boostAt(scale: number, minPx: number, worldScale: number): number {
  const plain = CARD_SIZE * scale;
  const held = minPx * Math.pow(Math.max(1, scale / worldScale), GROWTH);
  return Math.min(Math.max(1, held / plain), MAX_CARD_PX / plain);
}

/** The works' textures: a thumbnail for each, a sharper rendition while a work is large on screen. */
export class LevelOfDetail {
  private readonly thumbs = new TextureStore(6);
  private readonly fulls = new TextureStore(2);
  private fullCount = 0;

  /** `onTexture` hears of each work that shows a new texture or its placeholder (its size may have changed). */
  constructor(private readonly onTexture: (work: Work) => void) {}

  /** Starts loading the work's thumbnail; works on screen are served first. */
  loadThumbnail(work: Work): void {
    const url = work.result.thumbnail_url || work.result.image_url;
    if (!url) return;
    this.thumbs.request(
      url,
      THUMB_MAX,
      () => work.onScreen,
      (texture) => {
        if (work.node.destroyed) {
          if (texture) this.thumbs.release(texture);
          return;
        }
        if (!texture) {
          showMissing(work);
          this.onTexture(work);
          return;
        }
        work.thumb = texture;
        if (!work.full) this.show(work, texture);
      },
    );
  }

  /**
   * Shows the works within `visible` (and a margin), hides the others, and asks for or gives up the
   * sharper renditions; works are drawn `boost` times larger, at `devicePx` device pixels per world unit.
   */
  update(works: readonly Work[], visible: Bounds, boost: number, devicePx: number): void {
    const margin = CARD_SIZE * boost; // slack so that works slide in already drawn
    const left = visible.minX - margin;
    const top = visible.minY - margin;
    const right = visible.maxX + margin;
    const bottom = visible.maxY + margin;
    for (let i = 0; i < works.length; i++) {
      const work = works[i];
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
    if (this.fullCount > FULL_KEEP) this.evictFull(works);
  }

  /** Gives back the textures of a work taken off the map. */
  forget(work: Work): void {
    if (work.fullReq) work.fullReq.cancelled = true;
    if (work.thumb) this.thumbs.release(work.thumb);
    if (work.full) {
      this.fulls.release(work.full);
      this.fullCount--;
    }
    work.thumb = null;
    work.full = null;
    work.fullReq = null;
  }

  /** Drops every pending download and frees every texture. */
  clear(): void {
    this.thumbs.clear();
    this.fulls.clear();
    this.fullCount = 0;
  }

  private show(work: Work, texture: Texture): void {
    showTexture(work, texture);
    this.onTexture(work);
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
        this.show(work, texture);
      },
    );
  }

  /** Frees sharper renditions of works that are off screen or small again. */
  private evictFull(works: readonly Work[]): void {
    for (const work of works) {
      if (this.fullCount <= FULL_KEEP) return;
      if (work.full && !work.wantsFull) {
        const texture = work.full;
        work.full = null;
        this.fullCount--;
        if (work.thumb) this.show(work, work.thumb);
        this.fulls.release(texture);
      }
    }
  }
}
