// One map panel: canvas + view transform + spatial index + renderer + legend, and the
// pointer/keyboard interaction on the canvas. It reports hover to the app, which owns the
// shared hover state (so the same image is outlined in every panel).
import { el } from './dom';
import { SpatialGrid } from './grid';
import { Legend } from './legend';
import { Canvas2DRenderer, pointRadius, type Renderer } from './renderer';
import type { LayoutData } from './types';
import { ViewTransform, dataBounds, fitView, wheelZoomFactor, type Bounds } from './view';

export interface PanelHost {
  /** The pointer is over image `index` of this panel (null: over no point / left the panel). */
  hover(panel: Panel, index: number | null, clientX: number, clientY: number): void;
  /** The panel's cluster highlight changed. */
  highlightChanged?(panel: Panel): void;
}

const MARGIN = 28;
const PICK_SLOP = 4; // px beyond the point radius that still counts as over the point
const DRAG_THRESHOLD = 3;

export class Panel {
  readonly root: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  readonly plot: HTMLElement;
  readonly view = new ViewTransform();
  readonly grid: SpatialGrid;
  readonly legend: Legend;
  highlightedCluster: number | null = null;
  hovered: number | null = null;

  private readonly renderer: Renderer;
  private readonly bounds: Bounds;
  private width = 0;
  private height = 0;
  private dprSeen = 0;
  private fitted = true;
  private frame = 0;
  private drag: { id: number; x: number; y: number; moved: boolean } | null = null;
  private lastPointer: { x: number; y: number } | null = null;
  private readonly resizeObserver: ResizeObserver;

  constructor(
    readonly layout: LayoutData,
    private readonly colors: readonly string[],
    private readonly host: PanelHost,
    imageCount: number,
  ) {
    this.root = el('section', { class: 'panel', 'data-layout': layout.id, 'aria-label': `${layout.name} map` });
    const head = el('div', { class: 'panel-head' });
    const titles = el('div', { class: 'panel-titles' });
    titles.append(
      el('h2', { class: 'panel-title' }, layout.name),
      el('span', { class: 'panel-sub' }, `${layout.features ? layout.features + ' · ' : ''}${layout.clusters.length} clusters`),
    );
    const reset = el('button', { type: 'button', class: 'btn', 'data-testid': 'reset-view', 'data-layout': layout.id }, 'Reset view');
    reset.addEventListener('click', () => this.resetView());
    head.append(titles, reset);

    this.plot = el('div', { class: 'plot' });
    this.canvas = el('canvas', {
      class: 'map',
      'data-testid': 'map-canvas',
      'data-layout': layout.id,
      tabindex: 0,
      role: 'img',
      'aria-label': `${layout.name}: ${imageCount} photos; drag to pan, wheel or +/- to zoom, 0 to reset`,
    });
    const hint = el('div', { class: 'plot-hint', 'aria-hidden': 'true' }, 'Scroll to zoom · drag to pan · double-click to zoom in');
    this.plot.append(this.canvas, hint);
    if (layout.x.length === 0) this.plot.append(el('div', { class: 'plot-empty', 'data-testid': 'empty' }, 'No images in this atlas'));

    this.legend = new Legend(layout, colors, (c) => this.toggleCluster(c));
    this.legend.element.hidden = layout.clusters.length === 0;
    this.root.append(head, this.plot, this.legend.element);

    this.renderer = new Canvas2DRenderer(this.canvas);
    this.bounds = dataBounds(layout.x, layout.y);
    this.grid = new SpatialGrid(layout.x, layout.y);

    this.bindEvents();
    this.resizeObserver = new ResizeObserver(() => this.relayout());
  }

  /** Call once the panel is in the document: sizes the canvas, fits the view and draws. */
  mount(): void {
    this.relayout();
    this.resizeObserver.observe(this.plot);
  }

  get pointRadius(): number {
    return pointRadius(this.layout.x.length, this.view.zoom);
  }

  resetView(): void {
    const fit = fitView(this.bounds, this.width, this.height, MARGIN);
    this.view.fitScale = fit.scale;
    this.view.set(fit);
    this.fitted = true;
    this.requestDraw();
  }

  setHighlightedCluster(c: number | null): void {
    this.highlightedCluster = c;
    this.legend.setHighlighted(c);
    this.requestDraw();
    this.host.highlightChanged?.(this);
  }

  toggleCluster(c: number): void {
    this.setHighlightedCluster(this.highlightedCluster === c ? null : c);
  }

  setHovered(i: number | null): void {
    if (this.hovered === i) return;
    this.hovered = i;
    this.requestDraw();
  }

  /** Viewport (client) CSS-pixel position of image i, and whether it is inside the canvas. */
  screenPositionOf(i: number): { x: number; y: number; inside: boolean } {
    const r = this.canvas.getBoundingClientRect();
    const lx = this.view.toScreenX(this.layout.x[i]!);
    const ly = this.view.toScreenY(this.layout.y[i]!);
    return { x: r.left + lx, y: r.top + ly, inside: lx >= 0 && ly >= 0 && lx <= r.width && ly <= r.height };
  }

