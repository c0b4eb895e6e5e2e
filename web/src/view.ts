// View transform: data coordinates (t-SNE, y up) <-> panel CSS pixels (y down).
// screen.x = tx + x * scale, screen.y = ty - y * scale. Pure: no DOM.

export interface Bounds {
  minX: number;
  maxX: number;
  minY: number;
  maxY: number;
}

export interface ViewState {
  scale: number; // CSS px per data unit
  tx: number; // screen x of data x = 0
  ty: number; // screen y of data y = 0
}

export function dataBounds(x: ArrayLike<number>, y: ArrayLike<number>): Bounds {
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const a = x[i]!, b = y[i]!;
    if (a < minX) minX = a;
    if (a > maxX) maxX = a;
    if (b < minY) minY = b;
    if (b > maxY) maxY = b;
  }
  if (!(minX <= maxX)) return { minX: -1, maxX: 1, minY: -1, maxY: 1 };
  return { minX, maxX, minY, maxY };
}

/** The view that fits `b` into a width x height panel with `margin` px on every side, centred. */
export function fitView(b: Bounds, width: number, height: number, margin: number): ViewState {
  const spanX = Math.max(b.maxX - b.minX, 1e-6);
  const spanY = Math.max(b.maxY - b.minY, 1e-6);
  const availW = Math.max(width - 2 * margin, 1);
  const availH = Math.max(height - 2 * margin, 1);
  // A lone point (or all points at one place) gets the scale of the [-1, 1] square.
  const lone = b.maxX - b.minX < 1e-9 && b.maxY - b.minY < 1e-9;
  const scale = lone ? Math.min(availW, availH) / 2 : Math.min(availW / spanX, availH / spanY);
  const cx = (b.minX + b.maxX) / 2;
  const cy = (b.minY + b.maxY) / 2;
  return { scale, tx: width / 2 - cx * scale, ty: height / 2 + cy * scale };
}

export class ViewTransform {
  scale = 1;
  tx = 0;
  ty = 0;
  /** Scale of the fitted view; zoom = scale / fitScale. */
  fitScale = 1;
  minZoom = 0.25;
  maxZoom = 1000;

  get zoom(): number {
    return this.scale / this.fitScale;
  }

  state(): ViewState {
    return { scale: this.scale, tx: this.tx, ty: this.ty };
  }

  set(s: ViewState): void {
    this.scale = s.scale;
    this.tx = s.tx;
    this.ty = s.ty;
  }

  toScreenX(x: number): number {
    return this.tx + x * this.scale;
  }
  toScreenY(y: number): number {
    return this.ty - y * this.scale;
  }
  toDataX(sx: number): number {
    return (sx - this.tx) / this.scale;
  }
  toDataY(sy: number): number {
    return (this.ty - sy) / this.scale;
  }

  /** Multiplies the scale by `factor` (clamped to the zoom limits), keeping screen point (sx, sy) fixed. */
  zoomAt(sx: number, sy: number, factor: number): void {
    const target = Math.min(Math.max(this.scale * factor, this.fitScale * this.minZoom), this.fitScale * this.maxZoom);
    const f = target / this.scale;
    this.tx = sx - (sx - this.tx) * f;
    this.ty = sy - (sy - this.ty) * f;
    this.scale = target;
  }

  panBy(dx: number, dy: number): void {
    this.tx += dx;
    this.ty += dy;
  }

  /**
   * Re-lays out for a new panel size: the data point at the centre of the old panel stays at
   * the centre of the new one, and the zoom relative to the fitted view is kept.
   */
  resize(oldW: number, oldH: number, newFit: ViewState, newW: number, newH: number): void {
    const zoom = this.zoom;
    const cx = this.toDataX(oldW / 2);
    const cy = this.toDataY(oldH / 2);
    this.fitScale = newFit.scale;
    this.scale = newFit.scale * zoom;
    this.tx = newW / 2 - cx * this.scale;
    this.ty = newH / 2 + cy * this.scale;
  }
}

/** Wheel delta (pixels, lines or pages) to a zoom factor; one mouse notch (~100 px) is about 1.2x. */
export function wheelZoomFactor(deltaY: number, deltaMode: number): number {
  const px = deltaMode === 1 ? deltaY * 33 : deltaMode === 2 ? deltaY * 400 : deltaY;
  const clamped = Math.max(-300, Math.min(300, px));
  return Math.exp(-clamped * 0.0018);
}

/** The view with the same scale that puts data point (x, y) at the centre of a w x h canvas. */
export function centredOn(v: ViewState, x: number, y: number, w: number, h: number): ViewState {
  return { scale: v.scale, tx: w / 2 - x * v.scale, ty: h / 2 + y * v.scale };
}
