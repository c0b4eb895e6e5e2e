// One map panel: canvas + view transform + spatial index + renderer + legend + arrangement bar,
// and the pointer/keyboard interaction on the canvas (hover, pan, zoom, lasso). It reports hover
// and lasso selections to the app, which owns the shared state (hovered image, search, selection).
import { easeInOut } from './arrange';
import { el } from './dom';
import { SpatialGrid } from './grid';
import { Legend } from './legend';
import { Canvas2DRenderer, pointRadius, positionAt, type LodEntry, type Renderer, type Scene } from './renderer';
import { pointsInPolygon } from './select';
import type { LayoutData, SpriteInfo } from './types';
import { ViewTransform, centredOn, dataBounds, fitView, wheelZoomFactor, type Bounds, type ViewState } from './view';
import { LOD_SLOTS, WebGLRenderer } from './webgl';

/** A way to place the points: a t-SNE layout of the atlas, the grid, the timeline. */
export interface Arrangement {
  id: string;
  label: string;
  /** Interleaved x, y, and the side of a thumbnail cell in data units (default: from the count); computed on first use. */
  compute(): { xy: Float32Array; cell?: number };
}

export interface PanelHost {
  /** The pointer is over image `index` of this panel (null: over no point / left the panel). */
  hover(panel: Panel, index: number | null, clientX: number, clientY: number): void;
  /** The panel's cluster highlight changed. */
  highlightChanged?(panel: Panel): void;
  /** A lasso in this panel enclosed these images. */
  select(panel: Panel, indices: Uint32Array): void;
  /** Image `index` was clicked (or Enter pressed on it): show its details. */
  openDetail?(panel: Panel, index: number): void;
  /** Esc on the map: close the detail panel if it is open; true if it was. */
  closeDetail?(): boolean;
  /** Representative photo of cluster c of this layout, for the legend (null: none). */
  medoidThumb?(layout: LayoutData, c: number): string | null;
  /** App-wide emphasis (search matches AND selection) per image, or null; and its version. */
  readonly filterMask: Uint8Array | null;
  readonly filterVersion: number;
  /** Larger thumbnail of image i if loaded (starts loading it otherwise). */
  lodImage(i: number): LodEntry | null;
  /** The set of images this panel wants larger thumbnails for changed. */
  lodWanted(panel: Panel, indices: readonly number[]): void;
  /** Sprites are about to be shown: load the sheets. */
  needSprites(): void;
}

const MARGIN = 28;
const PICK_SLOP = 4; // px beyond the point radius that still counts as over the point
const DRAG_THRESHOLD = 3;
const TRANSITION_MS = 750;
const GLIDE_MS = 350;
/** Thumbnails replace points once a cell is this many CSS px on screen. */
export const SPRITE_MIN_PX = 10;
const SPRITE_MAX_PX = 240;
/** Larger thumbnails are loaded once a cell is this many device px (the sheets' 32 px look soft). */
const LOD_MIN_DEVICE_PX = 56;

interface Placed {
  xy: Float32Array;
  x: Float32Array;
  y: Float32Array;
  bounds: Bounds;
  grid: SpatialGrid | null;
  cell: number;
}

export class Panel {
  readonly root: HTMLElement;
  canvas: HTMLCanvasElement;
  readonly plot: HTMLElement;
  readonly view = new ViewTransform();
  readonly legend: Legend;
  highlightedCluster: number | null = null;
  hovered: number | null = null;
  /** Image shown in the detail panel (outlined in yellow), or null. */
  selected: number | null = null;
  arrangementId: string;
  lassoMode = false;

  readonly renderer: Renderer;
  private readonly placed = new Map<string, Placed>();
  private current: Placed;
  private from: Float32Array;
  private t = 1;
  private prevCell = 0;
  private anim: { start: number; fromView: ViewState; toView: ViewState } | null = null;
  /** A view-only animation (centring on a photo); points do not move. */
  private glide: { start: number; fromView: ViewState; toView: ViewState } | null = null;
  private width = 0;
  private height = 0;
  private dprSeen = 0;
  private fitted = true;
  private frame = 0;
  private drag: { id: number; x: number; y: number; moved: boolean; lasso: number[] | null } | null = null;
  private lastPointer: { x: number; y: number } | null = null;
  private readonly resizeObserver: ResizeObserver;
  private readonly arrangeButtons = new Map<string, HTMLButtonElement>();
  private readonly lassoButton: HTMLButtonElement;
  private readonly lassoPath: SVGPolylineElement;
  private emphasis: Uint8Array | null = null;
  private emphasisVersion = 0;
  private emphasisCount = 0;
  private emphasisKey = '';
  private lodList: number[] = [];
  readonly sprites: SpriteInfo | null;
  /** Frames drawn so far (the bench reads it through the test API). */
  frames = 0;

