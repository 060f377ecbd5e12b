/**
 * The search filters: museum, object type and a date range over the collection's histogram, from /api/facets.
 * Every search on the map is run with them; changing one runs the searches again.
 */
import { getFacets, type Facets, type SearchFilters } from './api';
import { byId } from './panel';

/** How many of each choice a visitor sees: "Painting (12,345)". */
function withCount(text: string, count: number): string {
  return `${text} (${count.toLocaleString()})`;
}

export class FilterBar {
  /** The filters changed by the visitor (not by set()). */
  onChange: (filters: SearchFilters) => void = () => {};

  private readonly toggle = byId<HTMLButtonElement>('filters-button');
  private readonly count = byId('filters-count');
  private readonly box = byId('filters');
  private readonly museum = byId<HTMLSelectElement>('filter-museum');
  private readonly type = byId<HTMLSelectElement>('filter-type');
  private readonly from = byId<HTMLInputElement>('filter-from');
  private readonly to = byId<HTMLInputElement>('filter-to');
  private readonly years = byId('filter-years');
  private readonly histogram = byId('filter-histogram');
  private readonly reset = byId<HTMLButtonElement>('filters-clear');
  private facets: Facets | null = null;
  private filters: SearchFilters = {};

  constructor() {
    this.toggle.addEventListener('click', () => this.setOpen(this.box.hidden));
    this.box.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape') return;
      e.stopPropagation(); // closes the filters, not the open work
      this.setOpen(false);
      this.toggle.focus();
    });
    for (const select of [this.museum, this.type]) select.addEventListener('change', () => this.changed());
    // Ranges search when let go ('change'), and show their years while dragged ('input').
    for (const range of [this.from, this.to]) {
      range.addEventListener('input', () => this.showYears(range));
      range.addEventListener('change', () => this.changed());
    }
    // A press on the map (to pan, say) puts the filters away.
    byId('map').addEventListener('pointerdown', () => {
      if (!this.box.hidden) this.setOpen(false);
    });
    this.reset.addEventListener('click', () => {
      this.set({});
      this.onChange(this.filters);
    });
  }

  /** The filters every search is run with now. */
  get current(): SearchFilters {
    return this.filters;
  }

  /** Fetches what the collection offers; without it (an older server, say) the filters stay hidden. */
  async start(): Promise<void> {
    try {
      this.facets = await getFacets();
    } catch {
      return;
    }
    this.fillChoices(this.facets);
    this.toggle.hidden = false;
    this.set(this.filters);
  }

  /** Shows given filters (a URL's), without searching. */
  set(filters: SearchFilters): void {
    this.filters = { ...filters };
    ensureOption(this.museum, filters.museum);
    ensureOption(this.type, filters.type);
    this.museum.value = filters.museum ?? '';
    this.type.value = filters.type ?? '';
    const years = this.facets?.years;
    if (years) {
      this.from.value = String(filters.from ?? years.start);
      this.to.value = String(filters.to ?? years.end);
    }
    this.showYears(null);
    this.showActive();
  }

  private setOpen(open: boolean): void {
    this.box.hidden = !open;
    this.toggle.setAttribute('aria-expanded', String(open));
    if (open) this.museum.focus();
  }

  private changed(): void {
    const years = this.facets?.years;
    let from = Number(this.from.value);
    let to = Number(this.to.value);
    if (from > to) [from, to] = [to, from];
    this.filters = {
      museum: this.museum.value || undefined,
      type: this.type.value || undefined,
      // The histogram's ends stand for "no limit": its range leaves out a few outliers.
      from: years && from > years.start ? from : undefined,
      to: years && to < years.end ? to : undefined,
    };
    this.showYears(null);
    this.showActive();
    this.onChange(this.filters);
  }

  private fillChoices(facets: Facets): void {
    this.museum.replaceChildren(
      new Option('All museums', ''),
      ...facets.museums.map((m) => new Option(withCount(m.label, m.count), m.value)),
    );
    this.type.replaceChildren(
      new Option('All kinds of object', ''),
      ...facets.types.map((t) => new Option(withCount(t.value, t.count), t.value)),
    );
    const years = facets.years;
    this.years.parentElement!.hidden = !years;
    if (!years) return;
    for (const range of [this.from, this.to]) {
      range.min = String(years.start);
      range.max = String(years.end);
      range.step = String(years.bin);
    }
    const most = Math.max(1, ...years.counts);
    this.histogram.replaceChildren(
      ...years.counts.map((count, i) => {
        const bar = document.createElement('span');
        bar.style.height = `${Math.max(count ? 6 : 0, (100 * Math.sqrt(count)) / Math.sqrt(most))}%`;
        bar.dataset.start = String(years.start + i * years.bin);
        bar.title = `${years.start + i * years.bin}–${years.start + (i + 1) * years.bin - 1}: ${count.toLocaleString()}`;
        return bar;
      }),
    );
  }

  /** The chosen years beside the ranges, and the histogram's bars inside them lit. */
  private showYears(dragged: HTMLInputElement | null): void {
    const years = this.facets?.years;
    if (!years) return;
    let from = Number(this.from.value);
    let to = Number(this.to.value);
    if (from > to) [from, to] = dragged === this.from ? [to, to] : [from, from];
    const low = from > years.start;
    const high = to < years.end;
    this.years.textContent =
      low && high ? `${from} – ${to}` : low ? `from ${from}` : high ? `up to ${to}` : 'any date';
    for (const bar of this.histogram.children as HTMLCollectionOf<HTMLElement>) {
      const start = Number(bar.dataset.start);
      bar.classList.toggle('in', start + years.bin > from && start <= to);
    }
  }

  /** The button says how many filters are on. */
  private showActive(): void {
    const on = [this.filters.museum, this.filters.type, this.filters.from ?? this.filters.to].filter(
      (v) => v !== undefined,
    ).length;
    this.count.textContent = String(on);
    this.count.hidden = on === 0;
    this.toggle.setAttribute('aria-label', on ? `Filters: ${on} on` : 'Filters');
    this.toggle.classList.toggle('active', on > 0);
    this.reset.hidden = on === 0;
  }
}

/** A URL may name a choice the facets do not list (a rare type): keep it selectable. */
function ensureOption(select: HTMLSelectElement, value: string | undefined): void {
  if (!value || [...select.options].some((o) => o.value === value)) return;
  select.add(new Option(value, value));
}
