/** Query labels: a dot where each query landed, and a pill with its text placed where no other pill is. */
import { Container, Graphics, Text } from 'pixi.js';
import { ACCENT } from './highlight';
import { truncate } from './util';

/** Gap between pills, and length of the leader from the anchor to the pill, in screen pixels. */
const LABEL_GAP = 4;
const LABEL_LIFT = 16;
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
  /** Its query's colour: the pill's outline, the leader and the dot. */
  readonly colour: number;
}

/** Every query's label, a constant size on screen whatever the zoom. */
export class QueryLabels {
  /** The dots and leaders, a layer under every pill. */
  readonly leaders = new Container();
  readonly pills = new Container();
  private readonly byText = new Map<string, Label>();
  /** The same labels, in the order they were placed (earlier ones keep the better spots). */
  private readonly list: Label[] = [];
  /** Labels need laying out again (one was added or moved). */
  private dirty = false;

  constructor() {
    for (const layer of [this.leaders, this.pills]) {
      layer.eventMode = 'none';
      layer.interactiveChildren = false;
    }
  }

  /** Each label's text and anchor, in world units (for tests). */
  anchors(): { text: string; x: number; y: number }[] {
    return [...this.byText].map(([text, label]) => ({ text, x: label.x, y: label.y }));
  }

  /** Labels `text` at a world point in its query's colour, moving its label there if it has one. */
  place(text: string, anchor: { x: number; y: number }, scale: number, colour: number = ACCENT): void {
    this.dirty = true;
    const existing = this.byText.get(text);
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
    // The pill is drawn centred on its container's origin; layout() moves it off the anchor.
    const pill = new Container();
    const body = new Graphics()
      .roundRect(-w / 2, -h / 2, w, h, h / 2)
      .fill({ color: 0x121316, alpha: 0.88 })
      .stroke({ color: colour, alpha: 0.85, width: 1.5 });
    caption.position.set(-caption.width / 2, -h / 2 + padY);
    const inner = new Container();
    inner.addChild(body, caption);
    pill.addChild(inner);
    const leader = new Graphics();
    const inv = 1 / scale;
    for (const c of [leader, pill]) {
      c.position.set(anchor.x, anchor.y);
      c.scale.set(inv);
    }
    const label: Label = { x: anchor.x, y: anchor.y, leader, pill, w, h, slot: -1, colour };
    this.byText.set(text, label);
    this.list.push(label);
    this.leaders.addChild(leader);
    this.pills.addChild(pill);
  }

  /** Keeps the labels' screen size once the zoom (`scale`) changed, and lays them out again if needed. */
  update(scale: number, zoomed: boolean): void {
    if (zoomed) {
      const inv = 1 / scale;
      for (const layer of [this.leaders, this.pills]) {
        const children = layer.children;
        for (let i = 0; i < children.length; i++) children[i].scale.set(inv);
      }
    }
    if (zoomed || this.dirty) {
      this.dirty = false;
      this.layout(scale);
    }
  }

  /** Removes one query's label. */
  remove(text: string): void {
    const label = this.byText.get(text);
    if (!label) return;
    label.leader.destroy();
    label.pill.destroy({ children: true });
    this.byText.delete(text);
    this.list.splice(this.list.indexOf(label), 1);
    this.dirty = true;
  }

  /** Removes every label. */
  clear(): void {
    for (const label of this.list) {
      label.leader.destroy();
      label.pill.destroy({ children: true });
    }
    this.byText.clear();
    this.list.length = 0;
  }

  /**
   * Places every label's pill where it overlaps no other pill nor another label's dot, at zoom `s`:
   * straight above its anchor when that is free, else below it, else stacked further above or
   * below, joined to its anchor by a leader line. Earlier labels keep the better spots, and a label
   * keeps its spot while it stays free, so that labels do not jump about while zooming.
   */
  private layout(s: number): void {
    const list = this.list;
    if (list.length === 0) return;
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
        .stroke({ color: l.colour, alpha: 0.8, width: 1 })
        .circle(0, 0, 4)
        .fill({ color: l.colour });
    }
  }
}

/** Vertical offset, in screen pixels, of a label's pill centre from its anchor, for a layout slot. */
function labelOffset(label: Label, slot: number): number {
  const sign = slot % 2 === 0 ? -1 : 1; // even slots above the anchor, odd ones below
  const step = Math.floor(slot / 2);
  return sign * (LABEL_LIFT + label.h / 2 + step * (label.h + 2 * LABEL_GAP));
}
