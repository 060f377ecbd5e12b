/** The map's world: its size, the size of a work on it, and the ground they lie on. */
import { Graphics } from 'pixi.js';

/** The map is a WORLD_SIZE square; a result at (x, y) in [0, 1] sits at (x·WORLD_SIZE, y·WORLD_SIZE). */
export const WORLD_SIZE = 20000;
/** Longer side of a work on the map, in world units. */
export const CARD_SIZE = 220;

/** The ground under the works: the world's square and its edge. No grid: the collection's density gives a sense of
 * place, and pixi's canvas renderer would stroke every line again each frame (docs/performance.md). */
export function makeGround(): Graphics {
  return new Graphics()
    .rect(0, 0, WORLD_SIZE, WORLD_SIZE)
    .fill({ color: 0x131417 })
    .stroke({ color: 0xffffff, alpha: 0.08, width: 1, pixelLine: true });
}
