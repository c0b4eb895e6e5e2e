// The detail panel: opened by clicking a photo in a map. A larger thumbnail, the metadata as text
// (name, path, date, caption, tags, camera, GPS, classes with probabilities, category, the cluster in
// every layout), the similar images (k nearest neighbours written by the C++ side) and the other
// members of the photo's near-duplicate group (first: they are few), as rows of thumbnail buttons that open that photo.
// A non-modal side panel (role="dialog"): Esc or the close button closes it and focus returns to
// where it came from (the app does that). Every text from the data goes in through textContent.
import type { ParsedAtlas } from './data';
import { safeThumbUrl } from './data';
import { el } from './dom';
import { formatDate, formatGps, formatProbability, hashtags, similarOf } from './meta';
import { layoutClusterColor } from './palette';
import type { AtlasImage } from './types';

export interface DetailHost {
  /** Show image i (a similar image or a duplicate was clicked): the panel updates, the maps centre on it. */
  open(i: number): void;
  close(): void;
  /** Highlight cluster c of a layout / a category (the buttons in the panel). */
  highlightCluster(layoutId: string, c: number): void;
  highlightCategory(c: number): void;
  /** Keep only the photos carrying object label t (index into ParsedAtlas.objects.names) bright. */
  highlightObject?(t: number): void;
}

const MAX_IMAGE = 304;

export class DetailPanel {
  readonly element: HTMLElement;
  index: number | null = null;
  private readonly title: HTMLHeadingElement;
  private readonly body: HTMLElement;

