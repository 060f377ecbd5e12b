/** ArtMap, the one object main.ts and the test hook use: the map's modules composed into a canvas. */
import { Container, type Application } from 'pixi.js';
import type { Point, Result } from './api';
import { Camera, type Bounds, type Insets, type MapView } from './camera';
import { CollectionLayer, type CollectionInfo } from './collection';
import { LevelOfDetail, boostAt, minCardPx } from './detail';
import { ACCENT, Highlight } from './highlight';
import { Pointer, workAt } from './hittest';
import { QueryLabels } from './labels';
import { createApplication } from './renderer';
import { centroid, isUnit, plural, scoreCentre, spiral } from './util';
import { Spread } from './spread';
import { WorkAnimations, boundsOf, createWork, decorate, destroyWork, showMark, staggerMs, type Work } from './works';
import { CARD_SIZE, WORLD_SIZE, makeGround } from './world';

/** A work on the canvas, as the browser tests see it. */
export interface SpriteInfo {
  id: number;
  x: number;
  y: number;
  screenX: number;
  screenY: number;
  /** Its rank in the listed search (0: not one of its hits). */
  rank: number;
  /** How many near-duplicates are folded under it in the listed search. */
  stacked: number;
}

/** The zoomable, pannable canvas of artworks. */
export class ArtMap {
  onSelect: (result: Result) => void = () => {};
  onCountChange: (count: number) => void = () => {};
  /** The whole collection's first works are on the map. */
  onCollectionShown: () => void = () => {};
  /** The camera moved (called on every frame it moves). */
  onViewChange: () => void = () => {};
  /** The pointer moved onto a work (its id, and what its tooltip says) or off every work (null). */
  onHover: (id: number | null, tooltip: string) => void = () => {};
  /** A work of the collection (not a search's result) was clicked: its id. */
  onPick: (id: number) => void = () => {};

  /** Settles once the whole-collection layer knows the map (or that there is none): the zoom range is set. */
  readonly collectionStarted: Promise<void>;
  private readonly camera: Camera;
  private readonly pointer: Pointer;
  private readonly worksLayer = new Container();
  private readonly collection = new CollectionLayer(
    () => (this.viewDirty = true),
    () => this.onCollectionShown(),
  );
  private readonly labels = new QueryLabels();
  private readonly highlight = new Highlight(this.worksLayer);
  private readonly detail = new LevelOfDetail((work) => {
    decorate(work, this.worksScale());
    this.highlight.refresh(work, this.worksScale());
    this.layoutDirty = true; // its size on the map may have changed
  });
  private readonly spread = new Spread();
  private readonly animations = new WorkAnimations();
  private readonly works = new Map<number, Work>();
  /** The search whose results are listed: its hits show their rank in it. */
  private activeQuery: string | null = null;
  /** The ids each query (by its label) brought onto the map; a work stays while any query holds it. */
  private readonly byQuery = new Map<string, Set<number>>();
  /** The same works as an array, for allocation-free iteration every frame the view moves. */
  private readonly workList: Work[] = [];
  /** The work the results list points at, highlighted while the pointer is off the map. */
  private listHover: Work | null = null;
  /** The id of the work under the pointer, as last told to onHover. */
  private pointed: number | null = null;
  /** Extra scale of every work when zoomed far out (see minCardPx). */
  private boost = 1;
  /** Culling and level of detail must run again though the view has not moved. */
  private viewDirty = true;
  /** The works must be spread again (see spread.ts): some came, went or changed size. */
  private layoutDirty = false;
  /** The zoom the works were last spread for. */
  private layoutScale = 0;
  /** The next frame must be drawn: something changed that the frame's own checks do not see (see tick). */
  private redraw = true;
  /** Frames drawn since the map was made (for tests: an idle map draws none). */
  private framesDrawn = 0;

