import './style.css';
import {
  ApiError,
  MAX_RESULTS,
  RESULTS_PER_QUERY,
  getArtwork,
  getHealth,
  isAbort,
  searchComposed,
  searchImage,
  searchSimilar,
  searchText,
  type QueryPart,
  type SearchAnswer,
  type SearchFilters,
  type SearchOptions,
} from './api';
import type { CollectionInfo } from './collection';
import type { MapView } from './camera';
import { ArtMap, type SpriteInfo } from './map';
import { Panel, byId } from './panel';
import { SearchChips, stackOf, type SearchChip } from './chips';
import { FilterBar } from './filters';
import { ResultsList } from './results';
import { plural, truncate } from './util';
import { parseWording, wordingParts } from './wording';

/** What the read-only `window.__artsearch` hook offers browser tests. */
interface TestHook {
  /** True once the page has started and no search is in flight nor the camera moving. */
  readonly ready: boolean;
  /** Every work on the canvas: its map position (x, y in [0, 1]) and its centre in page CSS pixels. */
  sprites(): SpriteInfo[];
  /** What the whole-collection layer draws now: its map version, tile zoom, tiles, works and region labels. */
  collection(): CollectionInfo | null;
  /** The id of the work highlighted as hovered on the map, or null. */
  hovered(): number | null;
  /** Where the camera looks: the map point at the screen's centre and the zoom. */
  view(): MapView | null;
  /** Each query label's text and the map point (in [0, 1]) it is anchored at. */
  labels(): { text: string; x: number; y: number }[];
  /** The renderer's name ("webgl" or "canvas"), how many objects a frame draws now and how many frames it drew. */
  drawStats(): { renderer: string; objects: number; frames: number } | null;
}

declare global {
  interface Window {
    __artsearch: TestHook;
  }
}

const form = byId<HTMLFormElement>('search-form');
const input = byId<HTMLInputElement>('search-input');
const fileInput = byId<HTMLInputElement>('file-input');
const statusEl = byId('status');
const banner = byId('banner');
const hint = byId('hint');
const hintText = byId('hint-text');
const countEl = byId('count');
const clearButton = byId<HTMLButtonElement>('clear-button');
const dropzone = byId('dropzone');
const chipsEl = byId('chips');
const tooltip = byId('tooltip');

let started = false;
let inFlight = 0;
let searchAbort: AbortController | null = null;

// Defined before anything awaits, so that a test can poll it from the first moment.
let mapForTests: ArtMap | null = null;
window.__artsearch = Object.freeze({
  get ready() {
    return started && inFlight === 0 && mapForTests !== null && !mapForTests.flying;
  },
  sprites: () => mapForTests?.sprites() ?? [],
  collection: () => mapForTests?.collectionInfo() ?? null,
  hovered: () => mapForTests?.hoveredId() ?? null,
  view: () => mapForTests?.view() ?? null,
  labels: () => mapForTests?.labelAnchors() ?? [],
  drawStats: () => mapForTests?.drawStats() ?? null,
});

const map = await ArtMap.create(byId('map')).catch((err: unknown) => {
  setStatus('This browser cannot draw the map (no WebGL or canvas support).', 'error');
  throw err;
});
mapForTests = map;
const panel = new Panel();
const resultsList = new ResultsList();
const chips = new SearchChips();
const filterBar = new FilterBar();
/** The query each chip stands for, when a URL can name it. */
const chipQueries = new Map<string, Query>();

// ---- status line ---------------------------------------------------------------------------

function setStatus(text: string, kind: 'info' | 'busy' | 'error' = 'info'): void {
  statusEl.textContent = text;
  statusEl.dataset.kind = kind;
  statusEl.hidden = text === '';
}

function describeError(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  return `Something went wrong: ${err instanceof Error ? err.message : String(err)}`;
}

// ---- searches ------------------------------------------------------------------------------

interface SearchSpec {
  /** Shown while waiting, e.g. "Searching for “…”…". */
  busy: string;
  /** Shown on the map where the query landed. */
  label: string;
  /** "20 works {found}" / "No works found {for}". */
  found: string;
  /** The search, as the URL names it (an uploaded image is not in the URL). */
  query: Query;
  /** Whether its hits end at a clear drop in their scores (text searches, until the visitor asks for the rest). */
  cutoff: boolean;
  fetch: (options: SearchOptions, signal: AbortSignal) => Promise<SearchAnswer>;
}

