/** The artsearch HTTP API, same origin under /api; its shapes are generated from the server's schema. */
import type { components } from './api-schema';

type Schemas = components['schemas'];

/** One hit: enough to draw it on the map and link to its museum page, with the near-duplicates stacked under it. */
export type Result = Schemas['Result'];
/** A near-duplicate folded under a better hit. */
export type Hit = Schemas['Hit'];
/** One part of a composed query: a text or a stored artwork, and how much it counts (negative: away from it). */
export type QueryPart = Schemas['QueryPart'];
/** An artwork with all its metadata and its place on the map. */
export type Artwork = Schemas['Artwork'];
export type Point = Schemas['Point'];
export type Health = Schemas['Health'];
/** The current map: the version its tile URLs name, zooms, sizes and region labels. */
export type MapInfo = Schemas['MapInfo'];
/** One level-of-detail tile: its works (with their atlas cells) and a density grid. */
export type Tile = Schemas['Tile'];
/** What the search filters can offer: museums, object types and a histogram of years. */
export type Facets = Schemas['Facets'];
/** The answer to any search: text and image searches also say where the query lands on the map. */
export type SearchAnswer =
  | Schemas['SearchResponse']
  | Schemas['ImageSearchResponse']
  | Schemas['SimilarResponse']
  | Schemas['ComposedSearchResponse'];

/** A failed request, with a message fit to show the user. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** What every search may be narrowed to (the API's museum, type, date_from and date_to); unset: any. */
export interface SearchFilters {
  museum?: string;
  type?: string;
  from?: number;
  to?: number;
}

/** How many hits a search asks for, its filters, and how its hits are shaped: near-duplicates stacked under the best
 * of them (`k` then counts stacks), the list ended at a clear drop in the scores (`cut` says how many that left out). */
export interface SearchOptions {
  k: number;
  filters: SearchFilters;
  stack: boolean;
  cutoff: boolean;
}

/** A search's first page of hits, and the most "more results" reaches (the API's limit). */
export const RESULTS_PER_QUERY = 20;
export const MAX_RESULTS = 200;

export function searchText(q: string, options: SearchOptions, signal?: AbortSignal): Promise<SearchAnswer> {
  return request<SearchAnswer>(`/api/search?${searchParams(options, { q })}`, { signal });
}

export function searchSimilar(id: number, options: SearchOptions, signal?: AbortSignal): Promise<SearchAnswer> {
  return request<SearchAnswer>(`/api/artworks/${id}/similar?${searchParams(options)}`, { signal });
}

export function searchImage(file: Blob, filename: string, options: SearchOptions, signal?: AbortSignal): Promise<SearchAnswer> {
  const body = new FormData();
  body.append('file', file, filename);
  body.append('k', String(options.k));
  // The filters travel in the URL, as for the other searches; the form holds the image and k.
  const params = searchParams({ ...options, k: 0 });
  return request<SearchAnswer>(`/api/search/image${params.size ? `?${params}` : ''}`, { method: 'POST', body, signal });
}

export function searchComposed(parts: QueryPart[], options: SearchOptions, signal?: AbortSignal): Promise<SearchAnswer> {
  // The parts and k are the body; the filters and the shape travel in the URL, as for the other searches.
  const params = searchParams({ ...options, k: 0 });
  return request<SearchAnswer>(`/api/search/compose${params.size ? `?${params}` : ''}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ parts, k: options.k }),
    signal,
  });
}

/** A search's query string: its own parameters, k (when not 0), the shape asked for and the filters that are set. */
function searchParams({ k, filters, stack, cutoff }: SearchOptions, own: Record<string, string> = {}): URLSearchParams {
  const params = new URLSearchParams(own);
  if (k) params.set('k', String(k));
  if (stack) params.set('stack', 'true');
  if (cutoff) params.set('cutoff', 'auto');
  const { museum, type, from, to } = filters;
  if (museum) params.set('museum', museum);
  if (type) params.set('type', type);
  if (from !== undefined) params.set('date_from', String(from));
  if (to !== undefined) params.set('date_to', String(to));
  return params;
}

export function getFacets(): Promise<Facets> {
  return request<Facets>('/api/facets', {});
}

export function getArtwork(id: number, signal?: AbortSignal): Promise<Artwork> {
  return request<Artwork>(`/api/artworks/${id}`, { signal });
}

export function getHealth(): Promise<Health> {
  return request<Health>('/api/health', {});
}

export function getMap(): Promise<MapInfo> {
  return request<MapInfo>('/api/map', {});
}

export function getTile(version: string, z: number, x: number, y: number): Promise<Tile> {
  return request<Tile>(`/api/map/${version}/tiles/${z}/${x}/${y}`, {});
}

/** A request's options; its headers are added to the Accept every request sends. */
type RequestOptions = Omit<RequestInit, 'headers'> & { headers?: Record<string, string> };

async function request<T>(path: string, init: RequestOptions): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers: { Accept: 'application/json', ...init.headers } });
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiError('Could not reach the server. Is artsearch running?', null);
  }
  if (!response.ok) {
    throw new ApiError(await describeFailure(response), response.status);
  }
  try {
    return (await response.json()) as T;
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiError(`The server sent an unreadable answer (${response.status}).`, response.status);
  }
}

/** What a visitor reads for each failure: plain words first, the server's own reason only where it helps. */
const PLAIN: Record<number, string> = {
  404: 'That work is no longer in the collection.',
  413: 'That image is too large to search with. Try a smaller one.',
  415: 'That file is not a picture that can be searched with. Try a JPEG or PNG.',
  429: 'Too many searches at once. Wait a moment and try again.',
  503: 'The collection is not available right now. Try again in a moment.',
};

/** The failure in plain words; a 422 says what was wrong with the request, in the server's words. */
async function describeFailure(response: Response): Promise<string> {
  let detail = '';
  try {
    const body: unknown = await response.json();
    detail = formatDetail((body as { detail?: unknown } | null)?.detail);
  } catch {
    // Not JSON (a proxy's HTML page, say): the status is all we have.
  }
  const plain = PLAIN[response.status];
  if (plain) return plain;
  if (response.status === 422) return detail ? `That search could not be run: ${detail}.` : 'That search could not be run.';
  if (response.status >= 500) return 'Something went wrong on the server. Try again in a moment.';
  return `That did not work (error ${response.status}). Try again.`;
}

function formatDetail(detail: unknown): string {
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) {
    // FastAPI validation errors: [{loc: [...], msg: "...", type: "..."}]
    return detail
      .map((item) => {
        if (item && typeof item === 'object' && 'msg' in item) {
          const { msg, loc } = item as { msg: unknown; loc?: unknown };
          const field = Array.isArray(loc) ? loc.filter((p) => p !== 'query' && p !== 'body').join('.') : '';
          return field ? `${field}: ${String(msg)}` : String(msg);
        }
        return typeof item === 'string' ? item : JSON.stringify(item);
      })
      .join('; ');
  }
  if (detail && typeof detail === 'object') return JSON.stringify(detail);
  return '';
}

export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'AbortError';
}