  private constructor(private readonly app: Application) {
    this.camera = new Camera(app);
    const viewport = this.camera.viewport;
    app.stage.addChild(viewport);
    viewport.addChild(
      makeGround(),
      this.collection.node,
      this.worksLayer,
      this.labels.leaders,
      this.labels.pills,
    );
    // Hit testing (hittest.ts) is done against plain rectangles, so pixi need not walk thousands of sprites.
    this.worksLayer.eventMode = 'none';
    this.worksLayer.interactiveChildren = false;

    viewport.on('clicked', (e) => {
      const work = this.workAtScreen(e.screen.x, e.screen.y);
      if (work) {
        this.onSelect(work.result);
        return;
      }
      const { x, y } = this.camera.toWorld(e.screen.x, e.screen.y);
      const picked = this.collection.workAt(x, y);
      if (picked) this.onPick(picked.id);
    });
    this.pointer = new Pointer(app.canvas, () => this.updateHover());

    this.camera.showWholeWorld();
    // The map draws a frame only when something on it changed (tick), not pixi's every frame: an idle map drew
    // 60 frames a second for nothing (docs/performance.md).
    app.ticker.remove(app.render, app);
    app.ticker.add((ticker) => this.tick(ticker.deltaMS));
    this.collectionStarted = this.collection.start().then(() => {
      const closest = this.collection.closestScale();
      if (closest) this.camera.setMaxScale(closest);
    });
  }

  static async create(host: HTMLElement): Promise<ArtMap> {
    const app = await createApplication(host);
    const map = new ArtMap(app);
    app.renderer.on('resize', (w: number, h: number) => map.resize(w, h));
    return map;
  }

  /** How many search results are on the map. */
  get resultCount(): number {
    return this.works.size;
  }

  /** True while the camera is flying to a result set or works glide apart. */
  get flying(): boolean {
    return this.camera.flying || this.spread.gliding;
  }

  /** The part of the screen covered by the floating search bar and the side panel. */
  setInsets(insets: Partial<Insets>): void {
    this.camera.setInsets(insets);
    this.viewDirty = true; // the minimum size of works depends on the free area
  }

  /**
   * Draws a search's result set (skipping works already on the map), with the near-duplicates of the hits whose
   * stacks are `unfolded`; run again under the same label, its works no longer among them leave. Labels where the
   * query landed and flies the camera to frame it. Returns how many of the hits were new.
   */
  addResults(
    results: Result[],
    label: string,
    queryPoint: Point | null,
    colour: number = ACCENT,
    unfolded: ReadonlySet<number> = new Set(),
  ): number {
    if (results.length === 0) return 0;
    const placed = results.filter(isPlaced);
    const centre = placed.length ? centroid(placed) : { x: 0.5, y: 0.5 };
    const stagger = staggerMs(results.length);
    let added = 0;
    let stray = 0;
    const batch = results.map((r, i) => {
      let work = this.works.get(r.id);
      if (!work) {
        // Works not yet projected wait on a small spiral around the others.
        const [nx, ny] = isPlaced(r) ? [r.x, r.y] : strayPlace(centre, stray++);
        work = this.addWork(r, nx, ny, added++ * stagger);
      }
      work.marks.set(label, { colour, rank: i + 1, stacked: r.stacked?.length ?? 0 });
      return work;
    });
    const held = new Set(batch.map((w) => w.result.id));
    for (const top of batch) {
      if (unfolded.has(top.result.id)) this.unfold(label, top, top.result.stacked ?? [], held);
    }
    const gone = [...(this.byQuery.get(label) ?? [])].filter((id) => !held.has(id));
    this.byQuery.set(label, held);
    this.release(label, gone);
    this.showQuery(label);
    if (added) this.onCountChange(this.works.size);

    // The label sits among the best hits, not where the query's own vector projects (see scoreCentre).
    const anchor = placed.length
      ? scaled(scoreCentre(placed))
      : queryPoint && isUnit(queryPoint.x) && isUnit(queryPoint.y)
        ? scaled(queryPoint)
        : centroid(batch.map((w) => w.node));
    this.labels.place(label, anchor, this.camera.scale, colour);
    this.frame(batch, anchor);
    this.viewDirty = true;
    this.layoutDirty = true;
    return added;
  }