/** Every search folds near-duplicates into stacks: `k` different works, each stack unfolded on demand. */
const STACK = true;

/** Runs one search: the newest one wins, its results join the canvas and the camera frames them. */
async function runSearch(spec: SearchSpec): Promise<void> {
  searchAbort?.abort();
  const ctrl = new AbortController();
  searchAbort = ctrl;
  inFlight++;
  setStatus(spec.busy, 'busy');
  try {
    const options = { k: spec.query.k, filters: filterBar.current, stack: STACK, cutoff: spec.cutoff };
    const answer = await spec.fetch(options, ctrl.signal);
    if (ctrl.signal.aborted) return;
    const results = Array.isArray(answer?.results) ? answer.results : [];
    if (results.length === 0) {
      setStatus(`No works found ${spec.found}.`);
      return;
    }
    const cut = answer.cut ?? 0;
    const chip = chips.add(spec.label, spec.found, results, cut);
    chipQueries.set(chip.label, spec.query);
    showList(chip);
    updateInsets();
    const point = 'query_point' in answer ? answer.query_point : null;
    keepUnfolded(chip);
    const added = map.addResults(results, spec.label, point, chip.colour, chip.expanded);
    const notes = [
      ...(cut > 0 ? [`${cut} less relevant left out`] : []),
      ...(results.length > added ? [`${results.length - added} already on the map`] : []),
    ];
    setStatus(`${plural(results.length, 'work')} ${spec.found}${notes.length ? ` (${notes.join('; ')})` : ''}.`);
  } catch (err) {
    if (isAbort(err) || ctrl.signal.aborted) return;
    setStatus(describeError(err), 'error');
  } finally {
    inFlight--;
    if (searchAbort === ctrl) searchAbort = null;
  }
}

function quote(text: string): string {
  return `“${truncate(text, 60)}”`;
}

// ---- searches the URL names -----------------------------------------------------------------

/**
 * A search and how many hits it shows: a text (`all`: without its relevance cut-off) or "more like" a stored work
 * (`but`: with what should differ), which a link can name, or an uploaded image, which it cannot (it is kept to run
 * again when the filters change).
 */
type Query =
  | { kind: 'q'; text: string; k: number; all: boolean }
  | { kind: 'like'; id: number; k: number; title?: string | null; but: string }
  | { kind: 'image'; file: File; k: number };

/** The searches on the map, in the order they were made, and the open work: what the URL says. */
let queries: Query[] = [];
/** Bumped by each round that draws the searches afresh (see runAll). */
let searchRound = 0;
let openWork: number | null = null;
/** True while the page rebuilds what a URL names: nothing it does is written back. */
let restoring = false;
let viewTimer: number | undefined;
/** True once the visitor has panned or zoomed: from then on the URL names the view too. */
let userMoved = false;

function searchByText(q: string): void {
  const text = q.trim();
  if (!text) {
    setStatus('Type what you are looking for, for example “a gloomy landscape in winter”.');
    input.focus();
    return;
  }
  if (!parseWording(text).towards) {
    setStatus('Say what to look for as well as what to leave out, for example “a harbour -people”.');
    input.focus();
    return;
  }
  startSearch({ kind: 'q', text, k: RESULTS_PER_QUERY, all: false });
}

function searchLike(work: { id: number; title: string | null }, but: string): void {
  startSearch({ kind: 'like', id: work.id, k: RESULTS_PER_QUERY, title: work.title, but });
}

function searchByImage(file: File): void {
  startSearch({ kind: 'image', file, k: RESULTS_PER_QUERY });
}

/** A new search: onto the map, into the URL, and run. */
function startSearch(query: Query): void {
  queries.push(query);
  writeUrl('push');
  void runSearch(specOf(query));
}

