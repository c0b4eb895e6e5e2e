// The hover tooltip: thumbnail, file name, cluster, optional date, labels (class, category, hashtags) and caption.
// One tooltip for the page, positioned next to the cursor and kept inside the window.
import { el } from './dom';
import { formatDate, tooltipLabels } from './meta';
import type { AtlasImage } from './types';

export interface TooltipContent {
  image: AtlasImage;
  thumbUrl: string | null;
  clusterName: string;
  color: string;
}

const MAX_THUMB = 200;
const OFFSET = 16;

export class Tooltip {
  readonly element: HTMLElement;
  private readonly img: HTMLImageElement;
  private readonly nameEl: HTMLElement;
  private readonly swatch: HTMLElement;
  private readonly clusterEl: HTMLElement;
  private readonly dateEl: HTMLElement;
  private readonly captionEl: HTMLElement;
  private readonly labelsEl: HTMLElement;
  private current: AtlasImage | null = null;
  private lastX = 0;
  private lastY = 0;

  constructor() {
    this.element = el('div', { class: 'tooltip', role: 'tooltip', 'data-testid': 'tooltip', 'aria-hidden': 'true' });
    this.element.hidden = true;
    this.img = el('img', { class: 'tooltip-image', 'data-testid': 'tooltip-image', alt: '', decoding: 'async' });
    this.img.addEventListener('load', () => this.place());
    this.nameEl = el('div', { class: 'tooltip-name', 'data-testid': 'tooltip-name' });
    this.swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' });
    this.clusterEl = el('span', { 'data-testid': 'tooltip-cluster' });
    const clusterRow = el('div', { class: 'tooltip-cluster' });
    clusterRow.append(this.swatch, this.clusterEl);
    this.dateEl = el('div', { class: 'tooltip-date' });
    this.captionEl = el('div', { class: 'tooltip-caption', 'data-testid': 'tooltip-caption' });
    this.labelsEl = el('div', { class: 'tooltip-labels', 'data-testid': 'tooltip-labels' });
    const frame = el('div', { class: 'tooltip-frame' });
    frame.append(this.img);
    this.element.append(frame, this.nameEl, clusterRow, this.dateEl, this.labelsEl, this.captionEl);
  }

  show(c: TooltipContent, clientX: number, clientY: number): void {
    if (this.current !== c.image) {
      this.current = c.image;
      const { width, height } = c.image;
      const s = width > 0 && height > 0 ? MAX_THUMB / Math.max(width, height) : 0;
      this.img.width = s ? Math.max(1, Math.round(width * s)) : MAX_THUMB;
      this.img.height = s ? Math.max(1, Math.round(height * s)) : Math.round(MAX_THUMB * 0.75);
      this.img.alt = c.image.name;
      if (c.thumbUrl) {
        this.img.hidden = false;
        if (this.img.src !== c.thumbUrl) this.img.src = c.thumbUrl;
      } else {
        this.img.hidden = true;
        this.img.removeAttribute('src');
      }
      this.nameEl.textContent = c.image.name;
      this.nameEl.title = c.image.path;
      this.dateEl.textContent = formatDate(c.image.taken_at);
      this.dateEl.hidden = !this.dateEl.textContent;
      this.captionEl.textContent = c.image.caption ?? '';
      this.captionEl.hidden = !c.image.caption;
      const labels = tooltipLabels(c.image);
      this.labelsEl.textContent = labels;
      this.labelsEl.hidden = !labels;
    }
    this.clusterEl.textContent = c.clusterName;
    this.swatch.style.backgroundColor = c.color;
    this.element.hidden = false;
    this.element.setAttribute('aria-hidden', 'false');
    this.lastX = clientX;
    this.lastY = clientY;
    this.place();
  }

  hide(): void {
    if (this.element.hidden) return;
    this.element.hidden = true;
    this.element.setAttribute('aria-hidden', 'true');
    this.current = null;
  }

  get visible(): boolean {
    return !this.element.hidden;
  }

  private place(): void {
    if (this.element.hidden) return;
    const w = this.element.offsetWidth, h = this.element.offsetHeight;
    const vw = window.innerWidth, vh = window.innerHeight;
    let x = this.lastX + OFFSET, y = this.lastY + OFFSET;
    if (x + w > vw - 4) x = this.lastX - OFFSET - w;
    if (y + h > vh - 4) y = this.lastY - OFFSET - h;
    x = Math.max(4, Math.min(x, vw - w - 4));
    y = Math.max(4, Math.min(y, vh - h - 4));
    this.element.style.transform = `translate(${Math.round(x)}px, ${Math.round(y)}px)`;
  }
}
