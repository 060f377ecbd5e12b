/**
 * The whole collection under the searches, drawn from the map tiles: a density layer everywhere, the works each
 * tile lists as thumbnails cut from its atlas, and region labels at coarse zooms.
 *
 * The tile zoom follows the camera so that a tile spans TILE_PX to 2·TILE_PX on screen: the works drawn and the
 * tiles asked for stay bounded whatever the collection's size. While a tile loads, the nearest loaded ancestor
 * covering it stays drawn (its works are a subset of the tile's), so zooming never shows a blank.
 *
 * Past the deepest zoom the works grow with the camera; once one is drawn larger than its thumbnail it is given its
 * 300 px rendition, then its image, for at most MAX_SHARP works nearest the centre at once.
 */
import { CanvasSource, Container, ImageSource, Rectangle, Sprite, Text, Texture } from 'pixi.js';
import { getMap, getTile, type MapInfo, type Tile } from './api';
import type { Bounds } from './camera';
import { TextureStore, type TextureRequest } from './textures';
import { WORLD_SIZE } from './world';

/** A tile is drawn between TILE_PX and twice that many CSS pixels wide: its works' cells are 34–68 px, about a
 * thumbnail's own size, and a 1440 × 900 view draws 6–12 tiles (docs/performance.md has the frame times). */
const TILE_PX = 512;
/** Requests for tiles and atlases in flight at once. */
const MAX_IN_FLIGHT = 6;
/** Loaded tiles kept for panning back before the least recently seen are dropped. */
const KEEP_TILES = 160;
/** Tiles at this zoom or coarser are never evicted. */
const KEEP_THROUGH_ZOOM = 1;
/** A thumbnail's longer side, as a share of a work's cell in its tile (√capacity cells a side). */
const WORK_FILL = 0.8;
const DENSITY_COLOUR = 0x6d86b3;
/** The sharper renditions of a work (see below): the API's ≤300 px thumbnail, then its image. */
const RENDITIONS = [
  { rendition: 'thumbnail', maxSide: 320 },
  { rendition: 'image', maxSide: 1024 },
] as const;
/** A work drawn longer than its atlas thumbnail by this factor (device pixels) is given the next rendition. */
const SHARPEN_AT = 1.4;
/** Works given a sharper rendition at once: the ones nearest the centre of the view. */
const MAX_SHARP = 48;
/** The camera zooms in until the deepest tiles' works are this many CSS pixels long. */
const CLOSEST_WORK_PX = 640;
const LABEL_STYLE = {
  fontFamily: 'system-ui, sans-serif',
  fontSize: 15,
  fontWeight: '600',
  fill: 0xf2f2f2,
  stroke: { color: 0x0c0d0f, width: 4 },
} as const;

/** What the browser tests read of the layer. */
export interface CollectionInfo {
  /** Works drawn with a sharper rendition than their atlas cell. */
  sharp: number;
  version: string | null;
  /** Works on the map. */
  placed: number;
  zoom: number;
  tilesDrawn: number;
  worksDrawn: number;
  labels: string[];
}

interface TileView {
  readonly key: string;
  readonly z: number;
  readonly x: number;
  readonly y: number;
  readonly node: Container;
  readonly works: TileWork[];
  /** The longest its works' pictures may be, in world units: most of a cell of the tile. */
  readonly cellSide: number;
  /** How long they are drawn now: no longer than a search result's card at this zoom (see update). */
  side: number;
  atlas: Texture | null;
  /** The density grid as a texture, or null where every work is a picture. */
  density: Texture | null;
  seen: number;
}

/** One work's picture in a tile: its atlas cell, or a sharper rendition while it is large on screen. */
interface TileWork {
  readonly id: number;
  readonly title: string;
  readonly sprite: Sprite;
  readonly cell: Texture;
  /** Its longer side in world units, whichever picture it shows (its tile's side). */
  side: number;
  /** Which of RENDITIONS it shows (-1: its atlas cell), and which it waits for. */
  shown: number;
  sharp: Texture | null;
  request: TextureRequest | null;
  wanted: number;
}

/** The collection layer: add `node` under the searches' works and call `update` when the view changes. */
export class CollectionLayer {
  readonly node = new Container();
  private readonly tilesNode = new Container();
  private readonly labelsNode = new Container();
  private info: MapInfo | null = null;
  private readonly tiles = new Map<string, TileView>();
  private readonly loading = new Set<string>();
  private wanted: string[] = [];
  private zoom = 0;
  private frame = 0;
  private shown = false;
  private readonly sharpStore = new TextureStore(4);
  /** A search result's card at the zoom last drawn, in world units: no collection work is drawn longer. */
  private cardSide = Infinity;
  private readonly sharp = new Set<TileWork>();