/** How a search is run and shown. */
function specOf(query: Query): SearchSpec {
  if (query.kind === 'q') {
    const { text } = query;
    // A minus in the text makes it a composed query: towards the rest, away from each minus term.
    const wording = parseWording(text);
    const parts = wording.away.length ? wordingParts(wording) : null;
    return {
      query,
      busy: `Searching for ${quote(text)}…`,
      label: quote(text),
      found: `for ${quote(text)}`,
      cutoff: !query.all,
      fetch: (options, signal) =>
        parts ? searchComposed(parts, options, signal) : searchText(text, options, signal),
    };
  }
  if (query.kind === 'like') {
    const name = query.title ? quote(query.title) : `work #${query.id}`;
    const but = query.but ? ` but ${quote(query.but)}` : '';
    const parts = query.but ? likeButParts(query.id, query.but) : null;
    return {
      query,
      busy: `Looking for works like ${name}${but}…`,
      label: `like ${name}${but}`,
      found: `like ${name}${but}`,
      cutoff: false,
      fetch: (options, signal) =>
        parts ? searchComposed(parts, options, signal) : searchSimilar(query.id, options, signal),
    };
  }
  const name = query.file.name || 'your image';
  return {
    query,
    busy: `Searching for works like ${name}…`,
    label: `image: ${name}`,
    found: `like ${name}`,
    cutoff: false,
    fetch: (options, signal) => searchImage(query.file, name, options, signal),
  };
}

/** "More like this, but …": the work and the visitor's words, counted alike (no pretrained weights here to measure
 * another balance by), a minus term in them searching away. */
function likeButParts(id: number, but: string): QueryPart[] {
  return [{ artwork_id: id, weight: 1 }, ...wordingParts(parseWording(but))];
}

/** The next page size of "more results": 20, 50, 100, then the API's most. */
function moreThan(k: number): number {
  return k < 50 ? 50 : k < 100 ? 100 : MAX_RESULTS;
}

/** Lists a search's results, offering more while it filled its page and the API allows more. */
function showList(chip: SearchChip): void {
  const query = chipQueries.get(chip.label);
  const more = query !== undefined && chip.results.length >= query.k && query.k < MAX_RESULTS;
  resultsList.show(chip, more);
}

/** The listed text search again, with the hits its relevance cut-off left out. */
function showCut(label: string): void {
  const query = chipQueries.get(label);
  if (query?.kind !== 'q') return;
  query.all = true;
  writeUrl('push');
  void runSearch(specOf(query));
}

/** Unfolds (or folds) one hit's stack of near-duplicates: on the map beside it, in the list under it, and in the
 * panel's offer when the hit is open. */
function toggleStack(label: string, id: number, expand: boolean): void {
  const chip = chips.get(label);
  const members = stackOf(chip, id);
  if (!chip || members.length === 0) return;
  if (expand) {
    chip.expanded.add(id);
    map.expandStack(label, id, members);
  } else {
    chip.expanded.delete(id);
    const ids = members.map((m) => m.id);
    map.collapseStack(label, id, ids);
    if (openWork !== null && ids.includes(openWork) && map.resultById(openWork) === null) panel.close();
  }
  if (resultsList.label === label) resultsList.refresh();
  if (openWork === id) panel.showStack(members.length, expand);
}

/** A search run again (more results, the rest after a cut-off) keeps its stacks unfolded while their hits still
 * head them. */
function keepUnfolded(chip: SearchChip): void {
  for (const id of chip.expanded) {
    if (stackOf(chip, id).length === 0) chip.expanded.delete(id);
  }
}

/** The open work's stack in the listed search, offered in the panel (none when it heads no stack there). */
function offerStack(id: number): void {
  const chip = chips.get(resultsList.label);
  panel.showStack(stackOf(chip, id).length, chip?.expanded.has(id) ?? false);
}

/** The listed search again with its next page size: its new works join the map. */
function showMore(label: string): void {
  const query = chipQueries.get(label);
  if (!query) return;
  query.k = moreThan(query.k);
  writeUrl('push');
  void runSearch(specOf(query));
}

/**
 * Draws these searches afresh, one after another, with the filters now set; `queries` holds them all from the start, so a newer round (the
 * filters changed again, a link restored) takes over the whole list and this one stops where it is.
 */
async function runAll(all: readonly Query[]): Promise<void> {
  const round = ++searchRound;
  searchAbort?.abort();
  clearSearches();
  queries = [...all];
  inFlight++;
  try {
    for (const query of all) {
      if (query.kind === 'q') input.value = query.text;
      // The title makes a better label than the id; without it the search still runs.
      if (query.kind === 'like' && query.title === undefined) {
        query.title = (await getArtwork(query.id).catch(() => null))?.title;
      }
      if (round !== searchRound) return;
      await runSearch(specOf(query));
    }
  } finally {
    inFlight--;
  }
}

