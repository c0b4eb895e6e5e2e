// What a renderer draws, the Renderer interface, and the Canvas 2D fallback (for browsers without
// WebGL 2; the normal renderer is WebGLRenderer in webgl.ts).
import type { LayoutData } from './types';

/** The view transform as the renderer needs it: screen.x = tx + x * scale, screen.y = ty - y * scale (CSS px). */
export interface ViewLike {
  scale: number;
  tx: number;
  ty: number;
}

/** A larger thumbnail loaded for an image near the camera (level of detail). */
export interface LodEntry {
  index: number;
  image: TexImageSource;
  width: number;
  height: number;
}

export interface Scene {
  layout: LayoutData;
  /** Interleaved x, y per image: where the points are going (the current arrangement). */
  positions: Float32Array;
  /** Interleaved x, y per image: where they come from; drawn at mix(from, positions, t). */
  from: Float32Array;
  t: number;
  view: ViewLike;
  colors: readonly string[]; // per cluster
  radius: number; // point radius, CSS px
  highlightedCluster: number | null;
  /** Per image: 1 = shown normally, 0 = dimmed (cluster highlight, search, selection). null = all 1. */
  emphasis: Uint8Array | null;
  /** Bumped whenever `emphasis` changes content (the renderer re-uploads it). */
  emphasisVersion: number;
  /** Number of 1s in `emphasis` (a few are drawn larger, to be found among 100k+ grey points). */
  emphasisCount: number;
  hovered: number | null; // image index outlined in this panel
  /** Image shown in the detail panel (outlined in yellow), or null. */
  selected: number | null;
  /** CSS px of a full sprite cell on screen; 0 = points only. */
  spriteSize: number;
  lod: readonly LodEntry[];
}

export interface Renderer {
  readonly kind: 'webgl2' | 'canvas2d';
  resize(cssWidth: number, cssHeight: number, dpr: number): void;
  draw(scene: Scene): void;
  /** Sprite sheets of the atlas (data/sprites-*.jpg): the renderer draws thumbnails once sheets arrive. */
  setSpriteLayout?(info: import('./types').SpriteInfo): void;
  addSpriteSheet?(sheet: number, image: TexImageSource): void;
  /** Number of sprite sheets uploaded. */
  readonly spriteSheetsLoaded: number;
}

/** Position of image i at transition progress t. */
export function positionAt(s: Pick<Scene, 'positions' | 'from' | 't'>, i: number): [number, number] {
  const t = s.t;
  const x = s.from[2 * i]! + (s.positions[2 * i]! - s.from[2 * i]!) * t;
  const y = s.from[2 * i + 1]! + (s.positions[2 * i + 1]! - s.from[2 * i + 1]!) * t;
  return [x, y];
}

/** Point indices grouped by cluster: members of cluster c are order[start[c] .. start[c + 1]). */
export interface ClusterOrder {
  start: Uint32Array;
  order: Uint32Array;
}

export function groupByCluster(cluster: Uint32Array, k: number): ClusterOrder {
  const start = new Uint32Array(k + 1);
  for (let i = 0; i < cluster.length; i++) start[cluster[i]! + 1]!++;
  for (let c = 0; c < k; c++) start[c + 1]! += start[c]!;
  const fill = start.slice(0, k);
  const order = new Uint32Array(cluster.length);
  for (let i = 0; i < cluster.length; i++) order[fill[cluster[i]!]!++] = i;
  return { start, order };
}

/** Point radius in CSS px for n points at a given zoom (1 = fitted). */
export function pointRadius(n: number, zoom: number): number {
  const base = Math.min(7, Math.max(1, 14 * Math.pow(Math.max(n, 1), -0.22)));
  return Math.min(base * Math.sqrt(Math.max(zoom, 0.25)), base * 4, 28);
}

export const DIM_ALPHA = 0.13;
export const NORMAL_ALPHA = 0.88;

