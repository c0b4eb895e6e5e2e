// Uniform grid over data coordinates, for nearest-point queries on hover.
// Built once per layout in O(n) (counting sort into cells, CSR layout); a query looks only at
// the cells that overlap the search circle, so it stays fast at 100k+ points.

export class SpatialGrid {
  readonly minX: number;
  readonly minY: number;
  readonly cellSize: number;
  readonly cols: number;
  readonly rows: number;
  /** cellStart[c] .. cellStart[c + 1] index into `items` for cell c = row * cols + col. */
  private readonly cellStart: Uint32Array;
  private readonly items: Uint32Array;

  constructor(
    private readonly x: ArrayLike<number>,
    private readonly y: ArrayLike<number>,
    pointsPerCell = 2,
    maxCellsPerSide = 2048,
  ) {
    const n = x.length;
    let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
    for (let i = 0; i < n; i++) {
      const a = x[i]!, b = y[i]!;
      if (a < minX) minX = a;
      if (a > maxX) maxX = a;
      if (b < minY) minY = b;
      if (b > maxY) maxY = b;
    }
    if (n === 0) {
      minX = maxX = minY = maxY = 0;
    }
    const spanX = Math.max(maxX - minX, 1e-9);
    const spanY = Math.max(maxY - minY, 1e-9);
    let cell = Math.sqrt((spanX * spanY * pointsPerCell) / Math.max(n, 1));
    cell = Math.max(cell, spanX / maxCellsPerSide, spanY / maxCellsPerSide, 1e-9);
    this.minX = minX;
    this.minY = minY;
    this.cellSize = cell;
    this.cols = Math.min(maxCellsPerSide, Math.floor(spanX / cell) + 1);
    this.rows = Math.min(maxCellsPerSide, Math.floor(spanY / cell) + 1);

    const ncell = this.cols * this.rows;
    const cellOf = new Uint32Array(n);
    const counts = new Uint32Array(ncell + 1);
    for (let i = 0; i < n; i++) {
      const c = this.cellIndex(x[i]!, y[i]!);
      cellOf[i] = c;
      counts[c + 1]!++;
    }
    for (let c = 0; c < ncell; c++) counts[c + 1]! += counts[c]!;
    this.cellStart = counts;
    const fill = counts.slice(0, ncell);
    this.items = new Uint32Array(n);
    for (let i = 0; i < n; i++) this.items[fill[cellOf[i]!]!++] = i;
  }

  get size(): number {
    return this.items.length;
  }

  private col(x: number): number {
    const c = Math.floor((x - this.minX) / this.cellSize);
    return c < 0 ? 0 : c >= this.cols ? this.cols - 1 : c;
  }

  private row(y: number): number {
    const r = Math.floor((y - this.minY) / this.cellSize);
    return r < 0 ? 0 : r >= this.rows ? this.rows - 1 : r;
  }

  private cellIndex(x: number, y: number): number {
    return this.row(y) * this.cols + this.col(x);
  }

  /**
   * Index of the point nearest to (qx, qy) within `radius` (data units), or -1.
   * `accept`, when given, skips points for which it returns false.
   */
  nearest(qx: number, qy: number, radius: number, accept?: (i: number) => boolean): number {
    if (this.items.length === 0 || !(radius >= 0)) return -1;
    const c0 = this.col(qx - radius), c1 = this.col(qx + radius);
    const r0 = this.row(qy - radius), r1 = this.row(qy + radius);
    // Outside the grid's reach entirely: nothing can be within radius.
    if (qx + radius < this.minX || qy + radius < this.minY) return -1;
    if (qx - radius > this.minX + this.cols * this.cellSize) return -1;
    if (qy - radius > this.minY + this.rows * this.cellSize) return -1;
    let best = -1;
    let bestD2 = radius * radius;
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const cell = r * this.cols + c;
        const end = this.cellStart[cell + 1]!;
        for (let k = this.cellStart[cell]!; k < end; k++) {
          const i = this.items[k]!;
          const dx = this.x[i]! - qx, dy = this.y[i]! - qy;
          const d2 = dx * dx + dy * dy;
          if (d2 <= bestD2 && (accept === undefined || accept(i))) {
            // On a tie, the higher index wins (drawn later, so on top).
            if (d2 < bestD2 || i > best) {
              best = i;
              bestD2 = d2;
            }
          }
        }
      }
    }
    return best;
  }

  /**
   * Up to `limit` points inside the rectangle, nearest to (cx, cy) first. Used to pick the images
   * whose larger thumbnails are worth loading (level of detail).
   */
  nearestInRect(minX: number, minY: number, maxX: number, maxY: number, cx: number, cy: number, limit: number): number[] {
    if (this.items.length === 0 || limit <= 0) return [];
    const c0 = this.col(minX), c1 = this.col(maxX), r0 = this.row(minY), r1 = this.row(maxY);
    if ((c1 - c0 + 1) * (r1 - r0 + 1) > 4 * Math.max(limit, 64) * 64) return []; // too far out to matter
    const found: number[] = [];
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const cell = r * this.cols + c;
        const end = this.cellStart[cell + 1]!;
        for (let k = this.cellStart[cell]!; k < end; k++) {
          const i = this.items[k]!;
          const x = this.x[i]!, y = this.y[i]!;
          if (x >= minX && x <= maxX && y >= minY && y <= maxY) found.push(i);
        }
      }
    }
    const d = (i: number) => (this.x[i]! - cx) ** 2 + (this.y[i]! - cy) ** 2;
    if (found.length > limit) {
      found.sort((a, b) => d(a) - d(b));
      found.length = limit;
    }
    return found;
  }
}
