import { getArtwork, isAbort, type Artwork, type Result } from './api';
import { plural } from './util';

const MUSEUMS: Record<string, string> = {
  aic: 'Art Institute of Chicago',
  rijksmuseum: 'Rijksmuseum',
  met: 'The Metropolitan Museum of Art',
  cleveland: 'Cleveland Museum of Art',
  folder: 'Local collection',
};

/** Who holds the work: the museum its record names, else the one its source is (a folder's own collection). */
export function museumName(r: Pick<Result, 'source' | 'institution'>): string {
  return r.institution || (MUSEUMS[r.source] ?? r.source);
}

/** Extra metadata shown when the full record arrives, in this order, with these labels. */
const DETAILS = [
  ['object_type', 'Type'],
  ['license', 'Licence'],
] as const satisfies ReadonlyArray<readonly [keyof Artwork, string]>;

/** The museum's own number for the work, else its id at a museum source (a folder work's id is a file path). */
function objectNumber(art: Artwork): readonly [string, string | null] {
  if (art.object_number) return ['Object number', art.object_number];
  return ['Museum number', art.source === 'folder' ? null : art.source_id];
}

/** Past this many device pixels across the panel, the museum's largest image is worth its weight (a phone's 3x
 * screen, a wide window at 2x); below it, its regular image (often ~850 px) is sharp enough. */
const FULL_IMAGE_FROM_PX = 1000;

/** The side panel with one artwork's image and metadata. */
export class Panel {
  /** "More like this" was asked for, with what should differ ("at night", "-people"; '' for nothing). */
  onMoreLikeThis: (result: Result, but: string) => void = () => {};
  /** The open work's stack of near-duplicates is to be unfolded (true) or folded (false). */
  onStack: (expand: boolean) => void = () => {};
  onClose: () => void = () => {};

  private current: Result | null = null;
  /** How sharp the image shown is: 0 the thumbnail, 1 the regular image, 2 the largest. */
  private sharpness = 0;
  private detailsRequest: AbortController | null = null;
  private returnFocus: HTMLElement | null = null;
  private readonly el = byId('panel');
  private readonly image = byId<HTMLImageElement>('panel-image');
  private readonly museum = byId('panel-museum');
  private readonly title = byId('panel-title');
  private readonly maker = byId('panel-maker');
  private readonly date = byId('panel-date');
  private readonly description = byId('panel-description');
  private readonly details = byId<HTMLDListElement>('panel-details');
  private readonly link = byId<HTMLAnchorElement>('panel-link');
  private readonly but = byId<HTMLInputElement>('panel-but');
  private readonly stack = byId<HTMLButtonElement>('panel-stack');

  constructor() {
    byId('panel-close').addEventListener('click', () => this.close());
    byId<HTMLFormElement>('panel-more-form').addEventListener('submit', (e) => {
      e.preventDefault();
      if (this.current) this.onMoreLikeThis(this.current, this.but.value.trim());
    });
    this.stack.addEventListener('click', () => this.onStack(this.stack.getAttribute('aria-expanded') !== 'true'));
  }

  get isOpen(): boolean {
    return this.el.classList.contains('open');
  }

  /** Width the panel covers on screen when open (0 when it overlays the whole screen). */
  get coveredWidth(): number {
    const w = this.el.getBoundingClientRect().width;
    return w >= window.innerWidth ? 0 : w;
  }

  open(result: Result): void {
    if (!this.isOpen && document.activeElement instanceof HTMLElement) this.returnFocus = document.activeElement;
    if (this.current?.id !== result.id) this.but.value = '';
    this.current = result;
    this.render(result);
    this.showStack(0, false);
    this.el.classList.add('open');
    this.el.removeAttribute('inert');
    this.el.setAttribute('aria-hidden', 'false');
    this.title.focus({ preventScroll: true });
    this.loadDetails(result.id);
  }

  /** Offers to unfold (or fold) the open work's stack of `count` near-duplicates in the listed search; 0: none. */
  showStack(count: number, expanded: boolean): void {
    this.stack.hidden = count === 0;
    const copies = plural(count, 'near-duplicate');
    this.stack.textContent = expanded ? `Fold its ${copies}` : `Show its ${copies}`;
    this.stack.setAttribute('aria-expanded', String(expanded));
  }

  close(): void {
    if (!this.isOpen) return;
    this.detailsRequest?.abort();
    this.current = null;
    this.el.classList.remove('open');
    this.el.setAttribute('inert', '');
    this.el.setAttribute('aria-hidden', 'true');
    const back = this.returnFocus;
    this.returnFocus = null;
    if (back && document.contains(back)) back.focus({ preventScroll: true });
    this.onClose();
  }

  private render(r: Result | Artwork): void {
    this.museum.textContent = museumName(r);
    this.title.textContent = r.title || 'Untitled';
    setText(this.maker, r.maker);
    setText(this.date, r.date);
    setText(this.description, null);
    this.details.replaceChildren();
    this.link.hidden = !r.page_url;
    if (r.page_url) this.link.href = r.page_url;
    this.link.textContent = `View at the ${museumName(r)}`;
    this.showImage(r);
  }

  /** Shows the thumbnail at once and swaps in the full image once it has loaded. */
  private showImage(r: Result | Artwork): void {
    const small = r.thumbnail_url || r.image_url;
    const large = r.image_url;
    this.image.alt = r.title ? `${r.title}${r.maker ? `, ${r.maker}` : ''}` : 'Artwork';
    this.image.hidden = !small;
    if (!small) return;
    this.image.src = small;
    this.sharpness = 0;
    if (large && large !== small) this.swapWhenLoaded(r.id, large, 1);
  }

  /** Shows a sharper image of the open work once it has loaded (never a half-loaded one, nor a blurrier one). */
  private swapWhenLoaded(id: number, url: string, sharpness: number): void {
    const sharper = new Image();
    sharper.onload = () => {
      if (this.current?.id !== id || sharpness <= this.sharpness) return;
      this.sharpness = sharpness;
      this.image.src = url;
    };
    sharper.src = url;
  }

  private loadDetails(id: number): void {
    this.detailsRequest?.abort();
    const ctrl = new AbortController();
    this.detailsRequest = ctrl;
    getArtwork(id, ctrl.signal)
      .then((art) => {
        if (this.current?.id !== id) return;
        const devicePx = this.el.clientWidth * (window.devicePixelRatio || 1);
        if (art.full_image_url && devicePx > FULL_IMAGE_FROM_PX) this.swapWhenLoaded(id, art.full_image_url, 2);
        setText(this.description, art.description);
        const rows = [...DETAILS.map(([key, label]) => [label, art[key]] as const), objectNumber(art)];
        this.details.replaceChildren(...rows.flatMap(([label, value]) => (value ? detailRow(label, value) : [])));
      })
      .catch((err: unknown) => {
        // The panel already shows what the search returned; the extra details are a bonus.
        if (!isAbort(err)) console.warn('artwork details:', err);
      });
  }
}

function detailRow(label: string, value: string): HTMLElement[] {
  const dt = document.createElement('dt');
  dt.textContent = label;
  const dd = document.createElement('dd');
  dd.textContent = value;
  return [dt, dd];
}

function setText(el: HTMLElement, text: string | null | undefined): void {
  el.textContent = text ?? '';
  el.hidden = !text;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
}