/** Fallback when WebGL 2 is unavailable: points only (no thumbnails), one path per cluster. */
export class Canvas2DRenderer implements Renderer {
  readonly kind = 'canvas2d' as const;
  readonly spriteSheetsLoaded = 0;
  private readonly ctx: CanvasRenderingContext2D;
  private width = 0;
  private height = 0;
  private dpr = 1;
  private groups: ClusterOrder | null = null;
  private groupsFor: LayoutData | null = null;

  constructor(private readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext('2d', { alpha: true });
    if (!ctx) throw new Error('this browser has neither WebGL 2 nor a 2D canvas');
    this.ctx = ctx;
  }

  resize(cssWidth: number, cssHeight: number, dpr: number): void {
    this.width = cssWidth;
    this.height = cssHeight;
    this.dpr = dpr;
    const w = Math.max(1, Math.round(cssWidth * dpr));
    const h = Math.max(1, Math.round(cssHeight * dpr));
    if (this.canvas.width !== w) this.canvas.width = w;
    if (this.canvas.height !== h) this.canvas.height = h;
  }

  draw(s: Scene): void {
    const { ctx } = this;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    if (this.groupsFor !== s.layout) {
      this.groups = groupByCluster(s.layout.cluster, s.layout.clusters.length);
      this.groupsFor = s.layout;
    }
    const k = s.layout.clusters.length;
    // dimmed points first, then the emphasised ones on top
    if (s.emphasis) for (let c = 0; c < k; c++) this.drawCluster(s, c, 0, DIM_ALPHA);
    for (let c = 0; c < k; c++) this.drawCluster(s, c, 1, s.emphasis ? 1 : NORMAL_ALPHA);
    if (s.selected !== null && s.selected >= 0 && s.selected < s.layout.x.length && s.selected !== s.hovered) {
      this.drawHover(s, s.selected, '#ffd23f');
    }
    if (s.hovered !== null && s.hovered >= 0 && s.hovered < s.layout.x.length) this.drawHover(s, s.hovered);
  }

  private drawCluster(s: Scene, c: number, want: number, alpha: number): void {
    const { ctx } = this;
    const g = this.groups!;
    const { view } = s;
    const r = s.radius;
    const w = this.width, hgt = this.height;
    const end = g.start[c + 1]!;
    const asSquares = r < 1.6;
    ctx.globalAlpha = alpha;
    ctx.fillStyle = s.colors[c] ?? '#999';
    ctx.beginPath();
    for (let k = g.start[c]!; k < end; k++) {
      const i = g.order[k]!;
      if (s.emphasis && s.emphasis[i] !== want) continue;
      const [x, y] = positionAt(s, i);
      const sx = view.tx + x * view.scale;
      const sy = view.ty - y * view.scale;
      if (sx < -r || sy < -r || sx > w + r || sy > hgt + r) continue;
      if (asSquares) {
        ctx.fillRect(sx - r, sy - r, 2 * r, 2 * r);
      } else {
        ctx.moveTo(sx + r, sy);
        ctx.arc(sx, sy, r, 0, Math.PI * 2);
      }
    }
    if (!asSquares) ctx.fill();
    ctx.globalAlpha = 1;
  }

  private drawHover(s: Scene, i: number, band = '#ffffff'): void {
    const { ctx } = this;
    const [x, y] = positionAt(s, i);
    const sx = s.view.tx + x * s.view.scale;
    const sy = s.view.ty - y * s.view.scale;
    const r = Math.max(s.radius, 2);
    ctx.globalAlpha = 1;
    ctx.fillStyle = s.colors[s.layout.cluster[i]!] ?? '#999';
    ctx.beginPath();
    ctx.arc(sx, sy, r, 0, Math.PI * 2);
    ctx.fill();
    ctx.lineWidth = 4;
    ctx.strokeStyle = 'rgba(0, 0, 0, 0.75)';
    ctx.beginPath();
    ctx.arc(sx, sy, r + 4, 0, Math.PI * 2);
    ctx.stroke();
    ctx.lineWidth = 2;
    ctx.strokeStyle = band;
    ctx.stroke();
  }
}
