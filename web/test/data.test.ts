import { describe, expect, it } from 'vitest';
import { AtlasFormatError, binaryFiles, parseAtlas, safeThumbUrl } from '../src/data';
import { PALETTE, UNCLUSTERED_COLOR, clusterColor, layoutClusterColor, layoutClusterRgb } from '../src/palette';
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
    bad((s) => (s.version = 3), /version/);
    bad((s) => (s.count = 4), /count/);
    bad((s) => s.layouts[0].x.pop(), /layouts\[0\]\.x has 2 entries/);
    bad((s) => (s.layouts[0].y[1] = 'a'), /not a finite number/);
    bad((s) => (s.layouts[0].cluster[2] = 2), /outside \[0, 2\)/);
    bad((s) => s.layouts.push(s.layouts[0]), /two layouts/);
    expect(() => parseAtlas(null)).toThrow(/not a JSON object/);
  });

  it('reads a version-2 atlas: binary arrays, sprites, labels', () => {
    const s: any = sample();
    s.version = 2;
    const l = s.layouts[0];
    l.x = { file: 'data/x.f32', dtype: 'float32', count: 3 };
    l.y = { file: 'data/y.f32', dtype: 'float32', count: 3 };
    l.cluster = { file: 'data/c.u16', dtype: 'uint16', count: 3 };
    s.images[0].class = 'seashore';
    s.images[0].tags = ['sea', 3];
    delete s.images[1].thumb;
    s.sprites = { cell: 32, columns: 128, per_sheet: 16384, sheets: [{ file: 'data/sprites-0.jpg', width: 96, height: 32, first: 0, count: 3 }], sizes: { file: 'data/s.u8', dtype: 'uint8', count: 6 } };
    const bins = new Map<string, ArrayBuffer>([
      ['data/x.f32', new Float32Array([0.1, -1, 1]).buffer],
      ['data/y.f32', new Float32Array([0, 0.5, -0.5]).buffer],
      ['data/c.u16', new Uint16Array([0, 1, 1]).buffer],
      ['data/s.u8', new Uint8Array([32, 24, 0, 0, 24, 32]).buffer],
    ]);
    expect(binaryFiles(s)).toEqual(['data/x.f32', 'data/y.f32', 'data/c.u16', 'data/s.u8']);
    const a = parseAtlas(s, bins);
    expect(a.version).toBe(2);
    expect(Array.from(a.layouts[0]!.cluster)).toEqual([0, 1, 1]);
    expect(a.layouts[0]!.x[1]).toBe(-1);
    expect(a.images[0]!.class).toBe('seashore');
    expect(a.images[0]!.tags).toEqual(['sea']);
    expect(a.images[1]!.thumb).toBe('thumbs/b.jpg'); // version 2 default
    expect(a.sprites!.sheets[0]!.url).toBe('data/sprites-0.jpg');
    expect(Array.from(a.sprites!.sizes)).toEqual([32, 24, 0, 0, 24, 32]);
    expect(a.hasDates).toBe(true);
    // wrong byte length, unknown dtype, missing file, bad label
    const broken = (mut: (b: Map<string, ArrayBuffer>, s: any) => void, re: RegExp) => {
      const b = new Map(bins);
      const t = JSON.parse(JSON.stringify(s));
      mut(b, t);
      expect(() => parseAtlas(t, b)).toThrow(re);
    };
    broken((b) => b.set('data/x.f32', new Float32Array(2).buffer), /has 8 bytes, expected 3 x 4/);
    broken((_, t) => (t.layouts[0].x.dtype = 'float64'), /dtype/);
    broken((b) => b.delete('data/y.f32'), /was not loaded/);
    broken((b) => b.set('data/c.u16', new Uint16Array([0, 1, 5]).buffer), /outside \[0, 2\)/);
    broken((b) => b.set('data/x.f32', new Float32Array([0, NaN, 0]).buffer), /not a finite number/);
  });

  it('refuses binary references in a version-1 file', () => {
    const s: any = sample();
    s.layouts[0].x = { file: 'data/x.f32', dtype: 'float32', count: 3 };
    expect(() => parseAtlas(s)).toThrow(/needs version 2/);
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
  it('draws the unclustered group grey and every other cluster from the palette', () => {
    const clusters = [{}, { unclustered: true }, {}];
    expect(layoutClusterColor(clusters, 0)).toBe(clusterColor(0));
    expect(layoutClusterColor(clusters, 2)).toBe(clusterColor(2));
    expect(layoutClusterColor(clusters, 1)).toBe(UNCLUSTERED_COLOR);
    expect(PALETTE).not.toContain(UNCLUSTERED_COLOR);
    expect(layoutClusterRgb(clusters, 1)).toEqual([0x5f, 0x66, 0x72]);
    expect(layoutClusterRgb(clusters, 2)).toEqual(layoutClusterRgb([], 2));
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
