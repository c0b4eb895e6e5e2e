import { describe, expect, it } from 'vitest';
import { easeInOut, gridArrangement, interleave, parseDates, timelineArrangement } from '../src/arrange';
import { csvField, pointsInPolygon, search, searchText, selectionCsv, selectionJson } from '../src/select';
import type { AtlasImage } from '../src/types';

describe('grid arrangement', () => {
  it('puts every point in its own cell and keeps left/right and top/bottom order', () => {
    const n = 50;
    const x = Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.9);
    const y = Array.from({ length: n }, (_, i) => Math.cos(i * 78.233) * 0.9);
    const { xy, cell } = gridArrangement(interleave(x, y));
    const cells = new Set<string>();
    for (let i = 0; i < n; i++) cells.add(`${xy[2 * i]!.toFixed(4)},${xy[2 * i + 1]!.toFixed(4)}`);
    expect(cells.size).toBe(n);
    expect(cell).toBeGreaterThan(0);
    for (let i = 0; i < 2 * n; i++) expect(Math.abs(xy[i]!)).toBeLessThanOrEqual(1);
    // the topmost input point lands in the top row
    const top = y.indexOf(Math.max(...y));
    const maxGridY = Math.max(...Array.from({ length: n }, (_, i) => xy[2 * i + 1]!));
    expect(xy[2 * top + 1]).toBeCloseTo(maxGridY);
  });
  it('handles no points', () => {
    expect(gridArrangement(new Float32Array(0)).xy.length).toBe(0);
  });
});

describe('timeline arrangement', () => {
  it('orders dated images left to right and puts undated ones in a column of their own', () => {
    const t = parseDates(['2019-01-01T00:00:00Z', undefined, '2021-01-01T00:00:00Z', '2020-01-01T00:00:00Z', 'not a date']);
    const tl = timelineArrangement(t);
    expect(tl.undated).toBe(2);
    const x = (i: number) => tl.xy[2 * i]!;
    expect(x(0)).toBeLessThanOrEqual(x(3));
    expect(x(0)).toBeLessThan(x(2));
    expect(x(3)).toBeLessThanOrEqual(x(2));
    if (x(0) === x(3)) expect(tl.xy[1]).toBeLessThan(tl.xy[7]!); // same column: older below
    expect(x(1)).toBeGreaterThan(x(2));
    expect(x(1)).toBe(x(4));
  });
  it('eases from 0 to 1', () => {
    expect(easeInOut(0)).toBe(0);
    expect(easeInOut(1)).toBe(1);
    expect(easeInOut(0.5)).toBeCloseTo(0.5);
  });
});

describe('search and selection', () => {
  const images: AtlasImage[] = [
    { id: 'a', name: 'Beach.jpg', path: 'photos/Beach.jpg', thumb: '', width: 0, height: 0, caption: 'Sunset at <b>sea</b>' },
    { id: 'b', name: 'b.jpg', path: 'x/=cmd.jpg', thumb: '', width: 0, height: 0, class: 'seashore', category: 'landscape', tags: ['summer'] },
    { id: 'c', name: 'c,"q".jpg', path: 'c.jpg', thumb: '', width: 0, height: 0 },
  ];
  const hay = images.map(searchText);
  it('matches every term, case-insensitively, in names, captions, classes, categories and tags', () => {
    expect(Array.from(search(hay, 'beach')!)).toEqual([0]);
    expect(Array.from(search(hay, 'SEA')!)).toEqual([0, 1]);
    expect(Array.from(search(hay, 'sea landscape')!)).toEqual([1]);
    expect(Array.from(search(hay, 'summer')!)).toEqual([1]);
    expect(Array.from(search(hay, '<b>')!)).toEqual([0]); // literal text, no markup, no regex
    expect(Array.from(search(hay, '.*')!)).toEqual([]);
    expect(search(hay, '   ')).toBeNull();
  });
  it('selects the points inside a lasso polygon', () => {
    const xy = new Float32Array([0, 0, 2, 2, 0.5, 0.5, -1, 0.2]);
    const square = [-0.1, -0.1, 1, -0.1, 1, 1, -0.1, 1];
    expect(Array.from(pointsInPolygon(xy, square))).toEqual([0, 2]);
    expect(Array.from(pointsInPolygon(xy, [0, 0, 1, 1]))).toEqual([]);
  });
  it('exports CSV (quoted, formulas neutralised) and JSON', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('=cmd')).toBe(`"'=cmd"`);
    expect(csvField('-0.5')).toBe('-0.5');
    const csv = selectionCsv(images, [1, 2]);
    expect(csv).toBe(`path,name,id\r\nx/=cmd.jpg,b.jpg,b\r\nc.jpg,"c,""q"".jpg",c\r\n`);
    expect(JSON.parse(selectionJson(images, [0]))).toEqual({ count: 1, images: [{ path: 'photos/Beach.jpg', name: 'Beach.jpg', id: 'a' }] });
  });
});
