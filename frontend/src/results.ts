/**
 * The results list beside the map: the latest search's works in rank order, mirroring the map (hover or focus in
 * one highlights the other). It is the keyboard and screen-reader path: Tab into it, arrow keys move, Enter opens.
 */
import type { Result } from './api';
import { byId, museumName } from './panel';

export class ResultsList {
  /** A work of the list was chosen (click or Enter). */
  onOpen: (result: Result) => void = () => {};
  /** A work of the list is pointed at or focused (null: none is). */
  onHover: (id: number | null) => void = () => {};
  /** "More results" was pressed for the listed search (by its label). */
  onMore: (label: string) => void = () => {};

  private readonly el = byId('results');
  private readonly title = byId('results-title');
  private readonly list = byId<HTMLOListElement>('results-list');
  private readonly more = byId<HTMLButtonElement>('results-more');
  private readonly items = new Map<number, HTMLButtonElement>();
  private label = '';

  constructor() {
    this.list.addEventListener('keydown', (e) => this.move(e));
    this.more.addEventListener('click', () => this.onMore(this.label));
  }

  get isShown(): boolean {
    return !this.el.hidden;
  }

  /** How far the list reaches into the screen from the left (beside the map) or the bottom (a phone's sheet). */
  covered(): { left: number; bottom: number } {
    if (!this.isShown) return { left: 0, bottom: 0 };
    const rect = this.el.getBoundingClientRect();
    const sheet = rect.width > window.innerWidth / 2;
    return sheet ? { left: 0, bottom: window.innerHeight - rect.top } : { left: rect.right, bottom: 0 };
  }

  /** Lists one search's results, best first, under what was searched for, offering `more` of them or not. */
  show(label: string, found: string, results: readonly Result[], more: boolean): void {
    // The same search with more results keeps the focus and the scroll where they were.
    const focused = this.label === label ? (document.activeElement as HTMLElement | null)?.dataset.id : undefined;
    this.label = label;
    this.title.textContent = `${results.length} ${results.length === 1 ? 'work' : 'works'} ${found}`;
    this.items.clear();
    this.list.replaceChildren(...results.map((result, rank) => this.item(result, rank + 1)));
    this.more.hidden = !more;
    this.el.hidden = false;
    if (focused) this.items.get(Number(focused))?.focus({ preventScroll: true });
  }

  clear(): void {
    this.label = '';
    this.list.replaceChildren();
    this.items.clear();
    this.el.hidden = true;
  }

  /** Marks the item of a work the map's pointer is on (null: none). */
  setHovered(id: number | null): void {
    for (const [itemId, button] of this.items) button.classList.toggle('hovered', itemId === id);
  }

  /** Gives the keyboard focus to a work's item, when it is listed (after its panel closes, say). */
  focus(id: number): boolean {
    const button = this.items.get(id);
    button?.focus();
    return button !== undefined;
  }

  private item(result: Result, rank: number): HTMLLIElement {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'result';
    button.dataset.id = String(result.id);
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
    badge.textContent = String(rank);
    button.append(badge, image, text);
    const described = meta.textContent ? `, ${meta.textContent}` : '';
    button.setAttribute('aria-label', `${rank}. ${title.textContent}${described}`);
    button.addEventListener('click', () => this.onOpen(result));
    for (const type of ['pointerenter', 'focus'] as const) button.addEventListener(type, () => this.onHover(result.id));
    for (const type of ['pointerleave', 'blur'] as const) button.addEventListener(type, () => this.onHover(null));
    this.items.set(result.id, button);
    li.append(button);
    return li;
  }

  /** Arrow keys, Home and End move the focus along the list. */
  private move(e: KeyboardEvent): void {
    const buttons = [...this.items.values()];
    const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (at < 0) return;
    const steps: Record<string, number> = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: buttons.length - 1 };
    const to = steps[e.key];
    if (to === undefined) return;
    e.preventDefault();
    buttons[Math.max(0, Math.min(buttons.length - 1, to))].focus();
  }
}
