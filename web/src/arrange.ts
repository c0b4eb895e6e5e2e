// Arrangements: where the points of a panel sit. Besides every t-SNE layout of the atlas, two
// derived ones computed here: a grid (the t-SNE layout assigned to grid cells, as PixPlot does)
// and a timeline by date. All return interleaved x, y in about [-1, 1]. Pure: no DOM.

/** Interleaves two coordinate arrays: [x0, y0, x1, y1, ...]. */
export function interleave(x: ArrayLike<number>, y: ArrayLike<number>): Float32Array {
  const out = new Float32Array(2 * x.length);
  for (let i = 0; i < x.length; i++) {
    out[2 * i] = x[i]!;
    out[2 * i + 1] = y[i]!;
  }
  return out;
}

/**
 * Assigns points to the cells of a near-square grid keeping their neighbourhoods: sort by y into
 * rows of `cols` points, then each row by x (an approximate assignment in O(n log n); an optimal
 * one, e.g. Jonker-Volgenant, is O(n^3)). Cells are 2 / max(cols, rows) apart.
 */
export function gridArrangement(xy: Float32Array): { xy: Float32Array; cell: number } {
  const n = xy.length / 2;
  const out = new Float32Array(2 * n);
  if (n === 0) return { xy: out, cell: 1 };
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => xy[2 * b + 1]! - xy[2 * a + 1]!); // top (largest y) first
  const step = 2 / Math.max(cols, rows, 2);
  for (let r = 0; r < rows; r++) {
    const row = order.subarray(r * cols, Math.min(n, (r + 1) * cols));
    row.sort((a, b) => xy[2 * a]! - xy[2 * b]!);
    for (let c = 0; c < row.length; c++) {
      const i = row[c]!;
      out[2 * i] = (c - (cols - 1) / 2) * step;
      out[2 * i + 1] = ((rows - 1) / 2 - r) * step;
    }
  }
  return { xy: out, cell: step * 0.92 };
}

/** Milliseconds since the epoch for each image (NaN when it has no date). */
export function parseDates(takenAt: readonly (string | undefined)[]): Float64Array {
  const t = new Float64Array(takenAt.length);
  for (let i = 0; i < takenAt.length; i++) {
    const s = takenAt[i];
    t[i] = s ? Date.parse(s) : NaN;
  }
  return t;
}

export interface Timeline {
  xy: Float32Array;
  /** Side of a thumbnail cell (data units). */
  cell: number;
  /** Start time (ms) of each column and the number of columns; undated images form one more column. */
  binStart: number[];
  binWidth: number;
  undated: number;
}

/**
 * A timeline: dated images in columns of equal time width (left = oldest), stacked upwards in
 * time order; images without a date in a separate column on the right, after a gap.
 */
export function timelineArrangement(times: Float64Array, maxColumns = 60): Timeline {
  const n = times.length;
  const dated: number[] = [];
  const undated: number[] = [];
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const t = times[i]!;
    if (Number.isFinite(t)) {
      dated.push(i);
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    } else undated.push(i);
  }
  dated.sort((a, b) => times[a]! - times[b]! || a - b);
  const bins = Math.max(1, Math.min(maxColumns, Math.ceil(Math.sqrt(dated.length))));
  const width = hi > lo ? (hi - lo) / bins : 1;
  const height = new Array<number>(bins + 1).fill(0);
  const col = new Int32Array(n);
  for (const i of dated) col[i] = Math.min(bins - 1, Math.floor((times[i]! - lo) / width));
  for (const i of undated) col[i] = bins; // the undated column
  const cell = new Int32Array(n);
  for (const i of dated) cell[i] = height[col[i]!]!++;
  for (const i of undated) cell[i] = height[bins]!++;
  // Columns side by side, one cell wide; the undated column one gap further right. Then scale
  // so the larger extent spans [-1, 1].
  const columns = bins + (undated.length ? 2 : 0);
  const tallest = Math.max(1, ...height);
  const span = Math.max(columns, tallest);
  const step = 2 / span;
  const xy = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const c = col[i]! === bins ? bins + 1 : col[i]!;
    xy[2 * i] = (c - (columns - 1) / 2) * step;
    xy[2 * i + 1] = (cell[i]! - (tallest - 1) / 2) * step;
  }
  return { xy, cell: step * 0.92, binStart: Array.from({ length: bins }, (_, k) => lo + k * width), binWidth: width, undated: undated.length };
}

/** Smooth start and end for transitions. */
export function easeInOut(t: number): number {
  const c = Math.min(1, Math.max(0, t));
  return c < 0.5 ? 4 * c * c * c : 1 - Math.pow(-2 * c + 2, 3) / 2;
}
