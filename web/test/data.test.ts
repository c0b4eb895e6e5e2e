import { describe, expect, it } from 'vitest';
import { AtlasFormatError, parseAtlas, safeThumbUrl } from '../src/data';
import { PALETTE, clusterColor } from '../src/palette';
import { groupByCluster, pointRadius } from '../src/renderer';

function sample(): Record<string, unknown> {
  return {
    format: 'photoatlas',
    version: 1,
    title: 'Holiday <b>2019</b>',
    created: '2026-11-28T23:59:00Z',
    count: 3,
    images: [
      { id: 'a', name: 'a.jpg', path: 'photos/a.jpg', thumb: 'thumbs/a.jpg', width: 40, height: 30 },
      { id: 'b', name: 'b.jpg', path: 'photos/b.jpg', thumb: 'thumbs/b.jpg', width: 40, height: 30, caption: '<img src=x onerror=alert(1)>' },
      { id: 'c', name: 'c.jpg', path: 'photos/c.jpg', thumb: 'thumbs/c.jpg', width: 30, height: 40, taken_at: '2019-06-01T10:00:00Z' },
    ],
    layouts: [
      {
        id: 'raw',
        name: 'Raw pixels',
        features: 'raw150',
        x: [0.1, -1, 1],
        y: [0, 0.5, -0.5],
        cluster: [0, 1, 1],
        clusters: [
          { id: 0, name: 'Cluster 1', size: 1 },
          { id: 1, name: 'Cluster 2', size: 2 },
        ],
      },
    ],
  };
}

describe('parseAtlas', () => {
  it('reads a version-1 atlas into typed arrays', () => {
    const a = parseAtlas(sample());
    expect(a.count).toBe(3);
    expect(a.title).toBe('Holiday <b>2019</b>'); // kept as text
    expect(a.images[1]!.caption).toBe('<img src=x onerror=alert(1)>');
    expect(a.images[2]!.taken_at).toBe('2019-06-01T10:00:00Z');
    const l = a.layouts[0]!;
    expect(l.x).toBeInstanceOf(Float32Array);
    expect(Array.from(l.cluster)).toEqual([0, 1, 1]);
    expect(l.clusters[1]!.name).toBe('Cluster 2');
  });

  it('rejects wrong format, version, lengths and labels with a clear message', () => {
    const bad = (mut: (s: any) => void, re: RegExp) => {
      const s = sample();
      mut(s);
      expect(() => parseAtlas(s)).toThrow(AtlasFormatError);
      expect(() => parseAtlas(s)).toThrow(re);
    };
    bad((s) => (s.format = 'other'), /format/);
    bad((s) => (s.version = 2), /version/);
    bad((s) => (s.count = 4), /count/);
    bad((s) => s.layouts[0].x.pop(), /layouts\[0\]\.x has 2 entries/);
    bad((s) => (s.layouts[0].y[1] = 'a'), /not a finite number/);
    bad((s) => (s.layouts[0].cluster[2] = 2), /outside \[0, 2\)/);
    bad((s) => s.layouts.push(s.layouts[0]), /two layouts/);
    expect(() => parseAtlas(null)).toThrow(/not a JSON object/);
  });

  it('accepts an empty atlas', () => {
    const a = parseAtlas({ format: 'photoatlas', version: 1, title: '', count: 0, images: [], layouts: [] });
    expect(a.count).toBe(0);
    expect(a.layouts).toEqual([]);
  });
});

describe('safeThumbUrl', () => {
  const base = 'http://127.0.0.1:8000/atlas/index.html';
  it('resolves relative paths against the page', () => {
    expect(safeThumbUrl('thumbs/a.jpg', base)).toBe('http://127.0.0.1:8000/atlas/thumbs/a.jpg');
  });
  it('refuses other schemes, other origins and empty paths', () => {
    expect(safeThumbUrl('javascript:alert(1)', base)).toBeNull();
    expect(safeThumbUrl('https://example.org/x.jpg', base)).toBeNull();
    expect(safeThumbUrl('', base)).toBeNull();
  });
});

describe('palette and drawing helpers', () => {
  it('has at least 20 distinct colours and never repeats for the first 100 clusters', () => {
    expect(PALETTE.length).toBeGreaterThanOrEqual(20);
    const colors = new Set(Array.from({ length: 100 }, (_, i) => clusterColor(i)));
    expect(colors.size).toBe(100);
  });
  it('groups points by cluster', () => {
    const g = groupByCluster(new Uint32Array([2, 0, 2, 1, 0]), 3);
    expect(Array.from(g.start)).toEqual([0, 2, 3, 5]);
    expect(Array.from(g.order)).toEqual([1, 4, 3, 0, 2]);
  });
  it('shrinks points as the count grows and grows them with zoom', () => {
    expect(pointRadius(30, 1)).toBeGreaterThan(pointRadius(100_000, 1));
    expect(pointRadius(1000, 4)).toBeGreaterThan(pointRadius(1000, 1));
    expect(pointRadius(100_000, 1)).toBeGreaterThanOrEqual(1);
  });
});