/** What a URL says: its searches (`q=text`, `like=id`, each with its `k=n` after it when not 20; `similar=id` from
 * older links; `but=text` after a `like` for "more like this, but …"; `all=1` after a `q` for its hits past the
 * relevance cut-off), the filters (`museum`, `type`, `from`, `to`), the open work (`work=id`) and the view. */
function readUrl(): { queries: Query[]; filters: SearchFilters; work: number | null; view: MapView | null } {
  const params = new URLSearchParams(location.search);
  const named: Query[] = [];
  for (const [key, value] of params) {
    const n = Number(value);
    const last = named.at(-1);
    if (key === 'q' && value.trim()) named.push({ kind: 'q', text: value.trim(), k: RESULTS_PER_QUERY, all: false });
    else if ((key === 'like' || key === 'similar') && Number.isInteger(n) && n > 0) {
      named.push({ kind: 'like', id: n, k: RESULTS_PER_QUERY, but: '' });
    } else if (key === 'k' && last && Number.isInteger(n) && n >= 1) {
      last.k = Math.min(n, MAX_RESULTS);
    } else if (key === 'but' && last?.kind === 'like') {
      last.but = value.trim();
    } else if (key === 'all' && last?.kind === 'q') {
      last.all = value === '1';
    }
  }
  const year = (name: string) => {
    const text = params.get(name);
    return text !== null && text.trim() !== '' && Number.isInteger(Number(text)) ? Number(text) : undefined;
  };
  const filters: SearchFilters = {
    museum: params.get('museum') || undefined,
    type: params.get('type') || undefined,
    from: year('from'),
    to: year('to'),
  };
  const work = Number(params.get('work'));
  const [x, y, scale] = (params.get('view') ?? '').split(',').map(Number);
  const view = [x, y, scale].every(Number.isFinite) && scale > 0 ? { x, y, scale } : null;
  return { queries: named, filters, work: Number.isInteger(work) && work > 0 ? work : null, view };
}

/** The URL of what is on screen now: the searches, the filters, the open work and the view. */
function currentUrl(): string {
  const params = new URLSearchParams();
  for (const query of queries) {
    if (query.kind === 'image') continue;
    params.append(query.kind, query.kind === 'q' ? query.text : String(query.id));
    if (query.k !== RESULTS_PER_QUERY) params.append('k', String(query.k));
    if (query.kind === 'like' && query.but) params.append('but', query.but);
    if (query.kind === 'q' && query.all) params.append('all', '1');
  }
  const { museum, type, from, to } = filterBar.current;
  for (const [key, value] of Object.entries({ museum, type, from, to })) {
    if (value !== undefined) params.set(key, String(value));
  }
  if (openWork !== null) params.set('work', String(openWork));
  if (queries.length || openWork !== null || userMoved) {
    const { x, y, scale } = map.view();
    params.set('view', `${x.toFixed(4)},${y.toFixed(4)},${scale.toPrecision(4)}`);
  }
  const search = params.toString();
  return `${location.pathname}${search ? `?${search}` : ''}`;
}

/** A new history entry for a new search or an opened work; the view is kept up to date in place. */
function writeUrl(how: 'push' | 'replace'): void {
  if (restoring) return;
  const url = currentUrl();
  if (url === `${location.pathname}${location.search}`) return;
  if (how === 'push') history.pushState(null, '', url);
  else history.replaceState(null, '', url);
}

/** Rebuilds what the URL names: its searches in order (only when they differ), its open work, its view. */
async function restoreFromUrl(): Promise<void> {
  const wanted = readUrl();
  restoring = true;
  inFlight++;
  try {
    const filtersMoved = !sameFilters(wanted.filters, filterBar.current);
    if (filtersMoved) filterBar.set(wanted.filters);
    if (filtersMoved || !sameQueries(wanted.queries, queries)) {
      panel.close();
      await runAll(wanted.queries);
      updateInsets();
    }
    await openWorkById(wanted.work);
    if (wanted.view) map.setView(wanted.view);
  } finally {
    inFlight--;
    restoring = false;
  }
}

/** Takes every search off the map, its chips and list with it. */
function clearSearches(): void {
  queries = [];
  map.clear();
  resultsList.clear();
  chips.clear();
  chipQueries.clear();
}