  /** Image index under the panel-local point (px, py), or -1. */
  pickLocal(px: number, py: number): number {
    const radiusPx = this.pointRadius + PICK_SLOP;
    return this.grid.nearest(this.view.toDataX(px), this.view.toDataY(py), radiusPx / this.view.scale);
  }

  requestDraw(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.drawNow();
    });
  }

  drawNow(): void {
    if (this.frame) {
      cancelAnimationFrame(this.frame);
      this.frame = 0;
    }
    this.renderer.draw({
      layout: this.layout,
      view: this.view,
      colors: this.colors,
      radius: this.pointRadius,
      highlightedCluster: this.highlightedCluster,
      hovered: this.hovered,
    });
  }

  /** Re-measures the panel (window resize, devicePixelRatio change) and redraws if it changed. */
  relayout(): void {
    const rect = this.plot.getBoundingClientRect();
    const w = Math.max(1, Math.floor(rect.width));
    const h = Math.max(1, Math.floor(rect.height));
    const dpr = window.devicePixelRatio || 1;
    if (w === this.width && h === this.height && this.dprSeen === dpr) return;
    const fit = fitView(this.bounds, w, h, MARGIN);
    if (this.fitted || this.width === 0) {
      this.view.fitScale = fit.scale;
      this.view.set(fit);
    } else {
      this.view.resize(this.width, this.height, fit, w, h);
    }
    this.width = w;
    this.height = h;
    this.dprSeen = dpr;
    this.renderer.resize(w, h, dpr);
    this.drawNow();
  }

  private local(e: { clientX: number; clientY: number }): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  private hoverAt(clientX: number, clientY: number): void {
    const p = this.local({ clientX, clientY });
    const i = this.pickLocal(p.x, p.y);
    this.canvas.classList.toggle('over-point', i >= 0);
    this.host.hover(this, i >= 0 ? i : null, clientX, clientY);
  }

  private changedView(): void {
    this.fitted = false;
    this.requestDraw();
  }

  private bindEvents(): void {
    const c = this.canvas;
    c.addEventListener(
      'wheel',
      (e) => {
        e.preventDefault();
        const p = this.local(e);
        this.view.zoomAt(p.x, p.y, wheelZoomFactor(e.deltaY, e.deltaMode));
        this.changedView();
        this.hoverAt(e.clientX, e.clientY);
      },
      { passive: false },
    );
    c.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      this.drag = { id: e.pointerId, x: e.clientX, y: e.clientY, moved: false };
      c.setPointerCapture(e.pointerId);
    });
    c.addEventListener('pointermove', (e) => {
      this.lastPointer = { x: e.clientX, y: e.clientY };
      const d = this.drag;
      if (d && d.id === e.pointerId) {
        const dx = e.clientX - d.x, dy = e.clientY - d.y;
        if (!d.moved && Math.hypot(dx, dy) < DRAG_THRESHOLD) return;
        if (!d.moved) {
          d.moved = true;
          c.classList.add('dragging');
          this.host.hover(this, null, e.clientX, e.clientY);
        }
        this.view.panBy(dx, dy);
        d.x = e.clientX;
        d.y = e.clientY;
        this.changedView();
        return;
      }
      this.hoverAt(e.clientX, e.clientY);
    });
    const endDrag = (e: PointerEvent) => {
      if (!this.drag || this.drag.id !== e.pointerId) return;
      this.drag = null;
      c.classList.remove('dragging');
      if (c.hasPointerCapture(e.pointerId)) c.releasePointerCapture(e.pointerId);
      if (e.type === 'pointerup') this.hoverAt(e.clientX, e.clientY);
    };
    c.addEventListener('pointerup', endDrag);
    c.addEventListener('pointercancel', endDrag);
    c.addEventListener('pointerleave', (e) => {
      if (this.drag) return;
      this.lastPointer = null;
      c.classList.remove('over-point');
      this.host.hover(this, null, e.clientX, e.clientY);
    });
    c.addEventListener('dblclick', (e) => {
      const p = this.local(e);
      this.view.zoomAt(p.x, p.y, 2);
      this.changedView();
    });
    c.addEventListener('keydown', (e) => {
      const step = 40;
      const cx = this.width / 2, cy = this.height / 2;
      switch (e.key) {
        case '+':
        case '=':
          this.view.zoomAt(cx, cy, 1.25);
          break;
        case '-':
        case '_':
          this.view.zoomAt(cx, cy, 0.8);
          break;
        case 'ArrowLeft':
          this.view.panBy(step, 0);
          break;
        case 'ArrowRight':
          this.view.panBy(-step, 0);
          break;
        case 'ArrowUp':
          this.view.panBy(0, step);
          break;
        case 'ArrowDown':
          this.view.panBy(0, -step);
          break;
        case '0':
          this.resetView();
          e.preventDefault();
          return;
        case 'Escape':
          this.setHighlightedCluster(null);
          return;
        default:
          return;
      }
      e.preventDefault();
      this.changedView();
      if (this.lastPointer) this.hoverAt(this.lastPointer.x, this.lastPointer.y);
    });
  }
}
