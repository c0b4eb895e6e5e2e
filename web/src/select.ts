// Search and lasso selection: pure functions over the atlas (no DOM), and the export formats.
import type { AtlasImage } from './types';

/** Lower-cased text searched for each image: file name, path, caption, class, category, tags. */
export function searchText(im: AtlasImage): string {
  let s = `${im.name}\n${im.path}`;
  if (im.caption) s += `\n${im.caption}`;
  if (im.class) s += `\n${im.class}`;
  if (im.category) s += `\n${im.category}`;
  if (im.tags?.length) s += `\n${im.tags.join(' ')}`;
  if (im.objects?.length) s += `\n${im.objects.map((o) => o[0]).join('\n')}`;
  return s.toLowerCase();
}

/**
 * Indices of the images matching `query`: every whitespace-separated term must occur (case-insensitive,
 * plain substring: no regular expressions from the user). Empty query: null (no search).
 */
export function search(haystack: readonly string[], query: string): Uint32Array | null {
  const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return null;
  const out: number[] = [];
  outer: for (let i = 0; i < haystack.length; i++) {
    const h = haystack[i]!;
    for (const t of terms) if (!h.includes(t)) continue outer;
    out.push(i);
  }
  return Uint32Array.from(out);
}

/** Whether (x, y) is inside the polygon (even-odd rule); `poly` is [x0, y0, x1, y1, ...]. */
export function insidePolygon(poly: ArrayLike<number>, x: number, y: number): boolean {
  let inside = false;
  const m = poly.length / 2;
  for (let a = 0, b = m - 1; a < m; b = a++) {
    const ax = poly[2 * a]!, ay = poly[2 * a + 1]!, bx = poly[2 * b]!, by = poly[2 * b + 1]!;
    if (ay > y !== by > y && x < ((bx - ax) * (y - ay)) / (by - ay) + ax) inside = !inside;
  }
  return inside;
}

/** Indices of the points whose (x, y) (interleaved) lie inside the polygon (same coordinates). */
export function pointsInPolygon(xy: Float32Array, poly: ArrayLike<number>): Uint32Array {
  if (poly.length < 6) return new Uint32Array(0);
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let k = 0; k < poly.length; k += 2) {
    minX = Math.min(minX, poly[k]!);
    maxX = Math.max(maxX, poly[k]!);
    minY = Math.min(minY, poly[k + 1]!);
    maxY = Math.max(maxY, poly[k + 1]!);
  }
  const out: number[] = [];
  const n = xy.length / 2;
  for (let i = 0; i < n; i++) {
    const x = xy[2 * i]!, y = xy[2 * i + 1]!;
    if (x < minX || x > maxX || y < minY || y > maxY) continue;
    if (insidePolygon(poly, x, y)) out.push(i);
  }
  return Uint32Array.from(out);
}

/** One CSV field: quoted when needed; a leading = + - @ is neutralised so spreadsheets do not run it. */
export function csvField(s: string): string {
  let v = s;
  if (/^[=+\-@\t\r]/.test(v) && !/^-?\d+(\.\d+)?$/.test(v)) v = `'${v}`;
  return /[",\n\r']/.test(v) || v !== s ? `"${v.replace(/"/g, '""')}"` : v;
}

export function selectionCsv(images: readonly AtlasImage[], indices: ArrayLike<number>): string {
  const rows = ['path,name,id'];
  for (let k = 0; k < indices.length; k++) {
    const im = images[indices[k]!]!;
    rows.push([im.path, im.name, im.id].map(csvField).join(','));
  }
  return rows.join('\r\n') + '\r\n';
}

export function selectionJson(images: readonly AtlasImage[], indices: ArrayLike<number>): string {
  const list = [];
  for (let k = 0; k < indices.length; k++) {
    const im = images[indices[k]!]!;
    list.push({ path: im.path, name: im.name, id: im.id });
  }
  return JSON.stringify({ count: list.length, images: list }, null, 1);
}
