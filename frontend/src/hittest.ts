/** Picking: the work under the pointer, tested against plain rectangles so pixi need not walk thousands of sprites. */
import type { Container } from 'pixi.js';
import type { Work, WorkNode } from './works';

/** The top-most visible work at a world point; `layer` holds the works' nodes, top-most last. */
export function workAt(layer: Container, wx: number, wy: number): Work | null {
  const nodes = layer.children;
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i] as WorkNode;
    if (!node.visible) continue;
    const w = node.work;
    const k = node.scale.x;
    if (Math.abs(wx - node.x) <= w.halfW * k && Math.abs(wy - node.y) <= w.halfH * k) return w;
  }
  return null;
}

/** The pointer over the canvas, kept so that hover can be picked again when the view moves under it. */
export class Pointer {
  x = -1;
  y = -1;
  inside = false;
  private cursor = '';

  /** `onMove` hears of every move of the pointer over the canvas, and of its leaving. */
  constructor(
    private readonly canvas: HTMLCanvasElement,
    onMove: () => void,
  ) {
    canvas.addEventListener('pointermove', (e) => {
      this.x = e.offsetX;
      this.y = e.offsetY;
      this.inside = true;
      onMove();
    });
    canvas.addEventListener('pointerleave', () => {
      this.inside = false;
      onMove();
    });
  }

  setCursor(cursor: string): void {
    if (cursor === this.cursor) return;
    this.cursor = cursor;
    this.canvas.style.cursor = cursor;
  }
}