  /** `onChange` hears of every tile loaded and picture sharpened; `onShown`, once, of the first that draws any work. */
  constructor(
    private readonly onChange: () => void,
    private readonly onShown: () => void = () => {},
  ) {
    this.node.addChild(this.tilesNode, this.labelsNode);
    this.node.eventMode = 'none';
    this.node.interactiveChildren = false;
  }

  /** The closest zoom worth having: the deepest tiles' works CLOSEST_WORK_PX long (null before start). */
  closestScale(): number | null {
    const info = this.info;
    return info ? CLOSEST_WORK_PX / workSide(WORLD_SIZE / (1 << info.max_zoom), info.tile_capacity) : null;
  }

  /** Reads the current map; without one (nothing projected yet) the layer stays empty. */
  async start(): Promise<void> {
    try {
      this.info = await getMap();
    } catch {
      this.info = null;
      return;
    }
    for (const region of this.info.regions) {
      const label = new Text({ text: region.label, style: LABEL_STYLE });
      label.anchor.set(0.5);
      label.position.set(region.x * WORLD_SIZE, region.y * WORLD_SIZE);
      label.label = `${region.min_zoom}-${region.max_zoom}`;
      this.labelsNode.addChild(label);
    }
    this.onChange();
  }

  /** Dims the collection while searches are drawn on it, so that their results stand out. */
  setDimmed(dimmed: boolean): void {
    this.tilesNode.alpha = dimmed ? 0.35 : 1;
    this.labelsNode.visible = !dimmed;
  }

  /**
   * Picks the tile zoom for this scale, asks for the visible tiles and shows the best loaded cover of the view, its
   * works no longer than `cardPx`, the CSS pixels a search result is drawn at now.
   */
  update(bounds: Bounds, scale: number, cardPx: number): void {
    const info = this.info;
    if (!info) return;
    this.cardSide = cardPx / scale;
    this.frame++;
    const z = clampZoom(Math.floor(Math.log2((scale * WORLD_SIZE) / TILE_PX)), info.max_zoom);
    this.zoom = z;
    const visible = visibleTiles(bounds, z);
    this.wanted = visible.filter((key) => !this.tiles.has(key));
    const shown = new Set<TileView>();
    for (const key of visible) {
      const cover = this.loadedCover(key);
      if (cover) shown.add(cover);
    }
    for (const view of this.tiles.values()) {
      view.node.visible = shown.has(view);
      if (view.node.visible) view.seen = this.frame;
    }
    for (const view of shown) resizeWorks(view, Math.min(view.cellSide, this.cardSide));
    this.sharpen(shown, bounds, scale * (window.devicePixelRatio || 1));
    for (const label of this.labelsNode.children) {
      const [low, high] = label.label.split('-').map(Number);
      label.visible = low <= z && z <= high;
      label.scale.set(1 / scale);
    }
    this.pump();
    this.evict();
  }

  /** The work drawn at a world point, top-most first, or null. */
  workAt(x: number, y: number): { id: number; title: string } | null {
    const views = [...this.tiles.values()].filter((view) => view.node.visible);
    for (let i = views.length - 1; i >= 0; i--) {
      const works = views[i].works;
      for (let j = works.length - 1; j >= 0; j--) {
        const { sprite } = works[j];
        if (Math.abs(x - sprite.x) <= sprite.width / 2 && Math.abs(y - sprite.y) <= sprite.height / 2) return works[j];
      }
    }
    return null;
  }

  /** For the browser tests: what is drawn now. */
  describe(): CollectionInfo {
    const drawn = [...this.tiles.values()].filter((view) => view.node.visible);
    return {
      version: this.info?.version ?? null,
      placed: this.info?.placed ?? 0,
      zoom: this.zoom,
      tilesDrawn: drawn.length,
      worksDrawn: drawn.reduce((sum, view) => sum + view.works.length, 0),
      sharp: [...this.sharp].filter((work) => work.shown >= 0).length,
      labels: this.labelsNode.children.filter((label) => label.visible).map((label) => (label as Text).text),
    };
  }

  /** The tile itself when loaded, else its nearest loaded ancestor. */
  private loadedCover(key: string): TileView | null {
    let [z, x, y] = key.split('/').map(Number);
    while (z >= 0) {
      const view = this.tiles.get(`${z}/${x}/${y}`);
      if (view) return view;
      z--;
      x >>= 1;
      y >>= 1;
    }
    return null;
  }

  private pump(): void {
    while (this.loading.size < MAX_IN_FLIGHT) {
      const key = this.wanted.find((k) => !this.loading.has(k) && !this.tiles.has(k));
      if (!key) return;
      this.load(key);
    }
  }

