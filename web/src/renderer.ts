// Canvas 2D renderer for one layout. Draws in CSS pixels on a backing store of CSS size x
// devicePixelRatio. Points are drawn one cluster at a time (one path per cluster), so the
// number of state changes is the number of clusters, not the number of points.
// A later WebGL renderer can implement the same `Renderer` interface.
import type { LayoutData } from './types';
import type { ViewTransform } from './view';

export interface Scene {
  layout: LayoutData;
  view: ViewTransform;
  colors: readonly string[]; // per cluster
  radius: number; // point radius, CSS px
  highlightedCluster: number | null;
  hovered: number | null; // image index outlined in this panel
}

export interface Renderer {
  resize(cssWidth: number, cssHeight: number, dpr: number): void;
  draw(scene: Scene): void;
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

const DIM_ALPHA = 0.13;
const NORMAL_ALPHA = 0.88;

export class Canvas2DRenderer implements Renderer {
  private readonly ctx: CanvasRenderingContext2D;
  private width = 0;
  private height = 0;
  private dpr = 1;
  private groups: ClusterOrder | null = null;
  private groupsFor: LayoutData | null = null;

  constructor(private readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext('2d', { alpha: true });
    if (!ctx) throw new Error('this browser has no 2D canvas');
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
    const groups = this.groups!;
    const k = s.layout.clusters.length;
    const h = s.highlightedCluster;
    for (let c = 0; c < k; c++) {
      if (c === h) continue;
      this.drawCluster(s, groups, c, h === null ? NORMAL_ALPHA : DIM_ALPHA, h === null);
    }
    if (h !== null && h >= 0 && h < k) this.drawCluster(s, groups, h, 1, true);
    if (s.hovered !== null && s.hovered >= 0 && s.hovered < s.layout.x.length) this.drawHover(s, s.hovered);
  }

  private drawCluster(s: Scene, g: ClusterOrder, c: number, alpha: number, outline: boolean): void {
    const { ctx } = this;
    const { x, y } = s.layout;
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
      const sx = view.toScreenX(x[i]!);
      const sy = view.toScreenY(y[i]!);
      if (sx < -r || sy < -r || sx > w + r || sy > hgt + r) continue;
      if (asSquares) {
        ctx.fillRect(sx - r, sy - r, 2 * r, 2 * r); // for tiny points, faster than a path
      } else {
        ctx.moveTo(sx + r, sy);
        ctx.arc(sx, sy, r, 0, Math.PI * 2);
      }
    }
    if (!asSquares) ctx.fill();
    if (outline && r >= 3) {
      ctx.globalAlpha = alpha * 0.5;
      ctx.lineWidth = 1;
      ctx.strokeStyle = '#0b0c0f';
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
  }

  private drawHover(s: Scene, i: number): void {
    const { ctx } = this;
    const sx = s.view.toScreenX(s.layout.x[i]!);
    const sy = s.view.toScreenY(s.layout.y[i]!);
    const r = s.radius;
    const c = s.layout.cluster[i]!;
    ctx.globalAlpha = 1;
    ctx.fillStyle = s.colors[c] ?? '#999';
    ctx.beginPath();
    ctx.arc(sx, sy, Math.max(r, 2), 0, Math.PI * 2);
    ctx.fill();
    const ring = Math.max(r, 2) + 4;
    ctx.lineWidth = 4;
    ctx.strokeStyle = 'rgba(0, 0, 0, 0.75)';
    ctx.beginPath();
    ctx.arc(sx, sy, ring, 0, Math.PI * 2);
    ctx.stroke();
    ctx.lineWidth = 2;
    ctx.strokeStyle = '#ffffff';
    ctx.stroke();
  }
}