/** One search off the map: its chip, its label, its works no other search holds, and its place in the URL. */
function removeSearch(chip: SearchChip): void {
  const query = chipQueries.get(chip.label);
  if (query) queries = queries.filter((q) => !sameQuery(q, query));
  chipQueries.delete(chip.label);
  chips.remove(chip);
  map.removeQuery(chip.label);
  if (openWork !== null && map.resultById(openWork) === null) panel.close();
  const last = chips.all.at(-1);
  if (last) showList(last);
  else resultsList.clear();
  map.showQuery(last?.label ?? null);
  updateInsets();
  writeUrl('push');
}

chips.onChoose = (chip) => {
  showList(chip);
  map.showQuery(chip.label);
  updateInsets();
  map.frameQuery(chip.label);
};
chips.onRemove = removeSearch;

function sameQuery(a: Query, b: Query): boolean {
  if (a.kind !== b.kind || a.k !== b.k) return false;
  if (a.kind === 'q') return a.text === (b as typeof a).text && a.all === (b as typeof a).all;
  if (a.kind === 'like') return a.id === (b as typeof a).id && a.but === (b as typeof a).but;
  return a.file === (b as typeof a).file;
}

function sameFilters(a: SearchFilters, b: SearchFilters): boolean {
  return a.museum === b.museum && a.type === b.type && a.from === b.from && a.to === b.to;
}

filterBar.onChange = () => {
  writeUrl('push');
  void runAll(queries);
};
resultsList.onMore = showMore;
resultsList.onShowCut = showCut;
resultsList.onStack = toggleStack;

function sameQueries(a: readonly Query[], b: readonly Query[]): boolean {
  return a.length === b.length && a.every((q, i) => sameQuery(q, b[i]));
}

/** Opens a work by id (a URL's, or a collection work clicked): from the results, else from the API; null closes. */
async function openWorkById(id: number | null): Promise<void> {
  if (id === null) {
    panel.close();
    return;
  }
  if (openWork === id && panel.isOpen) return;
  const result = map.resultById(id) ?? (await getArtwork(id).then((art) => ({ ...art, score: 0 })).catch(() => null));
  if (result) map.onSelect(result);
  else setStatus(`Work #${id} is no longer in the collection.`, 'error');
}

// ---- chrome --------------------------------------------------------------------------------

function updateInsets(): void {
  document.body.classList.toggle('panel-open', panel.isOpen);
  if (!banner.hidden) document.body.style.setProperty('--banner-height', `${banner.offsetHeight}px`);
  // The search form plus room for the status line below it.
  const bar = form.getBoundingClientRect();
  const list = resultsList.covered();
  const chipsBottom = chipsEl.childElementCount ? chipsEl.getBoundingClientRect().bottom + 8 : 0;
  map.setInsets({
    top: Math.max(bar.bottom + 44, chipsBottom),
    right: panel.isOpen ? panel.coveredWidth : 0,
    bottom: Math.max(56, list.bottom),
    left: list.left,
  });
}

/** The corner says how many works the map holds, and how many of them are results. */
function showCount(results: number): void {
  const placed = map.collectionInfo().placed;
  const works = (n: number) => `${n.toLocaleString()} ${n === 1 ? 'work' : 'works'}`;
  if (results > 0) {
    const of = placed > 0 ? ` among ${works(placed)}` : '';
    countEl.textContent = `${results.toLocaleString()} ${results === 1 ? 'result' : 'results'}${of}`;
  } else {
    countEl.textContent = placed > 0 ? `${works(placed)} on the map` : 'No works on the map yet';
  }
}

map.onCountChange = (count) => {
  showCount(count);
  document.body.classList.toggle('has-works', count > 0);
  hint.hidden = count > 0;
};

map.onCollectionShown = () => {
  document.body.classList.add('has-collection');
  showCount(map.resultCount);
};
map.onHover = (id, text) => {
  resultsList.setHovered(id);
  tooltip.hidden = id === null;
  tooltip.textContent = text;
};
map.onPick = (id) => void openWorkById(id);
// The hovered work's title follows the pointer, just below and right of it.
byId('map').addEventListener('pointermove', (e) => {
  tooltip.style.transform = `translate(${e.clientX + 14}px, ${e.clientY + 18}px)`;
});
byId('map').addEventListener('pointerleave', () => (tooltip.hidden = true));
resultsList.onHover = (id) => map.hover(id);
resultsList.onOpen = (result) => map.onSelect(result);

