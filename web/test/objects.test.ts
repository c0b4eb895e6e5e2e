import { describe, expect, it } from 'vitest';
import { parseAtlas } from '../src/data';
import { combineFilters, tooltipLabels } from '../src/meta';
import { formatObjects, objectIndex, parseObjects } from '../src/objects';
import { search, searchText } from '../src/select';
import type { AtlasImage } from '../src/types';

const image = (objects?: [string, number, number][]): AtlasImage => ({ id: 'a', name: 'a.jpg', path: 'a.jpg', thumb: '', width: 1, height: 1, objects });

describe('object tags', () => {
  it('parses [label, count, score] entries and drops malformed ones', () => {
    expect(parseObjects([['person', 3, 0.67], ['cup', 1, 0.4]])).toEqual([['person', 3, 0.67], ['cup', 1, 0.4]]);
    expect(parseObjects([['person', 0, 0.5], ['dog', 1.5, 0.5], [3, 1, 0.5], ['', 1, 0.5], ['cat', 1, 'x'], 'bird', ['bird', 2, 0.31]]))
      .toEqual([['bird', 2, 0.31]]);
    expect(parseObjects('person')).toBeUndefined();
    expect(parseObjects([])).toBeUndefined();
  });

  it('formats counts as "person ×3, bicycle"', () => {
    expect(formatObjects([['person', 3, 0.6], ['bicycle', 1, 0.5]])).toBe('person ×3, bicycle');
    expect(formatObjects(undefined)).toBe('');
  });

  it('indexes labels most frequent first with each label\'s images', () => {
    const idx = objectIndex([image([['cup', 1, 0.4]]), image(), image([['person', 2, 0.7], ['cup', 1, 0.5]]), image([['person', 1, 0.3]]), image([['bicycle', 1, 0.6]])]);
    expect(idx!.names).toEqual(['cup', 'person', 'bicycle']);
    expect(Array.from(idx!.members[0]!)).toEqual([0, 2]);
    expect(Array.from(idx!.members[1]!)).toEqual([2, 3]);
    expect(Array.from(idx!.members[2]!)).toEqual([4]);
    expect(objectIndex([image(), image()])).toBeNull();
  });

  it('are searchable and shown on hover', () => {
    const ims = [image([['wine glass', 1, 0.5]]), image([['person', 2, 0.6]])];
    const hay = ims.map(searchText);
    expect(Array.from(search(hay, 'wine glass')!)).toEqual([0]);
    expect(Array.from(search(hay, 'person')!)).toEqual([1]);
    expect(tooltipLabels(ims[1]!)).toBe('person ×2');
  });

  it('filter: only the chosen label\'s photos stay bright, combined with the other filters', () => {
    const base = { count: 5, matches: null, selected: [], category: null, categoryOf: null, duplicatesOnly: false, groupOf: null };
    expect(combineFilters({ ...base, objectMembers: null })).toBeNull();
    expect(Array.from(combineFilters({ ...base, objectMembers: Uint32Array.from([1, 3]) })!)).toEqual([0, 1, 0, 1, 0]);
    expect(Array.from(combineFilters({ ...base, matches: Uint32Array.from([3, 4]), objectMembers: Uint32Array.from([1, 3]) })!))
      .toEqual([0, 0, 0, 1, 0]);
  });

  it('come from atlas.json, with the approximate-categories flag', () => {
    const doc = {
      format: 'photoatlas', version: 2, count: 2, categories_source: 'objects',
      objects: { model: 'human-models-3.0.4/centernet/nms0.4-min0.2-max10@1', threshold: 0.3 },
      images: [{ id: 'a', name: 'a.jpg', category: 'Cycling', objects: [['bicycle', 1, 0.59], ['person', 3, 0.58]] }, { id: 'b', name: 'b.jpg' }],
      layouts: [{ id: 'raw', x: [0, 1], y: [0, 1], cluster: [0, 0], clusters: [{ name: 'bicycle', size: 2 }] }],
    };
    const a = parseAtlas(doc);
    expect(a.images[0]!.objects).toEqual([['bicycle', 1, 0.59], ['person', 3, 0.58]]);
    expect(a.images[1]!.objects).toBeUndefined();
    expect(a.objects!.names).toEqual(['bicycle', 'person']);
    expect(a.categoriesApproximate).toBe(true);
    expect(parseAtlas({ ...doc, categories_source: 'imagenet' }).categoriesApproximate).toBe(false);
  });
});