  constructor(
    readonly layout: LayoutData,
    private readonly colors: readonly string[],
    private readonly host: PanelHost,
    imageCount: number,
    readonly arrangements: readonly Arrangement[],
    sprites: SpriteInfo | null,
  ) {
    this.root = el('section', { class: 'panel', 'data-layout': layout.id, 'aria-label': `${layout.name} map` });
    const head = el('div', { class: 'panel-head' });
    const titles = el('div', { class: 'panel-titles' });
    titles.append(
      el('h2', { class: 'panel-title' }, layout.name),
      el('span', { class: 'panel-sub' }, `${layout.features ? layout.features + ' · ' : ''}${layout.clusters.length} clusters`),
    );
    const tools = el('div', { class: 'panel-tools' });
    const bar = el('div', { class: 'arrange', role: 'group', 'aria-label': `Arrangement of ${layout.name}` });
    for (const a of arrangements) {
      const b = el('button', {
        type: 'button',
        class: 'seg',
        'data-testid': 'arrange',
        'data-layout': layout.id,
        'data-arrangement': a.id,
        'aria-pressed': a.id === layout.id ? 'true' : 'false',
        title: `Arrange by ${a.label}`,
      }, a.label);
      b.addEventListener('click', () => this.setArrangement(a.id));
      this.arrangeButtons.set(a.id, b);
      bar.append(b);
    }
    this.lassoButton = el('button', {
      type: 'button',
      class: 'btn',
      'data-testid': 'lasso-toggle',
      'data-layout': layout.id,
      'aria-pressed': 'false',
      title: 'Lasso: drag around photos to select them (or Shift+drag; L toggles)',
    }, 'Lasso');
    this.lassoButton.addEventListener('click', () => this.setLassoMode(!this.lassoMode));
    const reset = el('button', { type: 'button', class: 'btn', 'data-testid': 'reset-view', 'data-layout': layout.id }, 'Reset view');
    reset.addEventListener('click', () => this.resetView());
    tools.append(bar, this.lassoButton, reset);
    head.append(titles, tools);

    this.plot = el('div', { class: 'plot' });
    this.canvas = el('canvas', {
      class: 'map',
      'data-testid': 'map-canvas',
      'data-layout': layout.id,
      tabindex: 0,
      role: 'img',
      'aria-label': `${layout.name}: ${imageCount} photos; click a photo or press Enter for its details, drag to pan, wheel or +/- to zoom, 0 to reset, L for lasso`,
    });
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('class', 'lasso-layer');
    svg.setAttribute('aria-hidden', 'true');
    this.lassoPath = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    svg.append(this.lassoPath);
    const hint = el('div', { class: 'plot-hint', 'aria-hidden': 'true' }, 'Scroll to zoom · drag to pan · Shift+drag to lasso');
    this.plot.append(this.canvas, svg, hint);
    if (layout.x.length === 0) this.plot.append(el('div', { class: 'plot-empty', 'data-testid': 'empty' }, 'No images in this atlas'));

    this.legend = new Legend(layout, colors, (c) => this.toggleCluster(c), (c) => host.medoidThumb?.(layout, c) ?? null);
    this.legend.element.hidden = layout.clusters.length === 0;
    this.root.append(head, this.plot, this.legend.element);

    let renderer: Renderer;
    try {
      renderer = new WebGLRenderer(this.canvas);
    } catch (e) {
      console.warn(`photoatlas: ${(e as Error).message}; drawing points with the 2D canvas instead`);
      // a canvas that has handed out a WebGL context cannot give a 2D one: use a fresh element
      const fresh = this.canvas.cloneNode(false) as HTMLCanvasElement;
      this.canvas.replaceWith(fresh);
      this.canvas = fresh;
      renderer = new Canvas2DRenderer(this.canvas);
    }
    this.renderer = renderer;
    this.sprites = sprites;
    if (sprites && renderer.setSpriteLayout) renderer.setSpriteLayout(sprites);

    this.arrangementId = arrangements.find((a) => a.id === layout.id)?.id ?? arrangements[0]?.id ?? layout.id;
    this.current = this.place(this.arrangementId);
    this.from = this.current.xy;
    this.prevCell = this.current.cell;

    this.bindEvents();
    this.resizeObserver = new ResizeObserver(() => this.relayout());
  }

