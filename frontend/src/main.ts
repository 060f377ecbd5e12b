import './style.css';
import {
  ApiError,
  getArtwork,
  getHealth,
  isAbort,
  searchImage,
  searchSimilar,
  searchText,
  type SearchAnswer,
} from './api';
import type { CollectionInfo } from './collection';
import { ArtMap, type SpriteInfo } from './map';
import { Panel, byId } from './panel';
import { ResultsList } from './results';
import { truncate } from './util';

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
});

const map = await ArtMap.create(byId('map')).catch((err: unknown) => {
  setStatus('This browser cannot draw the map (no WebGL or canvas support).', 'error');
  throw err;
});
mapForTests = map;
const panel = new Panel();
const resultsList = new ResultsList();

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
  fetch: (signal: AbortSignal) => Promise<SearchAnswer>;
}

/** Runs one search: the newest one wins, its results join the canvas and the camera frames them. */
async function runSearch(spec: SearchSpec): Promise<void> {
  searchAbort?.abort();
  const ctrl = new AbortController();
  searchAbort = ctrl;
  inFlight++;
  setStatus(spec.busy, 'busy');
  try {
    const answer = await spec.fetch(ctrl.signal);
    if (ctrl.signal.aborted) return;
    const results = Array.isArray(answer?.results) ? answer.results : [];
    if (results.length === 0) {
      setStatus(`No works found ${spec.found}.`);
      return;
    }
    resultsList.show(spec.found, results);
    updateInsets();
    const added = map.addResults(results, spec.label, 'query_point' in answer ? answer.query_point : null);
    const already = results.length - added;
    const works = `${results.length} ${results.length === 1 ? 'work' : 'works'}`;
    setStatus(
      already > 0
        ? `${works} ${spec.found} (${already} already on the canvas).`
        : `${works} ${spec.found}.`,
    );
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

function searchByText(q: string, updateUrl = true): void {
  const query = q.trim();
  if (!query) {
    setStatus('Type what you are looking for, for example “a gloomy landscape in winter”.');
    input.focus();
    return;
  }
  if (updateUrl) setUrl({ q: query });
  void runSearch({
    busy: `Searching for ${quote(query)}…`,
    label: quote(query),
    found: `for ${quote(query)}`,
    fetch: (signal) => searchText(query, signal),
  });
}

function searchLike(work: { id: number; title: string | null }, updateUrl = true): void {
  const name = work.title ? quote(work.title) : `work #${work.id}`;
  if (updateUrl) setUrl({ similar: String(work.id) });
  void runSearch({
    busy: `Looking for works like ${name}…`,
    label: `like ${name}`,
    found: `like ${name}`,
    fetch: (signal) => searchSimilar(work.id, signal),
  });
}

function searchByImage(file: File): void {
  const name = file.name || 'your image';
  void runSearch({
    busy: `Searching for works like ${name}…`,
    label: `image: ${name}`,
    found: `like ${name}`,
    fetch: (signal) => searchImage(file, name, signal),
  });
}

/** Opens a shared link: `?q=text` or `?similar=id`. */
async function runFromUrl(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const q = params.get('q');
  const similar = Number(params.get('similar'));
  if (q) {
    input.value = q;
    searchByText(q, false);
  } else if (Number.isInteger(similar) && similar > 0) {
    inFlight++;
    try {
      // The title makes a better label than the id; without it the search still runs.
      const art = await getArtwork(similar).catch(() => null);
      searchLike(art ?? { id: similar, title: null }, false);
    } finally {
      inFlight--;
    }
  }
}

function setUrl(params: Record<string, string>): void {
  const search = new URLSearchParams(params).toString();
  const url = `${location.pathname}${search ? `?${search}` : ''}`;
  if (url !== `${location.pathname}${location.search}`) history.pushState(null, '', url);
}

// ---- chrome --------------------------------------------------------------------------------

function updateInsets(): void {
  document.body.classList.toggle('panel-open', panel.isOpen);
  if (!banner.hidden) document.body.style.setProperty('--banner-height', `${banner.offsetHeight}px`);
  // The search form plus room for the status line below it.
  const bar = form.getBoundingClientRect();
  const list = resultsList.covered();
  map.setInsets({
    top: bar.bottom + 44,
    right: panel.isOpen ? panel.coveredWidth : 0,
    bottom: Math.max(56, list.bottom),
    left: list.left,
  });
}

map.onCountChange = (count) => {
  countEl.textContent = `${count.toLocaleString()} ${count === 1 ? 'work' : 'works'} on the canvas`;
  document.body.classList.toggle('has-works', count > 0);
  hint.hidden = count > 0;
};

map.onHover = (id) => resultsList.setHovered(id);
resultsList.onHover = (id) => map.hover(id);
resultsList.onOpen = (result) => map.onSelect(result);

map.onSelect = (result) => {
  panel.open(result);
  map.select(result.id);
  updateInsets();
  map.reveal(result.id);
};

panel.onMoreLikeThis = (result) => searchLike(result);
panel.onClose = () => {
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
  searchAbort?.abort();
  panel.close();
  map.clear();
  resultsList.clear();
  updateInsets();
  map.fitAll();
  setStatus('');
  setUrl({});
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

window.addEventListener('popstate', () => void runFromUrl());
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
  updateInsets();
  map.showWholeWorld();
  await runFromUrl();
} finally {
  inFlight--;
  started = true;
}