  private load(key: string): void {
    const info = this.info!;
    const [z, x, y] = key.split('/').map(Number);
    this.loading.add(key);
    getTile(info.version, z, x, y)
      .then(async (tile) => {
        const atlas = tile.atlas_url ? await loadAtlas(tile.atlas_url) : null;
        if (this.info?.version !== tile.version) {
          atlas?.destroy(true);
          return;
        }
        const cellSide = workSide((tile.bounds[2] - tile.bounds[0]) * WORLD_SIZE, info.tile_capacity);
        const side = Math.min(cellSide, this.cardSide);
        const { node, works, density } = drawTile(tile, atlas, side);
        const view: TileView = { key, z, x, y, node, works, cellSide, side, atlas, density, seen: this.frame };
        this.tiles.set(key, view);
        this.tilesNode.addChild(view.node);
        if (tile.works.length > 0 && !this.shown) {
          this.shown = true;
          this.onShown();
        }
      })
      .catch(() => {
        // A tile that fails (a version moved on, a server restarting) is asked for again on the next view change.
      })
      .finally(() => {
        this.loading.delete(key);
        this.onChange();
      });
  }

  /**
   * Gives the works nearest the centre that are drawn larger than their picture (`devicePx` device pixels per world
   * unit) their next sharper rendition, and takes it back from the others.
   */
  private sharpen(shown: Set<TileView>, bounds: Bounds, devicePx: number): void {
    const thumbnail = this.info?.thumbnail_size ?? 64;
    const cx = (bounds.minX + bounds.maxX) / 2;
    const cy = (bounds.minY + bounds.maxY) / 2;
    const candidates: { work: TileWork; wanted: number; distance: number }[] = [];
    for (const view of shown) {
      if (view.z !== this.zoom) continue; // a coarser tile standing in while this zoom's load: not for long
      const px = view.side * devicePx;
      if (px < SHARPEN_AT * thumbnail) continue;
      const wanted = px < SHARPEN_AT * RENDITIONS[0].maxSide ? 0 : 1;
      for (const work of view.works) {
        const { x, y } = work.sprite;
        if (x < bounds.minX || x > bounds.maxX || y < bounds.minY || y > bounds.maxY) continue;
        candidates.push({ work, wanted, distance: Math.hypot(x - cx, y - cy) });
      }
    }
    candidates.sort((a, b) => a.distance - b.distance);
    const keep = new Set<TileWork>();
    for (const { work, wanted } of candidates.slice(0, MAX_SHARP)) {
      keep.add(work);
      if (work.wanted !== wanted) this.ask(work, wanted); // once: a rendition that fails is not asked for again
    }
    for (const work of this.sharp) if (!keep.has(work)) this.blur(work);
  }

  /** Asks for a work's rendition; it replaces the picture drawn once it arrives. */
  private ask(work: TileWork, wanted: number): void {
    if (work.request) work.request.cancelled = true;
    work.wanted = wanted;
    this.sharp.add(work);
    const { rendition, maxSide } = RENDITIONS[wanted];
    const url = `/api/artworks/${work.id}/image?rendition=${rendition}`;
    work.request = this.sharpStore.request(
      url,
      maxSide,
      () => true,
      (texture) => {
        work.request = null;
        if (!texture) return;
        if (work.sprite.destroyed || work.wanted !== wanted) {
          this.sharpStore.release(texture);
          return;
        }
        if (work.sharp) this.sharpStore.release(work.sharp);
        work.sharp = texture;
        work.shown = wanted;
        fitPicture(work.sprite, texture, work.side);
        this.onChange();
      },
    );
  }

  /** Back to the atlas cell: the sharper rendition is freed. */
  private blur(work: TileWork): void {
    this.sharp.delete(work);
    if (work.request) work.request.cancelled = true;
    work.request = null;
    work.wanted = -1;
    if (!work.sharp) return;
    if (!work.sprite.destroyed) fitPicture(work.sprite, work.cell, work.side);
    this.sharpStore.release(work.sharp);
    work.sharp = null;
    work.shown = -1;
  }

  /** Drops the least recently shown tiles beyond KEEP_TILES, freeing their atlases. */
  private evict(): void {
    if (this.tiles.size <= KEEP_TILES) return;
    // The coarsest tiles stay (five at most): whatever else goes, zooming out finds a cover drawn at once.
    const old = [...this.tiles.values()]
      .filter((v) => !v.node.visible && v.z > KEEP_THROUGH_ZOOM)
      .sort((a, b) => a.seen - b.seen);
    for (const view of old.slice(0, this.tiles.size - KEEP_TILES)) {
      this.tiles.delete(view.key);
      for (const work of view.works) this.blur(work);
      view.node.destroy({ children: true });
      view.atlas?.destroy(true);
      view.density?.destroy(true);
    }
  }
}