  /** Removes every work and label. */
  clear(): void {
    this.camera.stop();
    this.highlight.clear();
    this.listHover = null;
    for (const work of this.workList) destroyWork(work);
    this.works.clear();
    this.workList.length = 0;
    this.animations.clear();
    this.labels.clear();
    this.byQuery.clear();
    this.detail.clear();
    this.onCountChange(0);
    this.pointer.setCursor('');
    this.redraw = true;
  }

  /** Shows every hit of one search with its rank in it (the others keep their outline only). */
  showQuery(label: string | null): void {
    this.activeQuery = label;
    for (const work of this.workList) showMark(work, label);
    this.layoutDirty = true; // badges appear or go
  }

  /** Flies the camera to one query's works. */
  frameQuery(label: string): void {
    const works = [...(this.byQuery.get(label) ?? [])].map((id) => this.works.get(id)).filter((w) => w !== undefined);
    if (works.length) this.frame(works, null);
  }

  /** Takes one query off the map: its label, and its works that no other query brought. */
  removeQuery(label: string): void {
    const ids = this.byQuery.get(label);
    if (!ids) return;
    this.byQuery.delete(label);
    this.labels.remove(label);
    if (this.activeQuery === label) this.activeQuery = null;
    this.release(label, ids);
  }

  /** Unfolds one hit's stack: its near-duplicates join the map beside it as hits of the same search, at its rank. */
  expandStack(label: string, topId: number, members: readonly Result[]): void {
    const top = this.works.get(topId);
    const held = this.byQuery.get(label);
    if (!top || !held) return;
    this.unfold(label, top, members, held);
    showMark(top, this.activeQuery);
    this.viewDirty = true;
    this.layoutDirty = true;
  }

  /** Folds one hit's stack again: its near-duplicates leave the map unless another search holds them. */
  collapseStack(label: string, topId: number, memberIds: readonly number[]): void {
    const top = this.works.get(topId);
    const mark = top?.marks.get(label);
    const held = this.byQuery.get(label);
    if (!top || !mark || !held) return;
    mark.stacked = memberIds.length;
    showMark(top, this.activeQuery);
    for (const id of memberIds) held.delete(id);
    this.release(label, memberIds);
  }

  /** Marks a hit's near-duplicates as hits of its search at its rank (adding those not on the map beside it), and
   * the hit as having none folded under it; `held` gathers their ids. */
  private unfold(label: string, top: Work, members: readonly Result[], held: Set<number>): void {
    const mark = top.marks.get(label);
    if (!mark) return;
    mark.stacked = 0;
    const stagger = staggerMs(members.length);
    let added = 0;
    for (const [i, r] of members.entries()) {
      // A near-duplicate not yet projected waits beside its stack's best hit.
      const [nx, ny] = isPlaced(r) ? [r.x, r.y] : strayPlace({ x: top.nx, y: top.ny }, i + 1);
      const work = this.works.get(r.id) ?? this.addWork(r, nx, ny, added++ * stagger);
      work.marks.set(label, { colour: mark.colour, rank: mark.rank, stacked: 0 });
      showMark(work, this.activeQuery);
      held.add(r.id);
    }
    if (added) this.onCountChange(this.works.size);
  }

  /** These works are no longer hits of one query: each leaves the map unless another query still marks it. */
  private release(label: string, ids: Iterable<number>): void {
    for (const id of ids) {
      const work = this.works.get(id);
      if (!work) continue;
      work.marks.delete(label);
      if (work.marks.size > 0) {
        showMark(work, this.activeQuery);
        continue;
      }
      this.highlight.forget(work);
      if (this.listHover === work) this.listHover = null;
      this.animations.remove(work);
      this.detail.forget(work);
      destroyWork(work);
      this.works.delete(id);
      this.workList.splice(this.workList.indexOf(work), 1);
    }
    this.onCountChange(this.works.size);
    this.viewDirty = true;
    this.layoutDirty = true;
  }

