// The page: header, one panel per layout, the shared tooltip and hover state, and the
// read-only test hook window.__photoatlas.
import type { ParsedAtlas } from './data';
import { safeThumbUrl } from './data';
import { clusterColor } from './palette';
import { Panel, type PanelHost } from './panel';
import { Tooltip } from './tooltip';

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
}

declare global {
  interface Window {
    readonly __photoatlas: PhotoatlasTestApi;
  }
}

export class App implements PanelHost {
  readonly panels: Panel[] = [];
  readonly tooltip = new Tooltip();
  hoveredImage: number | null = null;
  ready = false;
  error: string | null = null;
  private atlas: ParsedAtlas | null = null;

  constructor(private readonly root: HTMLElement) {
    document.body.append(this.tooltip.element);
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
    for (const layout of atlas.layouts) {
      const colors = layout.clusters.map((_, i) => clusterColor(i));
      const p = new Panel(layout, colors, this, atlas.count);
      this.panels.push(p);
      main.append(p.root);
    }
    for (const p of this.panels) p.mount();
    const relayout = () => {
      for (const p of this.panels) p.relayout();
    };
    window.addEventListener('resize', relayout);
    watchDevicePixelRatio(relayout);
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
        color: clusterColor(c),
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
