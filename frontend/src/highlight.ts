/** The hover shadow and the selection outline, drawn around works in screen pixels at the current zoom. */
import { Container, Graphics } from 'pixi.js';
import type { Work } from './works';

/** The UI's accent colour (style.css --accent), of the selection outline and the query labels. */
export const ACCENT = 0xd9b26f;

/** Which work is hovered and which selected, and their decorations. */
export class Highlight {
  private readonly hoverDecor = new Graphics();
  private readonly selectDecor = new Graphics();
  private hoveredWork: Work | null = null;
  private selected: Work | null = null;
  /** Screen pixels per unit of the works' own size that the decorations were last drawn for. */
  private drawnScale = 0;

  /** `layer` holds the works' nodes: a decorated work is raised to its top. */
  constructor(private readonly layer: Container) {}

  get hovered(): Work | null {
    return this.hoveredWork;
  }

  /** Shadows the hovered work (or none), for works drawn at `scale` screen pixels per unit. */
  hover(work: Work | null, scale: number): void {
    this.hoveredWork = work;
    if (!work) {
      this.hoverDecor.removeFromParent();
      return;
    }
    // Lift it above its neighbours; the shadow sits under the image, the outline above it.
    this.raise(work);
    work.node.addChildAt(this.hoverDecor, 0);
    this.draw(scale, true);
  }

  /** Outlines the selected work, or clears the selection. */
  select(work: Work | null, scale: number): void {
    this.selected = work;
    if (!work) {
      this.selectDecor.removeFromParent();
      return;
    }
    work.node.addChild(this.selectDecor);
    this.raise(work);
    this.draw(scale, true);
  }

  /** Redraws the decorations once a decorated work's size changed. */
  refresh(work: Work, scale: number): void {
    if (work === this.hoveredWork || work === this.selected) this.draw(scale, true);
  }

  /** Redraws the decorations when the zoom changed noticeably since they were drawn. */
  rescale(scale: number): void {
    if (Math.abs(Math.log(scale / this.drawnScale)) > 0.08) this.draw(scale, false);
  }

  /** Takes the decorations off a work about to be destroyed (they are shared, and would go with it). */
  forget(work: Work): void {
    if (work === this.hoveredWork) this.hover(null, 0);
    if (work === this.selected) this.select(null, 0);
  }

  /** Forgets both works and takes the decorations off them, so that destroying the works spares them. */
  clear(): void {
    this.hoveredWork = null;
    this.selected = null;
    this.hoverDecor.removeFromParent();
    this.selectDecor.removeFromParent();
  }

  private raise(work: Work): void {
    this.layer.setChildIndex(work.node, this.layer.children.length - 1);
  }

  private draw(scale: number, force: boolean): void {
    // The decorations are children of the works, which are scaled by their boost when zoomed out.
    if (!force && scale === this.drawnScale) return;
    this.drawnScale = scale;
    const px = 1 / scale; // one screen pixel in the works' units
    const h = this.hoveredWork;
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
}
