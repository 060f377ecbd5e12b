/** The map's world: its size, the size of a work on it, and the ground they lie on. */
import { Graphics } from 'pixi.js';

/** The map is a WORLD_SIZE square; a result at (x, y) in [0, 1] sits at (x·WORLD_SIZE, y·WORLD_SIZE). */
export const WORLD_SIZE = 20000;
/** Longer side of a work on the map, in world units. */
export const CARD_SIZE = 220;

/** The ground under the works: the world's square, gridded. */
export function makeGround(): Graphics {
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
