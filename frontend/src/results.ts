/**
 * The results list beside the map: the latest search's works in rank order, mirroring the map (hover or focus in
 * one highlights the other). It is the keyboard and screen-reader path: Tab into it, arrow keys move, Enter opens.
 */
import type { Hit, Result } from './api';
import type { SearchChip } from './chips';
import { byId, museumName } from './panel';
import { plural } from './util';

export class ResultsList {
  /** A work of the list was chosen (click or Enter). */
  onOpen: (result: Result) => void = () => {};
  /** A work of the list is pointed at or focused (null: none is). */
  onHover: (id: number | null) => void = () => {};
  /** "More results" was pressed for the listed search (by its label). */
  onMore: (label: string) => void = () => {};
  /** "Show them" was pressed: the listed search again without its relevance cut-off. */
  onShowCut: (label: string) => void = () => {};
  /** A hit's stack of near-duplicates is to be unfolded (true) or folded (false). */
  onStack: (label: string, id: number, expand: boolean) => void = () => {};

  private readonly el = byId('results');
  private readonly title = byId('results-title');
  private readonly list = byId<HTMLOListElement>('results-list');
  private readonly cut = byId('results-cut');
  private readonly cutText = byId('results-cut-text');
  private readonly more = byId<HTMLButtonElement>('results-more');
  private readonly items = new Map<number, HTMLButtonElement>();
  private listed: SearchChip | null = null;
  private offersMore = false;
  /** After "More results" or "Show them", the rank whose item takes the focus once they are listed. */
  private focusFrom: number | null = null;

  constructor() {
    this.list.addEventListener('keydown', (e) => this.move(e));
    this.more.addEventListener('click', () => this.extend(this.onMore));
    byId('results-show-cut').addEventListener('click', () => this.extend(this.onShowCut));
  }

  get isShown(): boolean {
    return !this.el.hidden;
  }

  /** The label of the search listed, or null. */
  get label(): string | null {
    return this.listed?.label ?? null;
  }

  /** How far the list reaches into the screen from the left (beside the map) or the bottom (a phone's sheet). */
  covered(): { left: number; bottom: number } {
    if (!this.isShown) return { left: 0, bottom: 0 };
    const rect = this.el.getBoundingClientRect();
    const sheet = rect.width > window.innerWidth / 2;
    return sheet ? { left: 0, bottom: window.innerHeight - rect.top } : { left: rect.right, bottom: 0 };
  }

  /** Lists one search's results, best first, with their stacks, what its cut-off left out, and `more` or not. */
  show(chip: SearchChip, more: boolean): void {
    // The same search again (more results, a stack unfolded) keeps the focus and the scroll where they were.
    const same = this.listed?.label === chip.label;
    const focused = same ? (document.activeElement as HTMLElement | null)?.dataset.key : undefined;
    this.listed = chip;
    this.offersMore = more;
    const { results, found, cut } = chip;
    this.title.textContent = `${plural(results.length, 'work')} ${found}`;
    this.items.clear();
    this.list.replaceChildren(...results.map((result, i) => this.entry(result, i + 1, chip.expanded.has(result.id))));
    this.cut.hidden = cut === 0;
    this.cutText.textContent = `${plural(cut, 'less relevant work')} left out, after a clear drop in the scores.`;
    this.more.hidden = !more;
    this.el.hidden = false;
    if (focused) this.list.querySelector<HTMLElement>(`[data-key="${focused}"]`)?.focus({ preventScroll: true });
    // The button pressed for more may be gone now: the keyboard goes on at the first work it brought.
    const from = same ? this.focusFrom : null;
    this.focusFrom = null;
    if (from !== null) this.list.querySelectorAll<HTMLElement>(':scope > li > .result')[from]?.focus();
  }

  /** Asks for more of the listed search, its next works to take the focus when they come. */
  private extend(ask: (label: string) => void): void {
    if (!this.listed) return;
    this.focusFrom = this.listed.results.length;
    ask(this.listed.label);
  }

  /** Lists the listed search again: its stacks changed. */
  refresh(): void {
    if (this.listed) this.show(this.listed, this.offersMore);
  }

