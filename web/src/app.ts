// The page: header (title, counts, search), one panel per layout, the shared tooltip, hover,
// search and selection state, the thumbnail caches (sprite sheets, level-of-detail thumbnails),
// and the read-only test hook window.__photoatlas.
import { gridArrangement, interleave, parseDates, timelineArrangement } from './arrange';
import type { ParsedAtlas } from './data';
import { safeThumbUrl } from './data';
import { DetailPanel } from './detail';
import { el } from './dom';
import { CategoryLegend, ObjectLegend } from './legend';
import { combineFilters } from './meta';
import { layoutClusterColor } from './palette';
import { Panel, type Arrangement, type PanelHost } from './panel';
import type { LodEntry } from './renderer';
import { search, searchText, selectionCsv, selectionJson } from './select';
import { Tooltip } from './tooltip';
import type { LayoutData } from './types';

export interface PhotoatlasTestApi {
  /** True once data is loaded and every panel has been drawn once. */
  readonly ready: boolean;
  /** Load error message, or null. */
  readonly error: string | null;
  /** Number of images. */
  readonly count: number;
  /** Layout ids, in panel order. */
  readonly layouts: readonly string[];
  /** Viewport CSS-pixel position of image i in a layout's canvas (page == viewport: the page does not scroll). */
  screenPositionOf(layoutId: string, index: number): { x: number; y: number; inside: boolean } | null;
  /** Index (== id) of the highlighted cluster in a layout, or null. */
  highlightedCluster(layoutId: string): number | null;
  /** Image index under the pointer (outlined in every panel), or null. */
  hoveredImage(): number | null;
  /** Current view of a layout: scale (px per data unit), translation, zoom relative to the fitted view. */
  view(layoutId: string): { scale: number; tx: number; ty: number; zoom: number } | null;
  /** Arrangement shown in a panel ("raw", "cnn", "grid", "timeline"), the ones offered, and whether it is moving. */
  arrangement(layoutId: string): { current: string; available: string[]; transitioning: boolean } | null;
  /** Indices of the images matching the search (null: no search). */
  searchMatches(): number[] | null;
  /** Indices of the selected images (lasso), ascending. */
  selection(): number[];
  /** Rendering state of a panel: renderer kind, sprite cell size on screen (CSS px, 0 = points),
   *  sprite sheets on the GPU, larger thumbnails wanted / loaded in the page, frames drawn. */
  rendering(layoutId: string): { kind: string; spriteSize: number; sheets: number; lodWanted: number; lodLoaded: number; frames: number } | null;
  /** Index of the image shown in the detail panel, or null when it is closed. */
  detailImage(): number | null;
  /** Name of the highlighted category (category legend), or null. */
  highlightedCategory(): string | null;
  /** Whether "Show near-duplicates" is on. */
  duplicatesOnly(): boolean;
  /** The object label chosen in the Objects legend, or null. */
  highlightedObject(): string | null;
  /** Indices of the images the app-wide filters keep bright (search AND lasso AND category AND objects AND duplicates), or null when none is active. */
  emphasized(): number[] | null;
}

declare global {
  interface Window {
    readonly __photoatlas: PhotoatlasTestApi;
  }
}

const SELECTION_LIST_MAX = 200;

export class App implements PanelHost {
  readonly panels: Panel[] = [];
  readonly tooltip = new Tooltip();
  hoveredImage: number | null = null;
  ready = false;
  error: string | null = null;
  filterMask: Uint8Array | null = null;
  filterVersion = 0;
  private atlas: ParsedAtlas | null = null;
  private haystack: string[] | null = null;
  private matches: Uint32Array | null = null;
  private selected: Uint32Array = new Uint32Array(0);
  private searchTimer = 0;
  private spritesRequested = false;
  private category: number | null = null;
  private object: number | null = null;
  private dupOnly = false;
  private detail: DetailPanel | null = null;
  private returnFocus: HTMLElement | null = null;
  private categoryLegend: CategoryLegend | null = null;
  private objectLegend: ObjectLegend | null = null;
  private readonly filterBar: HTMLElement;
  private readonly workspace: HTMLElement;
  private readonly lod = new Map<number, { img: HTMLImageElement; entry: LodEntry | null }>();
  private readonly lodByPanel = new Map<Panel, readonly number[]>();
  private readonly searchInput: HTMLInputElement;
  private readonly searchCount: HTMLElement;
  private readonly selectionBox: HTMLElement;
  private readonly selectionCount: HTMLElement;
  private readonly selectionList: HTMLOListElement;