  /** Marks a work as the selected one (outlined), or clears the selection. */
  select(id: number | null): void {
    const work = id === null ? null : (this.works.get(id) ?? null);
    this.highlight.select(work, this.worksScale());
    this.redraw = true;
  }

  /** Highlights a work as if the pointer were on it (the results list's hover and focus), or none. */
  hover(id: number | null): void {
    this.listHover = id === null ? null : (this.works.get(id) ?? null);
    this.updateHover();
  }

  /** Pans (without zooming) so that a work is not hidden behind the side panel or the search bar. */
  reveal(id: number): void {
    const work = this.works.get(id);
    if (!work) return;
    const { node } = work;
    const k = node.scale.x;
    this.camera.reveal(node.x, node.y, work.halfW * k, work.halfH * k);
  }

  zoomBy(factor: number): void {
    this.camera.zoomBy(factor);
  }

  /** Frames every work on the map, or the whole map when there is none. */
  fitAll(): void {
    if (this.works.size === 0) this.camera.frameWorld();
    else this.frame(this.workList, null);
  }

  /** Where the camera looks now. */
  view(): MapView {
    return this.camera.view();
  }

  /** Jumps (no animation) to a view, e.g. one a shared link names. */
  setView(view: MapView): void {
    this.camera.setView(view);
  }

  /** A result on the map, by id. */
  resultById(id: number): Result | null {
    return this.works.get(id)?.result ?? null;
  }

  /** Jumps (no animation) to show the whole map. */
  showWholeWorld(): void {
    this.camera.showWholeWorld();
  }

  /** The work highlighted as hovered, by the pointer or the results list (for tests). */
  hoveredId(): number | null {
    return this.highlight.hovered?.result.id ?? null;
  }

  /** Each query label's text and anchor on the map, in [0, 1] (for tests). */
  labelAnchors(): { text: string; x: number; y: number }[] {
    return this.labels.anchors().map((a) => ({ text: a.text, x: a.x / WORLD_SIZE, y: a.y / WORLD_SIZE }));
  }

  /** What the collection layer draws now (for tests). */
  collectionInfo(): CollectionInfo {
    return this.collection.describe();
  }

  /** Which renderer draws the map, how many objects (sprites, graphics, texts) a frame draws now, and how many
   * frames it has drawn (for benchmarks and tests). */
  drawStats(): { renderer: string; objects: number; frames: number } {
    return { renderer: this.app.renderer.name, objects: countDrawn(this.app.stage), frames: this.framesDrawn };
  }

  /** Works on the map with their centres in CSS pixels of the page (for tests). */
  sprites(): SpriteInfo[] {
    const rect = this.app.canvas.getBoundingClientRect();
    return this.workList.map((work) => {
      const { x, y } = this.camera.toScreen(work.node.x, work.node.y);
      const { id } = work.result;
      const { rank, stacked } = work.listed ?? { rank: 0, stacked: 0 };
      return { id, x: work.nx, y: work.ny, screenX: rect.left + x, screenY: rect.top + y, rank, stacked };
    });
  }

  private addWork(result: Result, nx: number, ny: number, delayMs: number): Work {
    const work = createWork(result, nx, ny, delayMs, this.boost);
    decorate(work, this.worksScale());
    this.works.set(result.id, work);
    this.workList.push(work);
    this.worksLayer.addChild(work.node);
    this.animations.add(work);
    this.detail.loadThumbnail(work);
    return work;
  }

