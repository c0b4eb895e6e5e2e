// Legends: one <button aria-pressed> per entry (swatch or representative photo, name, size).
// Clicking toggles the entry's highlight; aria-pressed mirrors the state. The cluster legend sits
// under each map; the category legend (categories are per image, the same in every layout) is
// app-wide, in the filter bar.
import { el } from './dom';
import type { ObjectIndex } from './objects';
import type { CategoryInfo, LayoutData } from './types';

interface Entry {
  name: string;
  size: number;
  /** Swatch colour (omitted: no swatch). */
  color?: string;
  /** Representative photo (URL), shown instead of the swatch, framed in `color`. */
  thumb?: string | null;
  title: string;
  data: Record<string, string | number>;
}

class ToggleLegend {
  readonly element: HTMLElement;
  protected readonly buttons: HTMLButtonElement[] = [];

  constructor(attrs: Record<string, string>, entryTestid: string, entries: readonly Entry[], onToggle: (i: number) => void) {
    this.element = el('div', { class: 'legend', role: 'group', ...attrs });
    entries.forEach((e, i) => {
      const b = el('button', {
        type: 'button',
        class: 'legend-entry',
        'data-testid': entryTestid,
        'aria-pressed': 'false',
        title: e.title,
      });
      for (const [k, v] of Object.entries(e.data)) b.setAttribute(`data-${k}`, String(v));
      if (e.thumb) {
        const img = el('img', { class: 'legend-thumb', 'data-testid': 'legend-thumb', alt: '', loading: 'lazy', decoding: 'async', width: 22, height: 22 });
        if (e.color) img.style.borderColor = e.color;
        img.src = e.thumb;
        b.append(img);
      } else if (e.color) {
        const sw = el('span', { class: 'swatch', 'aria-hidden': 'true' });
        sw.style.backgroundColor = e.color;
        b.append(sw);
      }
      b.append(el('span', { class: 'legend-name' }, e.name), el('span', { class: 'legend-size' }, e.size.toLocaleString('en-US')));
      b.addEventListener('click', () => onToggle(i));
      this.buttons.push(b);
      this.element.append(b);
    });
  }

  setHighlighted(index: number | null): void {
    this.buttons.forEach((b, i) => {
      const on = i === index;
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
      b.classList.toggle('is-active', on);
      b.classList.toggle('is-dimmed', index !== null && !on);
    });
  }
}

/** Cluster legend of one layout; `medoidThumb(c)` gives the URL of cluster c's representative photo, if any. */
export class Legend extends ToggleLegend {
  constructor(
    layout: LayoutData,
    colors: readonly string[],
    onToggle: (cluster: number) => void,
    medoidThumb: (cluster: number) => string | null = () => null,
  ) {
    super(
      { 'aria-label': `Clusters of ${layout.name}`, 'data-testid': 'legend', 'data-layout': layout.id },
      'legend-entry',
      layout.clusters.map((c, i) => ({
        name: c.name,
        size: c.size,
        color: colors[i] ?? '#999',
        thumb: medoidThumb(i),
        title: `Highlight ${c.name}`,
        data: { layout: layout.id, cluster: i },
      })),
      onToggle,
    );
  }
}

/** Object-tag legend (app-wide): one entry per COCO label, most frequent first. */
export class ObjectLegend extends ToggleLegend {
  constructor(objects: ObjectIndex, onToggle: (label: number) => void) {
    super(
      { 'aria-label': 'Objects', 'data-testid': 'object-legend' },
      'object-entry',
      objects.names.map((name, i) => ({
        name,
        size: objects.members[i]!.length,
        title: `Highlight the photos with ${name}`,
        data: { object: name },
      })),
      onToggle,
    );
    this.element.classList.add('legend-inline');
  }
}

/** Category legend (app-wide): entries in CategoryInfo order (most frequent first). */
export class CategoryLegend extends ToggleLegend {
  constructor(categories: CategoryInfo, onToggle: (category: number) => void) {
    super(
      { 'aria-label': 'Categories', 'data-testid': 'category-legend' },
      'category-entry',
      categories.names.map((name, i) => ({
        name,
        size: categories.sizes[i]!,
        title: `Highlight the photos of category ${name}`,
        data: { category: name },
      })),
      onToggle,
    );
    this.element.classList.add('legend-inline');
  }
}