  constructor(
    private readonly atlas: ParsedAtlas,
    private readonly host: DetailHost,
  ) {
    this.element = el('aside', {
      class: 'detail',
      role: 'dialog',
      'aria-modal': 'false',
      'aria-labelledby': 'detail-title',
      'data-testid': 'detail',
    });
    this.element.hidden = true;
    const head = el('div', { class: 'detail-head' });
    this.title = el('h2', { class: 'detail-title', id: 'detail-title', tabindex: -1, 'data-testid': 'detail-name' });
    const close = el('button', {
      type: 'button',
      class: 'btn detail-close',
      'data-testid': 'detail-close',
      'aria-label': 'Close the details (Esc)',
      title: 'Close (Esc)',
    }, '×');
    close.addEventListener('click', () => this.host.close());
    head.append(this.title, close);
    this.body = el('div', { class: 'detail-body' });
    this.element.append(head, this.body);
    this.element.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        this.host.close();
      }
    });
  }

  get isOpen(): boolean {
    return !this.element.hidden;
  }

  /** Fills the panel with image i and shows it (focus is the caller's business). */
  show(i: number): void {
    const a = this.atlas;
    const im = a.images[i]!;
    this.index = i;
    this.element.dataset.index = String(i);
    this.title.textContent = im.name;
    this.title.title = im.name;

    const parts: HTMLElement[] = [];
    const frame = el('div', { class: 'detail-frame' });
    const img = el('img', { class: 'detail-image', 'data-testid': 'detail-image', alt: im.name, decoding: 'async' });
    const s = im.width > 0 && im.height > 0 ? MAX_IMAGE / Math.max(im.width, im.height) : 0;
    img.width = s ? Math.max(1, Math.round(im.width * s)) : MAX_IMAGE;
    img.height = s ? Math.max(1, Math.round(im.height * s)) : Math.round(MAX_IMAGE * 0.75);
    const url = safeThumbUrl(im.thumb, document.baseURI);
    if (url) img.src = url;
    frame.append(img);
    parts.push(frame);

    if (im.caption) parts.push(el('p', { class: 'detail-caption', 'data-testid': 'detail-caption' }, im.caption));

    const dl = el('dl', { class: 'detail-meta' });
    const row = (label: string, testid: string, value: string | HTMLElement) => {
      const dd = el('dd', { 'data-testid': testid });
      if (typeof value === 'string') dd.textContent = value;
      else dd.append(value);
      dl.append(el('dt', {}, label), dd);
    };
    row('Path', 'detail-path', im.path || im.name);
    if (im.taken_at) row('Taken', 'detail-date', formatDate(im.taken_at));
    if (im.tags?.length) row('Tags', 'detail-tags', hashtags(im.tags));
    if (im.top_classes?.length) row('Classes', 'detail-classes', classList(im));
    else if (im.class) row('Class', 'detail-classes', im.class);
    if (im.category) {
      const c = a.categories?.of[i];
      if (a.categories && c !== undefined && c < a.categories.names.length) {
        const b = el('button', { type: 'button', class: 'chip', 'data-testid': 'detail-category', title: `Highlight the category ${im.category}` }, im.category);
        b.addEventListener('click', () => this.host.highlightCategory(c));
        row('Category', 'detail-category-row', b);
      } else row('Category', 'detail-category', im.category);
    }
    if (im.objects?.length) {
      // One chip per label, "person ×3 67%": a click keeps the photos with that object bright.
      const list = el('div', { class: 'detail-objects' });
      for (const [label, count, score] of im.objects) {
        const t = a.objects?.names.indexOf(label) ?? -1;
        const b = el('button', { type: 'button', class: 'chip', 'data-testid': 'detail-object', 'data-object': label,
          title: `Highlight the photos with ${label} (best score ${formatProbability(score)})` },
        count > 1 ? `${label} ×${count}` : label);
        if (t >= 0 && this.host.highlightObject) b.addEventListener('click', () => this.host.highlightObject!(t));
        else b.disabled = true;
        list.append(b);
      }
      row('Objects', 'detail-objects', list);
    }
    if (a.layouts.length) {
      const list = el('div', { class: 'detail-clusters' });
      for (const l of a.layouts) {
        const c = l.cluster[i]!;
        const b = el('button', {
          type: 'button',
          class: 'chip',
          'data-testid': 'detail-cluster',
          'data-layout': l.id,
          'data-cluster': c,
          title: `Highlight this cluster in ${l.name}`,
        });
        const sw = el('span', { class: 'swatch', 'aria-hidden': 'true' });
        sw.style.backgroundColor = layoutClusterColor(l.clusters, c);
        b.append(sw, el('span', { class: 'chip-layout' }, `${l.name}:`), el('span', {}, l.clusters[c]?.name ?? `Cluster ${c + 1}`));
        b.addEventListener('click', () => this.host.highlightCluster(l.id, c));
        list.append(b);
      }
      row(a.layouts.length === 1 ? 'Cluster' : 'Clusters', 'detail-clusters', list);
    }
    if (im.camera) row('Camera', 'detail-camera', im.camera);
    if (im.gps) row('GPS', 'detail-gps', formatGps(im.gps));
    if (im.post) row('Post', 'detail-post', im.post);
    if (im.width > 0 && im.height > 0) row('Size', 'detail-size', `${im.width} × ${im.height} px`);
    parts.push(dl);

    const dup = a.duplicates;
    if (dup) {
      const g = dup.groupOf[i]!;
      if (g >= 0) {
        const others = Array.from(dup.groups[g]!).filter((j) => j !== i);
        parts.push(this.strip('Near-duplicates', `${others.length} near-identical ${others.length === 1 ? 'copy' : 'copies'} of this photo`, 'duplicates', 'duplicate-item', others));
      }
    }
    if (a.similar) {
      const sim = similarOf(a.similar, i);
      const feat = a.similar.features ? ` (${a.similar.features} features)` : '';
      parts.push(this.strip('Similar images', `The ${sim.length} most similar photos${feat}, nearest first`, 'similar', 'similar-item', sim));
    }
    this.body.replaceChildren(...parts);
    this.body.scrollTop = 0;
    this.element.hidden = false;
  }

  hide(): void {
    this.element.hidden = true;
    this.index = null;
    delete this.element.dataset.index;
  }

  focusTitle(): void {
    this.title.focus({ preventScroll: true });
  }

  private strip(heading: string, note: string, testid: string, itemTestid: string, indices: readonly number[]): HTMLElement {
    const images = this.atlas.images;
    const sec = el('section', { class: 'detail-strip', 'aria-label': heading });
    sec.append(el('h3', {}, heading));
    if (indices.length === 0) {
      sec.append(el('p', { class: 'detail-note', 'data-testid': testid }, 'None in this atlas.'));
      return sec;
    }
    sec.append(el('p', { class: 'detail-note' }, note));
    const ul = el('ul', { class: 'thumb-row', 'data-testid': testid });
    indices.forEach((j, k) => {
      const im = images[j]!;
      const b = el('button', {
        type: 'button',
        class: 'thumb-button',
        'data-testid': itemTestid,
        'data-index': j,
        title: im.name,
        'aria-label': `${im.name} (${k + 1} of ${indices.length}): show its details`,
      });
      const t = el('img', { alt: '', loading: 'lazy', decoding: 'async', width: 64, height: 64 });
      const u = safeThumbUrl(im.thumb, document.baseURI);
      if (u) t.src = u;
      b.append(t);
      b.addEventListener('click', () => this.host.open(j));
      const li = el('li');
      li.append(b);
      ul.append(li);
    });
    sec.append(ul);
    return sec;
  }
}

function classList(im: AtlasImage): HTMLElement {
  const ol = el('ol', { class: 'detail-top' });
  for (const [name, p] of im.top_classes!) {
    const li = el('li');
    const bar = el('span', { class: 'bar', 'aria-hidden': 'true' });
    bar.style.width = `${Math.max(0, Math.min(1, p)) * 100}%`;
    li.append(el('span', { class: 'top-name' }, name), el('span', { class: 'top-p' }, formatProbability(p)), bar);
    ol.append(li);
  }
  return ol;
}