for (const gesture of ['pointerdown', 'wheel'] as const) {
  byId('map').addEventListener(gesture, () => (userMoved = true), { passive: true });
}

map.onViewChange = () => {
  // Not before the page has read its URL: the first frames would write a bare URL over a shared link.
  if (restoring || !started) return;
  window.clearTimeout(viewTimer);
  viewTimer = window.setTimeout(() => writeUrl('replace'), 400);
};

map.onSelect = (result) => {
  openWork = result.id;
  writeUrl('push');
  panel.open(result);
  offerStack(result.id);
  map.select(result.id);
  updateInsets();
  map.reveal(result.id);
};

panel.onMoreLikeThis = (result, but) => searchLike(result, but);
panel.onStack = (expand) => {
  if (openWork !== null && resultsList.label !== null) toggleStack(resultsList.label, openWork, expand);
};
panel.onClose = () => {
  openWork = null;
  writeUrl('push');
  map.select(null);
  updateInsets();
};

form.addEventListener('submit', (e) => {
  e.preventDefault();
  searchByText(input.value);
});

for (const example of document.querySelectorAll<HTMLButtonElement>('.example')) {
  example.addEventListener('click', () => {
    input.value = example.textContent ?? '';
    searchByText(input.value);
  });
}

clearButton.addEventListener('click', () => {
  openWork = null;
  userMoved = false;
  searchAbort?.abort();
  clearSearches();
  panel.close();
  updateInsets();
  map.fitAll();
  setStatus('');
  writeUrl('push');
  input.focus();
});

byId('zoom-in').addEventListener('click', () => map.zoomBy(1.6));
byId('zoom-out').addEventListener('click', () => map.zoomBy(1 / 1.6));
byId('zoom-fit').addEventListener('click', () => map.fitAll());

fileInput.addEventListener('change', () => {
  const file = fileInput.files?.[0];
  if (file) searchByImage(file);
  fileInput.value = ''; // so that choosing the same file again searches again
});

document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && panel.isOpen) {
    e.preventDefault();
    panel.close();
  } else if (e.key === '/' && document.activeElement === document.body) {
    e.preventDefault();
    input.focus();
  }
});

// Drop an image anywhere, or paste one.
let dragDepth = 0;
const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes('Files');
window.addEventListener('dragenter', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  dragDepth++;
  dropzone.hidden = false;
});
window.addEventListener('dragover', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
});
window.addEventListener('dragleave', (e) => {
  if (!hasFiles(e)) return;
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) dropzone.hidden = true;
});
window.addEventListener('drop', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  dragDepth = 0;
  dropzone.hidden = true;
  const file = e.dataTransfer?.files[0];
  if (file) searchByImage(file);
});
window.addEventListener('paste', (e) => {
  const file = Array.from(e.clipboardData?.files ?? []).find((f) => f.type.startsWith('image/'));
  if (file) {
    e.preventDefault();
    searchByImage(file);
  }
});

// One restore at a time: back twice in a row rebuilds the second entry after the first, never both at once.
let restores = Promise.resolve();
window.addEventListener('popstate', () => {
  inFlight++; // at once: the page is busy from the moment the entry changes
  restores = restores.then(restoreFromUrl).finally(() => inFlight--);
});
window.addEventListener('resize', updateInsets);

// ---- start ---------------------------------------------------------------------------------

async function checkHealth(): Promise<void> {
  try {
    const health = await getHealth();
    banner.hidden = !health.random_weights;
    document.body.classList.toggle('has-banner', !banner.hidden);
    updateInsets();
    if (health.artworks > 0) {
      hintText.textContent = `Describe a mood, a scene or a colour to search ${health.artworks.toLocaleString()} artworks, or drop an image anywhere on the page.`;
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === null) setStatus(err.message, 'error');
    else console.warn('health:', err);
  }
}

inFlight++;
try {
  // First (but not for long), so that the banner is in place before the map is framed.
  await Promise.race([checkHealth(), new Promise((resolve) => setTimeout(resolve, 2500))]);
  void filterBar.start();
  updateInsets();
  map.showWholeWorld();
  await map.collectionStarted; // a link's view may be closer than a map without tiles allows
  await restoreFromUrl();
} finally {
  inFlight--;
  started = true;
}
