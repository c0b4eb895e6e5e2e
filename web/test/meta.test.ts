import { describe, expect, it } from 'vitest';
import { binaryFiles, parseAtlas } from '../src/data';
import { categoryIndex, combineFilters, formatGps, formatProbability, hashtags, similarOf, tooltipLabels } from '../src/meta';
import { NO_CATEGORY, NO_NEIGHBOR, type AtlasImage } from '../src/types';
import { centredOn } from '../src/view';

const image = (i: number, extra: Partial<AtlasImage> = {}): AtlasImage => ({ id: `i${i}`, name: `${i}.jpg`, path: `p/${i}.jpg`, thumb: '', width: 0, height: 0, ...extra });

function atlas(n: number): any {
  return {
    format: 'photoatlas',
    version: 2,
    count: n,
    images: Array.from({ length: n }, (_, i) => ({ id: `i${i}`, name: `${i}.jpg`, path: `p/${i}.jpg` })),
    layouts: [
      {
        id: 'raw',
        name: 'Raw',
        x: Array.from({ length: n }, (_, i) => i / n),
        y: Array.from({ length: n }, () => 0),
        cluster: Array.from({ length: n }, (_, i) => i % 2),
        clusters: [{ id: 0, name: 'A', size: 2, medoid: 2 }, { id: 1, name: 'B', size: 2, medoid: 99 }],
      },
    ],
  };
}

describe('optional fields (similar, duplicate_groups, medoid, extras)', () => {
  it('reads the unclustered flag only when it is true', () => {
    const s = atlas(4);
    s.layouts[0].clusters[1].unclustered = true;
    s.layouts[0].clusters[0].unclustered = 'yes';
    const a = parseAtlas(s);
    expect(a.layouts[0]!.clusters[1]!.unclustered).toBe(true);
    expect(a.layouts[0]!.clusters[0]!.unclustered).toBeUndefined();
  });

  it('reads similar images from a binary array, pads included', () => {
    const s = atlas(4);
    s.similar = { features: 'cnn', k: 2, neighbors: { file: 'data/similar.u32', dtype: 'uint32', count: 8 } };
    expect(binaryFiles(s)).toContain('data/similar.u32');
    const nb = new Uint32Array([1, 2, 0, NO_NEIGHBOR, 3, 0, 2, 2]);
    const a = parseAtlas(s, new Map([['data/similar.u32', nb.buffer]]));
    expect(a.similar!.k).toBe(2);
    expect(a.similar!.features).toBe('cnn');
    expect(similarOf(a.similar, 0)).toEqual([1, 2]);
    expect(similarOf(a.similar, 1)).toEqual([0]); // padding dropped
    expect(similarOf(a.similar, 3)).toEqual([2]); // repeats dropped
    expect(similarOf(null, 0)).toEqual([]);
  });

  it('refuses similar-image rows that do not fit the atlas', () => {
    const s = atlas(3);
    s.similar = { k: 2, neighbors: { file: 'n', dtype: 'uint32', count: 6 } };
    expect(() => parseAtlas(s, new Map([['n', new Uint32Array(5).buffer]]))).toThrow(/has 20 bytes, expected 6 x 4/);
    expect(() => parseAtlas(s, new Map([['n', new Uint32Array([1, 2, 0, 7, 0, 1]).buffer]]))).toThrow(/similar\.neighbors\[3\] is 7/);
    s.similar.neighbors.dtype = 'uint16';
    expect(() => parseAtlas(s, new Map([['n', new Uint16Array(6).buffer]]))).toThrow(/expected "uint32"/);
    s.similar = { k: 0, neighbors: [] };
    expect(() => parseAtlas(s)).toThrow(/similar\.k/);
    s.similar = { k: 1, neighbors: [1, 2, 0] }; // inline arrays are accepted
    expect(similarOf(parseAtlas(s).similar, 2)).toEqual([0]);
  });

  it('indexes near-duplicate groups both ways and refuses an image in two groups', () => {
    const s = atlas(6);
    s.duplicate_groups = [[4, 1], [2, 3, 5], [0]];
    const d = parseAtlas(s).duplicates!;
    expect(d.groups.map((g) => Array.from(g))).toEqual([[1, 4], [2, 3, 5]]); // sorted; a group of one dropped
    expect(Array.from(d.groupOf)).toEqual([-1, 0, 1, 1, 0, 1]);
    expect(d.members).toBe(5);
    s.duplicate_groups = [[0, 1], [1, 2]];
    expect(() => parseAtlas(s)).toThrow(/image 1 is in more than one duplicate group/);
    s.duplicate_groups = [[0, 6]];
    expect(() => parseAtlas(s)).toThrow(/not an image index/);
    s.duplicate_groups = [];
    expect(parseAtlas(s).duplicates).toBeNull();
  });

  it('keeps a valid medoid, drops one outside the images; reads post, camera, gps, top classes', () => {
    const s = atlas(4);
    Object.assign(s.images[0], { post: 'Bx1', camera: 'X100V', gps: [48.8566, 2.3522], top_classes: [['espresso', 0.61], ['cup', 0.12], ['bad'], 3] });
    Object.assign(s.images[1], { post: 17, gps: [91, 0], top_classes: 'espresso' });
    const a = parseAtlas(s);
    expect(a.layouts[0]!.clusters[0]!.medoid).toBe(2);
    expect(a.layouts[0]!.clusters[1]!.medoid).toBeUndefined();
    expect(a.layouts[0]!.clusters[0]!.unclustered).toBeUndefined();
    expect(a.images[0]).toMatchObject({ post: 'Bx1', camera: 'X100V', gps: [48.8566, 2.3522], top_classes: [['espresso', 0.61], ['cup', 0.12]] });
    expect(a.images[1]!.post).toBe('17');
    expect(a.images[1]!.gps).toBeUndefined();
    expect(a.images[1]!.top_classes).toBeUndefined();
    expect(a.similar).toBeNull();
    expect(a.duplicates).toBeNull();
    expect(a.categories).toBeNull();
  });
});