function clampZoom(z: number, maxZoom: number): number {
  return Math.max(0, Math.min(maxZoom, z));
}

/** The keys "z/x/y" of the tiles at zoom z that the view overlaps. */
function visibleTiles(bounds: Bounds, z: number): string[] {
  const side = 1 << z;
  const span = WORLD_SIZE / side;
  const cell = (v: number) => Math.max(0, Math.min(side - 1, Math.floor(v / span)));
  const keys: string[] = [];
  for (let x = cell(bounds.minX); x <= cell(bounds.maxX); x++) {
    for (let y = cell(bounds.minY); y <= cell(bounds.maxY); y++) keys.push(`${z}/${x}/${y}`);
  }
  return keys;
}

/** A work's longer side in a tile `span` world units wide: most of its cell. */
function workSide(span: number, capacity: number): number {
  return (WORK_FILL * span) / Math.ceil(Math.sqrt(capacity));
}

/** Draws a tile's works `side` world units long, when that moved by more than a hair since they were drawn. */
function resizeWorks(view: TileView, side: number): void {
  if (Math.abs(side / view.side - 1) < 0.01) return;
  view.side = side;
  for (const work of view.works) {
    work.side = side;
    fitPicture(work.sprite, work.sprite.texture, side);
  }
}

/** Draws a texture on a sprite (anchored at its centre) `side` world units on its longer side. */
function fitPicture(sprite: Sprite, texture: Texture, side: number): void {
  sprite.texture = texture;
  sprite.scale.set(side / Math.max(texture.width, texture.height));
}

/** One tile's density and its works' thumbnails, `side` world units long. */
function drawTile(
  tile: Tile,
  atlas: Texture | null,
  side: number,
): { node: Container; works: TileWork[]; density: Texture | null } {
  const node = new Container();
  const works: TileWork[] = [];
  const [x0, y0, x1] = tile.bounds;
  const span = (x1 - x0) * WORLD_SIZE;
  // Where every work of the tile is drawn as a picture, the density would only cover the ground.
  const pictured = atlas ? tile.works.filter((work) => work.atlas).length : 0;
  const density = pictured < tile.total ? densityTexture(tile.density) : null;
  if (density) {
    const cells = new Sprite(density);
    cells.position.set(x0 * WORLD_SIZE, y0 * WORLD_SIZE);
    cells.scale.set(span / density.width);
    node.addChild(cells);
  }
  if (!atlas) return { node, works, density };
  for (const work of tile.works) {
    if (!work.atlas) continue;
    const [left, top, width, height] = work.atlas;
    const cell = new Texture({ source: atlas.source, frame: new Rectangle(left, top, width, height) });
    const sprite = new Sprite(cell);
    sprite.anchor.set(0.5);
    fitPicture(sprite, cell, side);
    sprite.position.set(work.x * WORLD_SIZE, work.y * WORLD_SIZE);
    node.addChild(sprite);
    works.push({ id: work.id, title: work.title, sprite, cell, side, shown: -1, sharp: null, request: null, wanted: -1 });
  }
  return { node, works, density };
}

/**
 * A tile's density grid as an image, one pixel a cell, drawn stretched over the tile: one drawImage a frame instead
 * of a filled rectangle per cell, which pixi's canvas renderer redraws every frame (see docs/performance.md).
 */
function densityTexture(grid: number[][]): Texture {
  const size = grid.length;
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  const pixels = new ImageData(size, size);
  const [r, g, b] = [(DENSITY_COLOUR >> 16) & 255, (DENSITY_COLOUR >> 8) & 255, DENSITY_COLOUR & 255];
  grid.forEach((row, j) =>
    row.forEach((count, i) => {
      if (count === 0) return;
      const at = 4 * (j * size + i);
      pixels.data.set([r, g, b, 255 * Math.min(0.55, 0.08 + 0.07 * Math.log2(1 + count))], at);
    }),
  );
  canvas.getContext('2d')!.putImageData(pixels, 0, 0);
  return new Texture({ source: new CanvasSource({ resource: canvas, scaleMode: 'nearest' }) });
}

async function loadAtlas(url: string): Promise<Texture | null> {
  try {
    const response = await fetch(url);
    if (!response.ok) return null;
    const bitmap = await createImageBitmap(await response.blob());
    return new Texture({ source: new ImageSource({ resource: bitmap }) });
  } catch {
    return null;
  }
}