  constructor(private readonly root: HTMLElement) {
    document.body.append(this.tooltip.element);
    const header = root.querySelector<HTMLElement>('.app-header')!;
    const tools = el('div', { class: 'app-tools', role: 'search' });
    this.searchInput = el('input', {
      type: 'search',
      class: 'search',
      'data-testid': 'search',
      placeholder: 'Search names, captions, classes…',
      'aria-label': 'Search file names, captions, classes and categories',
      autocomplete: 'off',
      spellcheck: 'false',
      disabled: true,
    });
    this.searchCount = el('span', { class: 'search-count', 'data-testid': 'search-count', 'aria-live': 'polite' });
    this.searchInput.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = window.setTimeout(() => this.runSearch(), 120);
    });
    this.searchInput.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        clearTimeout(this.searchTimer);
        this.runSearch();
      } else if (e.key === 'Escape') {
        this.searchInput.value = '';
        this.runSearch();
      }
    });
    tools.append(this.searchInput, this.searchCount);
    header.append(tools);

    this.selectionBox = el('aside', { class: 'selection', 'data-testid': 'selection', 'aria-label': 'Selected photos' });
    this.selectionBox.hidden = true;
    const head = el('div', { class: 'selection-head' });
    this.selectionCount = el('h2', { class: 'selection-count', 'data-testid': 'selection-count' });
    const csv = el('button', { type: 'button', class: 'btn', 'data-testid': 'export-csv' }, 'Export CSV');
    const json = el('button', { type: 'button', class: 'btn', 'data-testid': 'export-json' }, 'Export JSON');
    const clear = el('button', { type: 'button', class: 'btn', 'data-testid': 'clear-selection' }, 'Clear');
    csv.addEventListener('click', () => this.exportSelection('csv'));
    json.addEventListener('click', () => this.exportSelection('json'));
    clear.addEventListener('click', () => this.setSelection(new Uint32Array(0)));
    head.append(this.selectionCount, csv, json, clear);
    this.selectionList = el('ol', { class: 'selection-list', 'data-testid': 'selection-list' });
    this.selectionBox.append(head, this.selectionList);
    root.append(this.selectionBox);

    // app-wide filters (category legend, near-duplicates) between the header and the maps; the maps
    // and the detail panel side by side below
    this.filterBar = el('div', { class: 'filter-bar', 'data-testid': 'filter-bar' });
    this.filterBar.hidden = true;
    this.workspace = el('div', { class: 'workspace' });
    const panels = root.querySelector<HTMLElement>('.panels')!;
    panels.replaceWith(this.workspace);
    this.workspace.append(panels);
    this.workspace.before(this.filterBar);
    document.addEventListener('keydown', (e) => {
      // Esc closes the detail panel from anywhere but the search box (Esc clears that) and the maps (they ask first)
      if (e.key !== 'Escape' || e.defaultPrevented || !this.detail?.isOpen) return;
      if (e.target === this.searchInput) return;
      e.preventDefault();
      this.closeDetail();
    });
  }

  panel(layoutId: string): Panel | undefined {
    return this.panels.find((p) => p.layout.id === layoutId);
  }

  show(atlas: ParsedAtlas): void {
    this.atlas = atlas;
    document.title = atlas.title ? `${atlas.title} · photoatlas` : 'photoatlas';
    const title = this.root.querySelector<HTMLElement>('.app-title');
    const counts = this.root.querySelector<HTMLElement>('.app-counts');
    if (title) title.textContent = atlas.title || 'photoatlas';
    if (counts) counts.textContent = summary(atlas);

    const main = this.root.querySelector<HTMLElement>('.panels')!;
    main.replaceChildren();
    main.dataset.count = String(atlas.layouts.length);
    if (atlas.layouts.length === 0) {
      main.append(message('This atlas has no layouts to show.'));
    }
    const ids = new Set(atlas.layouts.map((l) => l.id));
    const freeId = (id: string) => {
      let v = id;
      while (ids.has(v)) v = `${v}-view`;
      return v;
    };
    const gridId = freeId('grid'), timelineId = freeId('timeline');
    let times: Float64Array | null = null;
    for (const layout of atlas.layouts) {
      const colors = layout.clusters.map((_, i) => layoutClusterColor(layout.clusters, i));
      const arrangements: Arrangement[] = atlas.layouts.map((l) => ({ id: l.id, label: l.name, compute: () => ({ xy: interleave(l.x, l.y) }) }));
      arrangements.push({ id: gridId, label: 'Grid', compute: () => gridArrangement(interleave(layout.x, layout.y)) });
      if (atlas.hasDates) {
        arrangements.push({
          id: timelineId,
          label: 'Timeline',
          compute: () => timelineArrangement((times ??= parseDates(atlas.images.map((im) => im.taken_at)))),
        });
      }
      const p = new Panel(layout, colors, this, atlas.count, arrangements, atlas.sprites);
      this.panels.push(p);
      main.append(p.root);
    }
    this.buildFilterBar(atlas);
    this.detail = new DetailPanel(atlas, {
      open: (i) => this.showDetail(i, true),
      close: () => this.closeDetail(),
      highlightCluster: (layoutId, c) => this.panel(layoutId)?.setHighlightedCluster(c),
      highlightCategory: (c) => this.setCategory(c),
      highlightObject: (t) => this.setObject(t),
    });
    this.workspace.append(this.detail.element);
    for (const p of this.panels) p.mount();
    const relayout = () => {
      for (const p of this.panels) p.relayout();
    };
    window.addEventListener('resize', relayout);
    watchDevicePixelRatio(relayout);
    this.searchInput.disabled = false;
    performance.mark('photoatlas:first-draw'); // bench/viewer reads it: time to first paint
    this.ready = true;
    document.body.dataset.ready = 'true';
  }

  fail(msg: string): void {
    this.error = msg;
    const counts = this.root.querySelector<HTMLElement>('.app-counts');
    if (counts) counts.textContent = 'Could not load the atlas';
    const main = this.root.querySelector<HTMLElement>('.panels')!;
    main.replaceChildren(message(msg, true));
    document.body.dataset.error = 'true';
  }

  private redrawAll(): void {
    for (const p of this.panels) p.requestDraw();
  }

  // --- search and selection -------------------------------------------------------------
  private runSearch(): void {
    if (!this.atlas) return;
    const q = this.searchInput.value.trim();
    if (q && !this.haystack) this.haystack = this.atlas.images.map(searchText);
    this.matches = q ? search(this.haystack!, q) : null;
    this.searchCount.textContent = this.matches
      ? `${this.matches.length.toLocaleString('en-US')} ${this.matches.length === 1 ? 'match' : 'matches'}`
      : '';
    this.updateFilter();
  }

  private updateFilter(): void {
    const a = this.atlas;
    this.filterMask = combineFilters(
      {
        count: a?.count ?? 0,
        matches: this.matches,
        selected: this.selected,
        category: this.category,
        categoryOf: a?.categories?.of ?? null,
        duplicatesOnly: this.dupOnly,
        groupOf: a?.duplicates?.groupOf ?? null,
        objectMembers: this.object === null ? null : (a?.objects?.members[this.object] ?? null),
      },
      this.filterMask, // reused: the panels re-read it when filterVersion changes
    );
    this.filterVersion++;
    this.redrawAll();
  }

  // --- category legend, near-duplicates, detail panel --------------------------------------
  private buildFilterBar(atlas: ParsedAtlas): void {
    const items: HTMLElement[] = [];
    if (atlas.categories) {
      const group = el('div', { class: 'filter-group' });
      // Categories from object tags are a first approximation (a cup stands for Coffee): say so.
      const label = atlas.categoriesApproximate ? 'Categories (approximate, from object tags)' : 'Categories';
      group.append(el('span', { class: 'filter-label', 'data-testid': 'category-legend-label', 'aria-hidden': 'true' }, label));
      this.categoryLegend = new CategoryLegend(atlas.categories, (c) => this.setCategory(this.category === c ? null : c));
      group.append(this.categoryLegend.element);
      items.push(group);
    }
    if (atlas.objects) {
      const group = el('div', { class: 'filter-group' });
      group.append(el('span', { class: 'filter-label', 'aria-hidden': 'true' }, 'Objects'));
      this.objectLegend = new ObjectLegend(atlas.objects, (t) => this.setObject(this.object === t ? null : t));
      group.append(this.objectLegend.element);
      items.push(group);
    }
    if (atlas.duplicates) {
      const d = atlas.duplicates;
      const b = el('button', {
        type: 'button',
        class: 'btn dup-toggle',
        'data-testid': 'duplicates-toggle',
        'aria-pressed': 'false',
        title: `Keep only the ${d.members.toLocaleString('en-US')} photos that have near-identical copies bright`,
      }, `Show near-duplicates (${d.groups.length.toLocaleString('en-US')} ${d.groups.length === 1 ? 'group' : 'groups'})`);
      b.addEventListener('click', () => {
        this.dupOnly = !this.dupOnly;
        b.setAttribute('aria-pressed', this.dupOnly ? 'true' : 'false');
        this.updateFilter();
      });
      items.push(b);
    }
    this.filterBar.replaceChildren(...items);
    this.filterBar.hidden = items.length === 0;
  }

  setCategory(c: number | null): void {
    const n = this.atlas?.categories?.names.length ?? 0;
    this.category = c !== null && c >= 0 && c < n ? c : null;
    this.categoryLegend?.setHighlighted(this.category);
    this.updateFilter();
  }

  setObject(t: number | null): void {
    const n = this.atlas?.objects?.names.length ?? 0;
    this.object = t !== null && t >= 0 && t < n ? t : null;
    this.objectLegend?.setHighlighted(this.object);
    this.updateFilter();
  }

  medoidThumb(layout: LayoutData, c: number): string | null {
    const m = layout.clusters[c]?.medoid;
    const im = m === undefined ? undefined : this.atlas?.images[m];
    return im ? safeThumbUrl(im.thumb, document.baseURI) : null;
  }

  openDetail(_panel: Panel, index: number): void {
    this.showDetail(index, false);
  }

  /** Shows image i in the detail panel; `centre`: glide every map to it (chosen from the panel's lists). */
  private showDetail(i: number, centre: boolean): void {
    if (!this.detail || !this.atlas || i < 0 || i >= this.atlas.count) return;
    if (!this.detail.isOpen) {
      const active = document.activeElement;
      this.returnFocus = active instanceof HTMLElement && active !== document.body ? active : null;
    }
    this.detail.show(i);
    document.body.classList.add('detail-open');
    this.tooltip.hide();
    for (const p of this.panels) {
      p.setSelected(i);
      if (centre) p.centreOn(i);
    }
    this.detail.focusTitle();
  }

  closeDetail(): boolean {
    if (!this.detail?.isOpen) return false;
    this.detail.hide();
    document.body.classList.remove('detail-open');
    for (const p of this.panels) p.setSelected(null);
    const back = this.returnFocus && this.returnFocus.isConnected ? this.returnFocus : this.panels[0]?.canvas;
    this.returnFocus = null;
    back?.focus({ preventScroll: true });
    return true;
  }

  select(_panel: Panel, indices: Uint32Array): void {
    this.setSelection(indices);
  }

  setSelection(indices: Uint32Array): void {
    this.selected = Uint32Array.from(indices).sort();
    const n = this.selected.length;
    this.selectionBox.hidden = n === 0;
    this.selectionCount.textContent = `${n.toLocaleString('en-US')} selected`;
    const items: HTMLElement[] = [];
    const images = this.atlas?.images ?? [];
    for (let k = 0; k < Math.min(n, SELECTION_LIST_MAX); k++) {
      const im = images[this.selected[k]!]!;
      items.push(el('li', { title: im.path }, im.name));
    }
    if (n > SELECTION_LIST_MAX) items.push(el('li', { class: 'more' }, `… and ${(n - SELECTION_LIST_MAX).toLocaleString('en-US')} more (in the export)`));
    this.selectionList.replaceChildren(...items);
    this.updateFilter();
  }

  private exportSelection(kind: 'csv' | 'json'): void {
    if (!this.atlas) return;
    const text = kind === 'csv' ? selectionCsv(this.atlas.images, this.selected) : selectionJson(this.atlas.images, this.selected);
    const blob = new Blob([text], { type: kind === 'csv' ? 'text/csv' : 'application/json' });
    const a = el('a', { download: `photoatlas-selection.${kind}`, hidden: true });
    a.href = URL.createObjectURL(blob);
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }

  // --- thumbnails in the map ------------------------------------------------------------
  needSprites(): void {
    const sprites = this.atlas?.sprites;
    if (this.spritesRequested || !sprites) return;
    this.spritesRequested = true;
    sprites.sheets.forEach((sheet, k) => {
      const url = safeThumbUrl(sheet.url, document.baseURI);
      if (!url) return;
      const img = new Image();
      img.decoding = 'async';
      img.src = url;
      img.decode().then(
        () => {
          for (const p of this.panels) p.renderer.addSpriteSheet?.(k, img);
          this.redrawAll();
        },
        () => console.warn(`photoatlas: could not load ${sheet.url}`),
      );
    });
  }

  lodImage(i: number): LodEntry | null {
    return this.lod.get(i)?.entry ?? null;
  }

  lodWanted(panel: Panel, indices: readonly number[]): void {
    this.lodByPanel.set(panel, indices);
    const want = new Set<number>();
    for (const list of this.lodByPanel.values()) for (const i of list) want.add(i);
    for (const [i, e] of this.lod) {
      if (!want.has(i)) {
        e.img.onload = e.img.onerror = null;
        e.img.removeAttribute('src'); // the page drops the decoded image; the GPU slot is freed by the renderer
        this.lod.delete(i);
      }
    }
    for (const i of want) {
      if (this.lod.has(i) || !this.atlas) continue;
      const url = safeThumbUrl(this.atlas.images[i]!.thumb, document.baseURI);
      if (!url) continue;
      const img = new Image();
      const rec: { img: HTMLImageElement; entry: LodEntry | null } = { img, entry: null };
      img.decoding = 'async';
      img.onload = () => {
        rec.entry = { index: i, image: img, width: img.naturalWidth, height: img.naturalHeight };
        this.redrawAll();
      };
      img.onerror = () => (img.onload = img.onerror = null);
      img.src = url;
      this.lod.set(i, rec);
    }
  }

  // PanelHost
  hover(panel: Panel, index: number | null, clientX: number, clientY: number): void {
    if (index !== this.hoveredImage) {
      this.hoveredImage = index;
      for (const p of this.panels) p.setHovered(index);
    }
    if (index === null || !this.atlas) {
      this.tooltip.hide();
      return;
    }
    const image = this.atlas.images[index]!;
    const c = panel.layout.cluster[index]!;
    this.tooltip.show(
      {
        image,
        thumbUrl: safeThumbUrl(image.thumb, document.baseURI),
        clusterName: panel.layout.clusters[c]?.name ?? `Cluster ${c + 1}`,
        color: layoutClusterColor(panel.layout.clusters, c),
      },
      clientX,
      clientY,
    );
  }

  testApi(): PhotoatlasTestApi {
    const app = this;
    return Object.freeze({
      get ready() {
        return app.ready;
      },
      get error() {
        return app.error;
      },
      get count() {
        return app.atlas?.count ?? 0;
      },
      get layouts() {
        return Object.freeze(app.panels.map((p) => p.layout.id));
      },
      screenPositionOf(layoutId: string, index: number) {
        const p = app.panel(layoutId);
        if (!p || !Number.isInteger(index) || index < 0 || index >= p.layout.x.length) return null;
        return p.screenPositionOf(index);
      },
      highlightedCluster(layoutId: string) {
        return app.panel(layoutId)?.highlightedCluster ?? null;
      },
      hoveredImage() {
        return app.hoveredImage;
      },
      view(layoutId: string) {
        const p = app.panel(layoutId);
        if (!p) return null;
        return { scale: p.view.scale, tx: p.view.tx, ty: p.view.ty, zoom: p.view.zoom };
      },
      arrangement(layoutId: string) {
        const p = app.panel(layoutId);
        if (!p) return null;
        return { current: p.arrangementId, available: p.arrangements.map((a) => a.id), transitioning: p.transitioning };
      },
      searchMatches() {
        return app.matches ? Array.from(app.matches) : null;
      },
      selection() {
        return Array.from(app.selected);
      },
      detailImage() {
        return app.detail?.index ?? null;
      },
      highlightedCategory() {
        return app.category === null ? null : (app.atlas?.categories?.names[app.category] ?? null);
      },
      duplicatesOnly() {
        return app.dupOnly;
      },
      highlightedObject() {
        return app.object === null ? null : (app.atlas?.objects?.names[app.object] ?? null);
      },
      emphasized() {
        const m = app.filterMask;
        if (!m) return null;
        const out: number[] = [];
        for (let i = 0; i < m.length; i++) if (m[i]) out.push(i);
        return out;
      },
      rendering(layoutId: string) {
        const p = app.panel(layoutId);
        if (!p) return null;
        let lodLoaded = 0;
        for (const e of app.lod.values()) if (e.entry) lodLoaded++;
        return {
          kind: p.renderer.kind,
          spriteSize: p.spriteSize,
          sheets: p.renderer.spriteSheetsLoaded,
          lodWanted: p.lodWantedCount,
          lodLoaded,
          frames: p.frames,
        };
      },
    });
  }
}

/** Calls `onChange` whenever devicePixelRatio changes (browser zoom, moving to another screen). */
function watchDevicePixelRatio(onChange: () => void): void {
  const arm = () => {
    const mq = window.matchMedia(`(resolution: ${window.devicePixelRatio}dppx)`);
    mq.addEventListener(
      'change',
      () => {
        onChange();
        arm();
      },
      { once: true },
    );
  };
  arm();
}

function summary(a: ParsedAtlas): string {
  const parts = [`${a.count.toLocaleString('en-US')} ${a.count === 1 ? 'image' : 'images'}`];
  parts.push(`${a.layouts.length} ${a.layouts.length === 1 ? 'layout' : 'layouts'}`);
  if (a.created) {
    const d = new Date(a.created);
    if (!Number.isNaN(d.getTime())) parts.push(`created ${d.toISOString().slice(0, 10)}`);
  }
  return parts.join(' · ');
}

function message(text: string, isError = false): HTMLElement {
  const m = document.createElement('div');
  m.className = isError ? 'message message-error' : 'message';
  m.setAttribute('role', isError ? 'alert' : 'status');
  m.dataset.testid = isError ? 'load-error' : 'message';
  m.textContent = text;
  return m;
}