describe('categoryIndex', () => {
  it('orders categories by size, then name, and maps every image', () => {
    const imgs = [image(0, { category: 'food' }), image(1), image(2, { category: 'water' }), image(3, { category: 'water' }), image(4, { category: 'animals' }), image(5, { category: 'food' }), image(6, { category: 'food' })];
    const c = categoryIndex(imgs)!;
    expect(c.names).toEqual(['food', 'water', 'animals']);
    expect(c.sizes).toEqual([3, 2, 1]);
    expect(Array.from(c.of)).toEqual([0, NO_CATEGORY, 1, 1, 2, 0, 0]);
    expect(categoryIndex([image(0)])).toBeNull();
  });
});

describe('combineFilters', () => {
  const base = { count: 6, matches: null, selected: [], category: null, categoryOf: new Uint32Array([0, 1, 0, NO_CATEGORY, 1, 0]), duplicatesOnly: false, groupOf: new Int32Array([-1, 0, 0, -1, 1, 1]) };
  it('is null without an active filter', () => {
    expect(combineFilters(base)).toBeNull();
    expect(combineFilters({ ...base, categoryOf: null, category: 1 })).toBeNull();
  });
  it('ANDs search, lasso, category and near-duplicates', () => {
    expect(Array.from(combineFilters({ ...base, category: 0 })!)).toEqual([1, 0, 1, 0, 0, 1]);
    expect(Array.from(combineFilters({ ...base, duplicatesOnly: true })!)).toEqual([0, 1, 1, 0, 1, 1]);
    expect(Array.from(combineFilters({ ...base, category: 0, duplicatesOnly: true })!)).toEqual([0, 0, 1, 0, 0, 1]);
    expect(Array.from(combineFilters({ ...base, matches: [0, 2, 3], selected: [2, 3, 4] })!)).toEqual([0, 0, 1, 1, 0, 0]);
    expect(Array.from(combineFilters({ ...base, selected: [1, 2], category: 0 })!)).toEqual([0, 0, 1, 0, 0, 0]);
  });
  it('reuses the mask it is given', () => {
    const m = new Uint8Array(6);
    expect(combineFilters({ ...base, category: 1 }, m)).toBe(m);
    expect(Array.from(m)).toEqual([0, 1, 0, 0, 1, 0]);
  });
});

describe('text formats', () => {
  it('formats GPS as text with hemispheres', () => {
    expect(formatGps([48.8566, 2.3522])).toBe('48.85660° N, 2.35220° E');
    expect(formatGps([-33.9, -70.1])).toBe('33.90000° S, 70.10000° W');
  });
  it('formats probabilities', () => {
    expect(formatProbability(0.61)).toBe('61%');
    expect(formatProbability(0.012)).toBe('1.2%');
    expect(formatProbability(0.0004)).toBe('<0.1%');
    expect(formatProbability(0)).toBe('0%');
    expect(formatProbability(1.2)).toBe('100%');
  });
  it('writes hashtags and the tooltip labels', () => {
    expect(hashtags(['sea', '#sun'])).toBe('#sea #sun');
    expect(hashtags(undefined)).toBe('');
    expect(tooltipLabels(image(0, { class: 'seashore', category: 'water', tags: ['sea'] }))).toBe('seashore · water · #sea');
    expect(tooltipLabels(image(0, { top_classes: [['espresso', 0.6]] }))).toBe('espresso');
    expect(tooltipLabels(image(0))).toBe('');
  });
});

describe('centredOn', () => {
  it('puts a data point in the middle of the canvas at the same scale', () => {
    const v = centredOn({ scale: 200, tx: 5, ty: 7 }, 0.5, -0.25, 800, 600);
    expect(v.scale).toBe(200);
    expect(v.tx + 0.5 * v.scale).toBe(400);
    expect(v.ty - -0.25 * v.scale).toBe(300);
  });
});