  clear(): void {
    this.listed = null;
    this.list.replaceChildren();
    this.items.clear();
    this.el.hidden = true;
  }

  /** Marks the item of a work the map's pointer is on (null: none). */
  setHovered(id: number | null): void {
    for (const [itemId, button] of this.items) button.classList.toggle('hovered', itemId === id);
  }

  /** One hit's entry: its item, a toggle for its stack of near-duplicates, and the stack's items once unfolded. */
  private entry(result: Result, rank: number, expanded: boolean): HTMLLIElement {
    const li = document.createElement('li');
    li.append(this.item(result, String(rank), `${rank}. `));
    const stacked = result.stacked ?? [];
    if (stacked.length === 0) return li;
    li.classList.add('stacked');
    const toggle = document.createElement('button');
    toggle.type = 'button';
    toggle.className = 'result-stack';
    toggle.dataset.testid = 'stack-toggle';
    toggle.dataset.key = `stack:${result.id}`;
    toggle.textContent = expanded ? '−' : `+${stacked.length}`;
    toggle.setAttribute('aria-expanded', String(expanded));
    const copies = plural(stacked.length, 'near-duplicate');
    toggle.title = `${expanded ? 'Fold' : 'Show'} its ${copies}`;
    toggle.setAttribute('aria-label', `${expanded ? 'Fold' : 'Show'} the ${copies} of ${result.title || 'Untitled'}`);
    toggle.addEventListener('click', () => this.listed && this.onStack(this.listed.label, result.id, !expanded));
    li.append(toggle);
    if (expanded) {
      const copiesList = document.createElement('ol');
      copiesList.className = 'result-copies';
      copiesList.dataset.testid = 'stack';
      copiesList.setAttribute('aria-label', `Near-duplicates of ${result.title || 'Untitled'}`);
      for (const copy of stacked) {
        const item = document.createElement('li');
        item.append(this.item(copy, '', `Near-duplicate of ${rank}: `));
        copiesList.append(item);
      }
      li.append(copiesList);
    }
    return li;
  }

  private item(result: Result | Hit, rank: string, spoken: string): HTMLButtonElement {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'result';
    button.dataset.id = String(result.id);
    button.dataset.key = `work:${result.id}`;
    button.dataset.testid = 'result';
    const image = document.createElement('img');
    image.alt = '';
    image.loading = 'lazy';
    image.decoding = 'async';
    const picture = result.thumbnail_url || result.image_url;
    if (picture) image.src = picture;
    const text = document.createElement('span');
    text.className = 'result-text';
    const title = document.createElement('span');
    title.className = 'result-title';
    title.textContent = result.title || 'Untitled';
    const meta = document.createElement('span');
    meta.className = 'result-meta';
    meta.textContent = [result.maker, result.date, museumName(result)].filter(Boolean).join(' · ');
    text.append(title, meta);
    const badge = document.createElement('span');
    badge.className = 'result-rank';
    badge.textContent = rank;
    button.append(badge, image, text);
    const described = meta.textContent ? `, ${meta.textContent}` : '';
    button.setAttribute('aria-label', `${spoken}${title.textContent}${described}`);
    button.addEventListener('click', () => this.onOpen(result));
    for (const type of ['pointerenter', 'focus'] as const) button.addEventListener(type, () => this.onHover(result.id));
    for (const type of ['pointerleave', 'blur'] as const) button.addEventListener(type, () => this.onHover(null));
    this.items.set(result.id, button);
    return button;
  }

  /** Arrow keys, Home and End move the focus along the list's works, near-duplicates unfolded among them. */
  private move(e: KeyboardEvent): void {
    const buttons = [...this.list.querySelectorAll<HTMLButtonElement>('button.result')];
    const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (at < 0) return;
    const steps: Record<string, number> = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: buttons.length - 1 };
    const to = steps[e.key];
    if (to === undefined) return;
    e.preventDefault();
    buttons[Math.max(0, Math.min(buttons.length - 1, to))].focus();
  }
}