  /** Flies the camera so that the given works (and the query's anchor) fill the free area. */
  private frame(batch: readonly Work[], anchor: { x: number; y: number } | null): void {
    // Zoomed out, works are drawn larger than CARD_SIZE (see minCardPx): leave room for half of one.
    const pad = Math.max(48, this.minWorkPx() / 2 + 16);
    // Framed as they will be drawn there: spread apart at the zoom their places alone would be framed at.
    const places = boundsOf(batch, anchor);
    const s = this.camera.scaleToFrame(places, pad);
    const boost = boostAt(s, this.minWorkPx(), this.camera.worldScale());
    this.spread.layout(this.workList, s, boost);
    this.camera.frame(union(places, spreadBounds(batch, boost)), pad);
    this.layoutDirty = true; // laid out again at the zoom the flight ends at
  }

  /** The least on-screen length of a work, for the works on the map and the free area now. */
  private minWorkPx(): number {
    return minCardPx(this.workList.length, ...this.camera.freeSize());
  }

  /** Screen pixels per unit of a work's own size: the zoom times the works' boost. */
  private worksScale(): number {
    return this.camera.scale * this.boost;
  }

  /** Follows the canvas to its new size; the works that were in view stay in view, spread as they are drawn at the
   * new zoom (spread apart further when it zooms out, so the camera steps back until they fit). */
  private resize(width: number, height: number): void {
    const shown = this.workList.filter((work) => contains(this.camera.visibleBounds(), work.tx, work.ty));
    this.camera.resize(width, height);
    for (let step = 0; step < 8 && shown.length; step++) {
      const s = this.camera.scale;
      const boost = boostAt(s, this.minWorkPx(), this.camera.worldScale());
      this.spread.layout(this.workList, s, boost);
      const view = this.camera.visibleBounds();
      const spread = spreadBounds(shown, boost);
      if (contains(view, spread.minX, spread.minY) && contains(view, spread.maxX, spread.maxY)) break;
      const fit = Math.min((view.maxX - view.minX) / (spread.maxX - spread.minX), (view.maxY - view.minY) / (spread.maxY - spread.minY));
      this.camera.setView({
        x: (spread.minX + spread.maxX) / 2 / WORLD_SIZE,
        y: (spread.minY + spread.maxY) / 2 / WORLD_SIZE,
        scale: s * Math.min(0.95, fit),
      });
    }
    this.viewDirty = true;
    this.layoutDirty = true;
  }

  private tick(dt: number): void {
    const flying = this.camera.flying;
    this.camera.step(dt);
    const animating = this.animations.step(dt, this.boost);
    const gliding = this.spread.step(this.workList, dt);
    const change = this.camera.viewChange();
    if (change) this.onViewChange();
    const updated = change !== null || this.viewDirty || this.layoutDirty;
    if (updated) {
      this.viewDirty = false;
      this.updateView(change === 'zoomed');
    }
    if (updated || animating || gliding || flying || this.redraw) {
      this.redraw = false;
      this.framesDrawn++;
      this.app.render();
    }
  }

  /** Culls works off screen, picks each work's level of detail and keeps labels and outlines a constant size. */
  private updateView(zoomed: boolean): void {
    const s = this.camera.scale;
    // Works are drawn `boost` times larger when zoomed out, so that they stay legible (see minCardPx).
    const boost = boostAt(s, this.minWorkPx(), this.camera.worldScale());
    const list = this.workList;
    this.collection.setDimmed(list.length > 0);
    this.collection.update(this.camera.visibleBounds(), s, CARD_SIZE * s * boost);
    this.detail.update(list, this.camera.visibleBounds(), boost, s * boost * this.app.renderer.resolution);
    if (boost !== this.boost) {
      this.boost = boost;
      for (let i = 0; i < list.length; i++) if (!list[i].animating) list[i].node.scale.set(boost);
    }
    this.labels.update(s, zoomed);
    this.spreadWorks(s * boost);
    // Outlines and shadows are drawn in screen pixels; redraw them when the zoom changed noticeably.
    this.highlight.rescale(s * boost);
    this.updateHover();
  }

