/** The searches on the map as chips, one colour each: a chip re-frames its search's works, its × removes them. */
import type { Hit, Result } from './api';
import { byId } from './panel';

/** One colour per search, in turn: its chip, its label's outline and dot. */
const PALETTE = [0xd9b26f, 0x7fb8e0, 0xe0917f, 0x9fd08a, 0xc59be0, 0x6fd0c4];

/** A search on the map: its label, its colour, its results best first, and what the list titles it. */
export interface SearchChip {
  readonly label: string;
  readonly found: string;
  readonly colour: number;
  results: Result[];
  /** How many hits the relevance cut-off left out. */
  cut: number;
  /** The results whose stacks of near-duplicates are unfolded, by id. */
  readonly expanded: Set<number>;
}

/** The near-duplicates stacked under one of a search's hits, best first (none when it heads no stack there). */
export function stackOf(chip: SearchChip | undefined, id: number): Hit[] {
  return chip?.results.find((r) => r.id === id)?.stacked ?? [];
}

export class SearchChips {
  /** A chip was chosen: frame its works and list its results. */
  onChoose: (chip: SearchChip) => void = () => {};
  /** A chip's × was pressed: take its search off the map. */
  onRemove: (chip: SearchChip) => void = () => {};

  private readonly el = byId<HTMLUListElement>('chips');
  private readonly chips = new Map<string, { chip: SearchChip; item: HTMLLIElement }>();
  private made = 0;

  /** Every search on the map, oldest first. */
  get all(): SearchChip[] {
    return [...this.chips.values()].map((entry) => entry.chip);
  }

  /** The chip of the search with this label, if it is on the map. */
  get(label: string | null): SearchChip | undefined {
    return label === null ? undefined : this.chips.get(label)?.chip;
  }

  /** The chip of a search (a new one, in the next colour, the first time its label is seen). */
  add(label: string, found: string, results: Result[], cut: number): SearchChip {
    const known = this.chips.get(label);
    if (known) {
      known.chip.results = results;
      known.chip.cut = cut;
      return known.chip;
    }
    const colour = PALETTE[this.made++ % PALETTE.length];
    const chip: SearchChip = { label, found, colour, results, cut, expanded: new Set() };
    const item = document.createElement('li');
    item.className = 'chip';
    item.style.setProperty('--chip', `#${chip.colour.toString(16).padStart(6, '0')}`);
    const choose = document.createElement('button');
    choose.type = 'button';
    choose.className = 'chip-choose';
    choose.dataset.testid = 'chip';
    choose.textContent = label;
    choose.title = `Show the works ${found}`;
    choose.addEventListener('click', () => this.onChoose(chip));
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'chip-remove';
    remove.dataset.testid = 'chip-remove';
    remove.setAttribute('aria-label', `Remove the search ${label}`);
    remove.textContent = '×';
    remove.addEventListener('click', () => this.onRemove(chip));
    item.append(choose, remove);
    this.el.append(item);
    this.chips.set(label, { chip, item });
    return chip;
  }

  remove(chip: SearchChip): void {
    this.chips.get(chip.label)?.item.remove();
    this.chips.delete(chip.label);
  }

  clear(): void {
    this.el.replaceChildren();
    this.chips.clear();
  }
}
