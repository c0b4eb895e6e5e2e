// Per-image lookups computed once after loading (categories, similar-image rows, the app-wide filter
// mask) and the text formats of the detail panel. Pure functions, no DOM: unit-tested in test/meta.test.ts.
import { formatObjects } from './objects';
import { NO_CATEGORY, NO_NEIGHBOR, type AtlasImage, type CategoryInfo, type SimilarInfo } from './types';

/** The distinct categories, most frequent first (ties by name), and each image's index into them; null if none. */
export function categoryIndex(images: readonly AtlasImage[]): CategoryInfo | null {
  const n = images.length;
  const byName = new Map<string, number>();
  const first: number[] = [];
  const counts: number[] = [];
  const raw = new Uint32Array(n).fill(NO_CATEGORY);
  for (let i = 0; i < n; i++) {
    const c = images[i]!.category;
    if (!c) continue;
    let k = byName.get(c);
    if (k === undefined) {
      k = counts.length;
      byName.set(c, k);
      counts.push(0);
      first.push(i);
    }
    counts[k]!++;
    raw[i] = k;
  }
  if (counts.length === 0) return null;
  const names = [...byName.keys()];
  const order = names.map((_, k) => k).sort((a, b) => counts[b]! - counts[a]! || (names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : 0));
  const rank = new Uint32Array(order.length);
  order.forEach((k, r) => (rank[k] = r));
  for (let i = 0; i < n; i++) if (raw[i] !== NO_CATEGORY) raw[i] = rank[raw[i]!]!;
  return { names: order.map((k) => names[k]!), sizes: order.map((k) => counts[k]!), of: raw };
}

/** Image i's similar images, nearest first, without padding and without i itself. */
export function similarOf(info: SimilarInfo | null, i: number): number[] {
  if (!info) return [];
  const out: number[] = [];
  const start = i * info.k;
  if (start < 0 || start + info.k > info.neighbors.length) return out;
  for (let j = start; j < start + info.k; j++) {
    const t = info.neighbors[j]!;
    if (t !== NO_NEIGHBOR && t !== i && !out.includes(t)) out.push(t);
  }
  return out;
}

export interface FilterParts {
  count: number;
  /** Search matches (null: no search). */
  matches: ArrayLike<number> | null;
  /** Lasso selection (empty: none). */
  selected: ArrayLike<number>;
  /** Highlighted category index (null: none) and each image's category index. */
  category: number | null;
  categoryOf: Uint32Array | null;
  /** Only images in a near-duplicate group. */
  duplicatesOnly: boolean;
  groupOf: Int32Array | null;
  /** Only images carrying the chosen object label: their ascending indices (null: no object filter). */
  objectMembers?: ArrayLike<number> | null;
}

/**
 * The app-wide emphasis mask: 1 where an image passes every active filter (search AND lasso AND
 * category AND near-duplicates), else 0; null when no filter is active. O(count), run on a change, not per frame.
 */
export function combineFilters(p: FilterParts, reuse?: Uint8Array | null): Uint8Array | null {
  const n = p.count;
  const useCat = p.category !== null && p.categoryOf !== null;
  const useDup = p.duplicatesOnly && p.groupOf !== null;
  const useObj = p.objectMembers != null;
  if (!p.matches && p.selected.length === 0 && !useCat && !useDup && !useObj) return null;
  const m = reuse && reuse.length === n ? reuse : new Uint8Array(n);
  if (p.matches) {
    m.fill(0);
    for (let k = 0; k < p.matches.length; k++) m[p.matches[k]!] = 1;
  } else m.fill(1);
  if (p.selected.length > 0) {
    // m &= selected, without a second n-sized array: mark kept ones as 2, then map 2 -> 1, rest -> 0
    for (let k = 0; k < p.selected.length; k++) {
      const i = p.selected[k]!;
      if (m[i] === 1) m[i] = 2;
    }
    for (let i = 0; i < n; i++) m[i] = m[i] === 2 ? 1 : 0;
  }
  if (useCat) {
    const of = p.categoryOf!, c = p.category!;
    for (let i = 0; i < n; i++) if (of[i] !== c) m[i] = 0;
  }
  if (useDup) {
    const g = p.groupOf!;
    for (let i = 0; i < n; i++) if (g[i]! < 0) m[i] = 0;
  }
  if (useObj) {
    // m &= members (ascending): walk both in step
    const members = p.objectMembers!;
    let k = 0;
    for (let i = 0; i < n; i++) {
      while (k < members.length && members[k]! < i) k++;
      if (k >= members.length || members[k] !== i) m[i] = 0;
    }
  }
  return m;
}

/** "48.85660° N, 2.35220° E" (text only: the viewer links nowhere outside the atlas). */
export function formatGps(gps: readonly [number, number]): string {
  const [lat, lon] = gps;
  return `${Math.abs(lat).toFixed(5)}° ${lat < 0 ? 'S' : 'N'}, ${Math.abs(lon).toFixed(5)}° ${lon < 0 ? 'W' : 'E'}`;
}

/** A probability in [0, 1] as a percentage: "61%", "0.4%", "<0.1%". */
export function formatProbability(p: number): string {
  const v = Math.max(0, Math.min(1, p)) * 100;
  if (v >= 9.95) return `${Math.round(v)}%`;
  if (v >= 0.1) return `${v.toFixed(1)}%`;
  return v > 0 ? '<0.1%' : '0%';
}

/** ISO date-time as "2019-06-01 10:00" (UTC); unparseable text as it is. */
export function formatDate(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().slice(0, 16).replace('T', ' ');
}

/** Tags as hashtags: "#a #b" (a leading # in the data is not doubled). */
export function hashtags(tags: readonly string[] | undefined): string {
  if (!tags?.length) return '';
  return tags.map((t) => (t.startsWith('#') ? t : `#${t}`)).join(' ');
}

/** The tooltip's label line: class (else the top-1 of top_classes), category, hashtags, object tags, joined by " · ". */
export function tooltipLabels(im: AtlasImage): string {
  const cls = im.class ?? im.top_classes?.[0]?.[0];
  return [cls, im.category, hashtags(im.tags), formatObjects(im.objects)].filter(Boolean).join(' · ');
}