  /** Spreads overlapping works apart and keeps their outlines and badges a constant size, when the zoom moved
   * noticeably or works changed; `scale` is screen px per unit of a work's own size. */
  private spreadWorks(scale: number): void {
    if (!this.layoutDirty && Math.abs(Math.log(scale / this.layoutScale)) < 0.03) return;
    this.layoutDirty = false;
    this.layoutScale = scale;
    const list = this.workList;
    this.spread.layout(list, this.camera.scale, this.boost);
    for (let i = 0; i < list.length; i++) decorate(list[i], scale);
  }

  private workAtScreen(sx: number, sy: number): Work | null {
    const { x, y } = this.camera.toWorld(sx, sy);
    return workAt(this.worksLayer, x, y);
  }

  private updateHover(): void {
    const { pointer } = this;
    const looking = pointer.inside && !this.camera.flying;
    const onMap = looking ? this.workAtScreen(pointer.x, pointer.y) : null;
    const where = this.camera.toWorld(pointer.x, pointer.y);
    const underneath = looking && !onMap ? this.collection.workAt(where.x, where.y) : null;
    const pointed = onMap?.result.id ?? underneath?.id ?? null;
    if (pointed !== this.pointed) {
      this.pointed = pointed;
      const { title, maker } = onMap?.result ?? { title: underneath?.title, maker: null };
      const stacked = onMap?.listed?.stacked ?? 0;
      const copies = stacked ? ` (+${plural(stacked, 'near-duplicate')})` : '';
      this.onHover(pointed, `${[title || 'Untitled', maker].filter(Boolean).join(' — ')}${copies}`);
    }
    const work = onMap ?? this.listHover;
    const previous = this.highlight.hovered;
    if (work === previous) return;
    if (previous) {
      previous.hoverTarget = 0;
      this.animations.add(previous);
    }
    if (work) {
      work.hoverTarget = 1;
      this.animations.add(work);
    }
    this.highlight.hover(work, this.worksScale());
    this.redraw = true;
    pointer.setCursor(work || underneath ? 'pointer' : '');
  }
}

/** The world rectangle the works cover where they are drawn (spread), `boost` times their size. */
function spreadBounds(works: readonly Work[], boost: number): Bounds {
  const b = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity };
  for (const { tx, ty, halfW, halfH } of works) {
    b.minX = Math.min(b.minX, tx - halfW * boost);
    b.maxX = Math.max(b.maxX, tx + halfW * boost);
    b.minY = Math.min(b.minY, ty - halfH * boost);
    b.maxY = Math.max(b.maxY, ty + halfH * boost);
  }
  return b;
}

function union(a: Bounds, b: Bounds): Bounds {
  return {
    minX: Math.min(a.minX, b.minX),
    minY: Math.min(a.minY, b.minY),
    maxX: Math.max(a.maxX, b.maxX),
    maxY: Math.max(a.maxY, b.maxY),
  };
}

function contains(b: Bounds, x: number, y: number): boolean {
  return x >= b.minX && x <= b.maxX && y >= b.minY && y <= b.maxY;
}

/** The visible leaves under a node: what the renderer draws each frame. */
function countDrawn(node: Container): number {
  if (!node.visible || node.alpha === 0) return 0;
  let count = node.renderPipeId ? 1 : 0; // a sprite, graphics or text, not a mere container

  for (const child of node.children) count += countDrawn(child);
  return count;
}

/** A point of the unit map in world units. */
function scaled(p: { x: number; y: number }): { x: number; y: number } {
  return { x: p.x * WORLD_SIZE, y: p.y * WORLD_SIZE };
}

/** The n-th place (from 0) on a small spiral around a centre of the unit map, for a work not projected yet. */
function strayPlace(centre: { x: number; y: number }, n: number): [number, number] {
  return spiral(centre.x, centre.y, n, (CARD_SIZE * 1.3) / WORLD_SIZE);
}

/** A result with its place on the map: both coordinates in [0, 1]. */
function isPlaced(r: Result): r is Result & Point {
  return isUnit(r.x) && isUnit(r.y);
}
