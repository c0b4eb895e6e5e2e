import { describe, expect, it } from 'vitest';
import { SpatialGrid } from '../src/grid';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function bruteNearest(x: Float32Array, y: Float32Array, qx: number, qy: number, r: number): number {
  let best = -1;
  let bd = r * r;
  for (let i = 0; i < x.length; i++) {
    const d = (x[i]! - qx) ** 2 + (y[i]! - qy) ** 2;
    if (d < bd || (d === bd && i > best)) {
      bd = d;
      best = i;
    }
  }
  return best;
}

describe('SpatialGrid', () => {
  it('finds the same nearest point as a linear scan', () => {
    const rnd = lcg(42);
    const n = 5000;
    const x = new Float32Array(n), y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      // clumpy data, like t-SNE output
      const c = Math.floor(rnd() * 5);
      x[i] = -0.8 + c * 0.4 + (rnd() - 0.5) * 0.2;
      y[i] = Math.sin(c) * 0.7 + (rnd() - 0.5) * 0.2;
    }
    const g = new SpatialGrid(x, y);
    expect(g.size).toBe(n);
    for (let q = 0; q < 2000; q++) {
      const qx = rnd() * 2.4 - 1.2, qy = rnd() * 2.4 - 1.2;
      const r = 0.001 + rnd() * 0.1;
      expect(g.nearest(qx, qy, r)).toBe(bruteNearest(x, y, qx, qy, r));
    }
  });

  it('returns -1 when nothing is within the radius, or for an empty set', () => {
    const g = new SpatialGrid(new Float32Array([0, 1]), new Float32Array([0, 1]));
    expect(g.nearest(0.5, 0.5, 0.1)).toBe(-1);
    expect(g.nearest(5, 5, 1)).toBe(-1);
    expect(g.nearest(0.02, 0, 0.05)).toBe(0);
    expect(g.nearest(0.98, 1.01, 0.05)).toBe(1);
    const empty = new SpatialGrid(new Float32Array(0), new Float32Array(0));
    expect(empty.nearest(0, 0, 10)).toBe(-1);
  });

  it('handles all points at one place and a filter', () => {
    const x = new Float32Array([0.3, 0.3, 0.3]), y = new Float32Array([0.3, 0.3, 0.3]);
    const g = new SpatialGrid(x, y);
    expect(g.nearest(0.3, 0.3, 0.01)).toBe(2); // ties: highest index (drawn on top)
    expect(g.nearest(0.3, 0.3, 0.01, (i) => i !== 2)).toBe(1);
    expect(g.nearest(0.3, 0.3, 0.01, () => false)).toBe(-1);
  });

  it('keeps the number of cells bounded and queries fast at 200k points', () => {
    const rnd = lcg(7);
    const n = 200_000;
    const x = new Float32Array(n), y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = rnd() * 2 - 1;
      y[i] = rnd() * 2 - 1;
    }
    const t0 = performance.now();
    const g = new SpatialGrid(x, y);
    const built = performance.now() - t0;
    expect(g.cols * g.rows).toBeLessThanOrEqual(2048 * 2048);
    const t1 = performance.now();
    let found = 0;
    for (let q = 0; q < 10_000; q++) if (g.nearest(rnd() * 2 - 1, rnd() * 2 - 1, 0.01) >= 0) found++;
    const per = (performance.now() - t1) / 10_000;
    expect(found).toBeGreaterThan(9000);
    expect(built).toBeLessThan(1000);
    expect(per).toBeLessThan(0.5); // ms per query; a linear scan is ~100x slower
  });
});
