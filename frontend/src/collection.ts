/**
 * The whole collection under the searches, drawn from the map tiles: a density layer everywhere, the works each
 * tile lists as thumbnails cut from its atlas, and region labels at coarse zooms.
 *
 * The tile zoom follows the camera so that a tile spans TILE_PX to 2·TILE_PX on screen: the works drawn and the
 * tiles asked for stay bounded whatever the collection's size. While a tile loads, the nearest loaded ancestor
 * covering it stays drawn (its works are a subset of the tile's), so zooming never shows a blank.
 */
import { Container, Graphics, ImageSource, Rectangle, Sprite, Text, Texture } from 'pixi.js';
import { getMap, getTile, type MapInfo, type Tile } from './api';
import type { Bounds } from './camera';
import { WORLD_SIZE } from './world';

/** A tile is drawn between TILE_PX and twice that many CSS pixels wide. */
const TILE_PX = 384;
/** Requests for tiles and atlases in flight at once. */
const MAX_IN_FLIGHT = 6;
/** Loaded tiles kept for panning back before the least recently seen are dropped. */
const KEEP_TILES = 160;
/** A thumbnail's longer side, as a share of a work's cell in its tile (√capacity cells a side). */
const WORK_FILL = 0.8;
const DENSITY_COLOUR = 0x6d86b3;
const LABEL_STYLE = {
  fontFamily: 'system-ui, sans-serif',
  fontSize: 15,
  fontWeight: '600',
  fill: 0xf2f2f2,
  stroke: { color: 0x0c0d0f, width: 4 },
} as const;

/** What the browser tests read of the layer. */
export interface CollectionInfo {
  version: string | null;
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
  works: number;
  atlas: Texture | null;
  seen: number;
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

  /** `onChange` hears of every tile loaded; `onShown`, once, of the first that draws any work. */
  constructor(
    private readonly onChange: () => void,
    private readonly onShown: () => void = () => {},
  ) {
    this.node.addChild(this.tilesNode, this.labelsNode);
    this.node.eventMode = 'none';
    this.node.interactiveChildren = false;
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

  /** Picks the tile zoom for this scale, asks for the visible tiles and shows the best loaded cover of the view. */
  update(bounds: Bounds, scale: number): void {
    const info = this.info;
    if (!info) return;
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
    for (const label of this.labelsNode.children) {
      const [low, high] = label.label.split('-').map(Number);
      label.visible = low <= z && z <= high;
      label.scale.set(1 / scale);
    }
    this.pump();
    this.evict();
  }

  /** For the browser tests: what is drawn now. */
  describe(): CollectionInfo {
    const drawn = [...this.tiles.values()].filter((view) => view.node.visible);
    return {
      version: this.info?.version ?? null,
      zoom: this.zoom,
      tilesDrawn: drawn.length,
      worksDrawn: drawn.reduce((sum, view) => sum + view.works, 0),
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
        const node = drawTile(tile, atlas, info.tile_capacity);
        const view: TileView = { key, z, x, y, node, works: tile.works.length, atlas, seen: this.frame };
        this.tiles.set(key, view);
        this.tilesNode.addChild(view.node);
        if (view.works > 0 && !this.shown) {
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

  /** Drops the least recently shown tiles beyond KEEP_TILES, freeing their atlases. */
  private evict(): void {
    if (this.tiles.size <= KEEP_TILES) return;
    const old = [...this.tiles.values()].filter((v) => !v.node.visible).sort((a, b) => a.seen - b.seen);
    for (const view of old.slice(0, this.tiles.size - KEEP_TILES)) {
      this.tiles.delete(view.key);
      view.node.destroy({ children: true });
      view.atlas?.destroy(true);
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

/** One tile's density cells and its works' thumbnails, in world units. */
function drawTile(tile: Tile, atlas: Texture | null, capacity: number): Container {
  const node = new Container();
  const [x0, y0, x1] = tile.bounds;
  const span = (x1 - x0) * WORLD_SIZE;
  const grid = tile.density.length;
  const cellSize = span / grid;
  const density = new Graphics();
  tile.density.forEach((row, j) =>
    row.forEach((count, i) => {
      if (count === 0) return;
      const alpha = Math.min(0.55, 0.08 + 0.07 * Math.log2(1 + count));
      density.rect(x0 * WORLD_SIZE + i * cellSize, y0 * WORLD_SIZE + j * cellSize, cellSize, cellSize);
      density.fill({ color: DENSITY_COLOUR, alpha });
    }),
  );
  node.addChild(density);
  if (!atlas) return node;
  const side = (WORK_FILL * span) / Math.ceil(Math.sqrt(capacity));
  for (const work of tile.works) {
    if (!work.atlas) continue;
    const [left, top, width, height] = work.atlas;
    const sprite = new Sprite(new Texture({ source: atlas.source, frame: new Rectangle(left, top, width, height) }));
    const k = side / Math.max(width, height);
    sprite.anchor.set(0.5);
    sprite.scale.set(k);
    sprite.position.set(work.x * WORLD_SIZE, work.y * WORLD_SIZE);
    node.addChild(sprite);
  }
  return node;
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