  private place(id: string): Placed {
    let p = this.placed.get(id);
    if (p) return p;
    const a = this.arrangements.find((r) => r.id === id);
    const r = a ? a.compute() : { xy: new Float32Array(2 * this.layout.x.length) };
    const xy = r.xy;
    const n = xy.length / 2;
    const x = new Float32Array(n), y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = xy[2 * i]!;
      y[i] = xy[2 * i + 1]!;
    }
    p = { xy, x, y, bounds: dataBounds(x, y), grid: null, cell: r.cell ?? Math.min(1.9 / Math.sqrt(Math.max(n, 1)), 0.15) };
    this.placed.set(id, p);
    return p;
  }

  private get grid(): SpatialGrid {
    const p = this.current;
    if (!p.grid) p.grid = new SpatialGrid(p.x, p.y);
    return p.grid;
  }

  /** Call once the panel is in the document: sizes the canvas, fits the view and draws. */
  mount(): void {
    this.relayout();
    this.resizeObserver.observe(this.plot);
  }

  get pointRadius(): number {
    return pointRadius(this.layout.x.length, this.view.zoom);
  }

  /** CSS px of a sprite cell at the current zoom (0 = points only). */
  get spriteSize(): number {
    const n = this.layout.x.length;
    if (n === 0) return 0;
    const px = Math.min(SPRITE_MAX_PX, this.cellNow * this.view.scale);
    return px >= SPRITE_MIN_PX ? px : 0;
  }

  /** Thumbnail cell in data units, following a transition between arrangements. */
  private get cellNow(): number {
    return this.prevCell + (this.current.cell - this.prevCell) * this.t;
  }

  /** Fitted view of an arrangement, with room for half a thumbnail beyond the outermost points. */
  private fit(p: Placed, w: number, h: number): ViewState {
    const first = fitView(p.bounds, w, h, MARGIN);
    const half = Math.min(SPRITE_MAX_PX, p.cell * first.scale) / 2;
    return half * 2 >= SPRITE_MIN_PX ? fitView(p.bounds, w, h, MARGIN + half) : first;
  }

  get transitioning(): boolean {
    return this.anim !== null;
  }

  get lodWantedCount(): number {
    return this.lodList.length;
  }

  resetView(): void {
    const fit = this.fit(this.current, this.width, this.height);
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

  setSelected(i: number | null): void {
    if (this.selected === i) return;
    this.selected = i;
    this.requestDraw();
  }

  /** Glides the view (same zoom) so that image i is in the middle of the map. */
  centreOn(i: number): void {
    if (i < 0 || i >= this.layout.x.length) return;
    const x = this.current.xy[2 * i]!, y = this.current.xy[2 * i + 1]!;
    const to = centredOn(this.anim ? this.anim.toView : this.view.state(), x, y, this.width, this.height);
    if (this.anim) {
      this.anim.toView = to; // mid-transition: end there instead of at the fitted view
    } else {
      this.glide = { start: performance.now(), fromView: this.view.state(), toView: to };
    }
    this.fitted = false;
    this.requestDraw();
  }

  setLassoMode(on: boolean): void {
    this.lassoMode = on;
    this.lassoButton.setAttribute('aria-pressed', on ? 'true' : 'false');
    this.canvas.classList.toggle('lasso', on);
  }

  /** Moves the points to another arrangement, animated; the view follows to fit it. */
  setArrangement(id: string): void {
    if (!this.arrangements.some((a) => a.id === id) || id === this.arrangementId) return;
    const target = this.place(id);
    // start from where the points are now (possibly mid-transition)
    const n = this.layout.x.length;
    const now = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const [x, y] = positionAt({ positions: this.current.xy, from: this.from, t: this.t }, i);
      now[2 * i] = x;
      now[2 * i + 1] = y;
    }
    this.from = now;
    this.glide = null;
    this.prevCell = this.cellNow;
    this.current = target;
    this.arrangementId = id;
    for (const [a, b] of this.arrangeButtons) b.setAttribute('aria-pressed', a === id ? 'true' : 'false');
    const fit = this.fit(target, this.width, this.height);
    this.anim = { start: performance.now(), fromView: this.view.state(), toView: fit };
    this.view.fitScale = fit.scale;
    this.fitted = true;
    this.t = 0;
    this.host.hover(this, null, 0, 0);
    this.requestDraw();
  }

  /** Viewport (client) CSS-pixel position of image i, and whether it is inside the canvas. */
  screenPositionOf(i: number): { x: number; y: number; inside: boolean } {
    const r = this.canvas.getBoundingClientRect();
    const [x, y] = positionAt({ positions: this.current.xy, from: this.from, t: this.t }, i);
    const lx = this.view.toScreenX(x);
    const ly = this.view.toScreenY(y);
    return { x: r.left + lx, y: r.top + ly, inside: lx >= 0 && ly >= 0 && lx <= r.width && ly <= r.height };
  }

  /** Image index under the panel-local point (px, py), or -1. */
  pickLocal(px: number, py: number): number {
    if (this.anim) return -1;
    const radiusPx = Math.max(this.pointRadius + PICK_SLOP, this.spriteSize / 2);
    return this.grid.nearest(this.view.toDataX(px), this.view.toDataY(py), radiusPx / this.view.scale);
  }

  requestDraw(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.drawNow();
    });
  }

  /** Recomputes the per-point emphasis when the cluster highlight or the app's filter changed. */
  private updateEmphasis(): void {
    const mask = this.host.filterMask;
    const key = `${this.highlightedCluster}|${mask ? this.host.filterVersion : 'none'}`;
    if (key === this.emphasisKey) return;
    this.emphasisKey = key;
    this.emphasisVersion++;
    const h = this.highlightedCluster;
    if (h === null && !mask) {
      this.emphasis = null;
      this.emphasisCount = 0;
      return;
    }
    const n = this.layout.x.length;
    const e = this.emphasis && this.emphasis.length === n ? this.emphasis : new Uint8Array(n);
    const cl = this.layout.cluster;
    let on = 0;
    for (let i = 0; i < n; i++) {
      const v = (h === null || cl[i] === h) && (!mask || mask[i] === 1) ? 1 : 0;
      e[i] = v;
      on += v;
    }
    this.emphasis = e;
    this.emphasisCount = on;
  }

  drawNow(): void {
    if (this.frame) {
      cancelAnimationFrame(this.frame);
      this.frame = 0;
    }
    if (this.anim) {
      const u = (performance.now() - this.anim.start) / TRANSITION_MS;
      const k = easeInOut(u);
      const a = this.anim.fromView, b = this.anim.toView;
      // interpolate the scale geometrically, and the translation so that the centre moves linearly
      this.view.set({ scale: a.scale * Math.pow(b.scale / a.scale, k), tx: a.tx + (b.tx - a.tx) * k, ty: a.ty + (b.ty - a.ty) * k });
      this.t = k;
      if (u >= 1) {
        this.anim = null;
        this.t = 1;
        this.from = this.current.xy;
        this.prevCell = this.current.cell;
        this.view.set(b);
        if (this.lastPointer) this.hoverAt(this.lastPointer.x, this.lastPointer.y);
      } else this.requestDraw();
    } else if (this.glide) {
      const u = (performance.now() - this.glide.start) / GLIDE_MS;
      const k = easeInOut(u);
      const a = this.glide.fromView, b = this.glide.toView;
      this.view.scale = b.scale;
      this.view.tx = a.tx + (b.tx - a.tx) * k;
      this.view.ty = a.ty + (b.ty - a.ty) * k;
      if (u >= 1) {
        this.glide = null;
        this.view.set(b);
      } else this.requestDraw();
    }
    this.updateEmphasis();
    const spriteSize = this.spriteSize;
    if (spriteSize > 0 && this.sprites) this.host.needSprites();
    this.renderer.draw(this.scene(spriteSize));
    this.frames++;
    this.updateLod(spriteSize);
  }

  private scene(spriteSize: number): Scene {
    const lod: LodEntry[] = [];
    for (const i of this.lodList) {
      const e = this.host.lodImage(i);
      if (e) lod.push(e);
    }
    return {
      layout: this.layout,
      positions: this.current.xy,
      from: this.from,
      t: this.t,
      view: this.view,
      colors: this.colors,
      radius: this.pointRadius,
      highlightedCluster: this.highlightedCluster,
      emphasis: this.emphasis,
      emphasisVersion: this.emphasisVersion,
      emphasisCount: this.emphasisCount,
      hovered: this.hovered,
      selected: this.selected,
      spriteSize,
      lod,
    };
  }

  /** Level of detail: the images nearest the centre of the view get their larger thumbnails. */
  private updateLod(spriteSize: number): void {
    let want: number[] = [];
    const dpr = window.devicePixelRatio || 1;
    if (!this.anim && this.renderer.kind === 'webgl2' && spriteSize * dpr >= LOD_MIN_DEVICE_PX) {
      const v = this.view;
      const pad = spriteSize / 2;
      want = this.grid.nearestInRect(
        v.toDataX(-pad), v.toDataY(this.height + pad), v.toDataX(this.width + pad), v.toDataY(-pad),
        v.toDataX(this.width / 2), v.toDataY(this.height / 2), LOD_SLOTS,
      );
    }
    const same = want.length === this.lodList.length && want.every((v, k) => v === this.lodList[k]);
    if (same) return;
    this.lodList = want;
    this.host.lodWanted(this, want);
  }

  /** Re-measures the panel (window resize, devicePixelRatio change) and redraws if it changed. */
  relayout(): void {
    const rect = this.plot.getBoundingClientRect();
    const w = Math.max(1, Math.floor(rect.width));
    const h = Math.max(1, Math.floor(rect.height));
    const dpr = window.devicePixelRatio || 1;
    if (w === this.width && h === this.height && this.dprSeen === dpr) return;
    const fit = this.fit(this.current, w, h);
    if (this.fitted || this.width === 0) {
      this.view.fitScale = fit.scale;
      this.view.set(fit);
      if (this.anim) this.anim.toView = fit;
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

  private finishLasso(poly: number[]): void {
    this.lassoPath.setAttribute('points', '');
    if (poly.length < 6) return;
    const data = new Float32Array(poly.length);
    for (let k = 0; k < poly.length; k += 2) {
      data[k] = this.view.toDataX(poly[k]!);
      data[k + 1] = this.view.toDataY(poly[k + 1]!);
    }
    this.host.select(this, pointsInPolygon(this.current.xy, data));
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
      const lasso = this.lassoMode || e.shiftKey;
      this.drag = { id: e.pointerId, x: e.clientX, y: e.clientY, moved: false, lasso: lasso ? [] : null };
      if (lasso) {
        const p = this.local(e);
        this.drag.lasso!.push(p.x, p.y);
        this.host.hover(this, null, e.clientX, e.clientY);
      }
      try {
        c.setPointerCapture(e.pointerId);
      } catch {
        // a synthetic pointer (scripts, the bench) has nothing to capture
      }
    });
    c.addEventListener('pointermove', (e) => {
      this.lastPointer = { x: e.clientX, y: e.clientY };
      const d = this.drag;
      if (d && d.id === e.pointerId) {
        if (d.lasso) {
          const p = this.local(e);
          d.lasso.push(p.x, p.y);
          d.moved = true;
          const pts: string[] = [];
          for (let k = 0; k < d.lasso.length; k += 2) pts.push(`${d.lasso[k]!.toFixed(1)},${d.lasso[k + 1]!.toFixed(1)}`);
          this.lassoPath.setAttribute('points', pts.join(' ') + ` ${pts[0]}`);
          return;
        }
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
      const d = this.drag;
      if (!d || d.id !== e.pointerId) return;
      this.drag = null;
      c.classList.remove('dragging');
      if (c.hasPointerCapture(e.pointerId)) c.releasePointerCapture(e.pointerId);
      if (d.lasso) {
        if (e.type === 'pointerup') this.finishLasso(d.lasso);
        else this.lassoPath.setAttribute('points', '');
        return;
      }
      if (e.type === 'pointerup') {
        this.hoverAt(e.clientX, e.clientY);
        if (!d.moved) {
          // a click (no drag): open the photo under the pointer
          const p = this.local(e);
          const i = this.pickLocal(p.x, p.y);
          if (i >= 0) this.host.openDetail?.(this, i);
        }
      }
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
      if (this.lassoMode) return;
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
        case 'l':
        case 'L':
          this.setLassoMode(!this.lassoMode);
          return;
        case 'Escape':
          if (this.host.closeDetail?.()) {
            e.preventDefault();
            return;
          }
          this.setHighlightedCluster(null);
          this.setLassoMode(false);
          return;
        case 'Enter': {
          // the photo under the pointer, else the one nearest the middle of the map
          let i = this.hovered ?? -1;
          if (i < 0 && this.layout.x.length > 0) {
            const v = this.view;
            i = this.grid.nearest(v.toDataX(this.width / 2), v.toDataY(this.height / 2), Math.max(this.width, this.height) / v.scale);
          }
          if (i >= 0) this.host.openDetail?.(this, i);
          e.preventDefault();
          return;
        }
        default:
          return;
      }
      e.preventDefault();
      this.changedView();
      if (this.lastPointer) this.hoverAt(this.lastPointer.x, this.lastPointer.y);
    });
  }
}
