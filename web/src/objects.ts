// COCO object tags (docs/atlas-format.md "Object tags"): parsing an image's `objects`, the index behind
// the "Objects" filter legend, and the text shown on hover and in the detail panel. Pure functions, no
// DOM: unit-tested in test/objects.test.ts.
import type { AtlasImage } from './types';

/** [label, count, best score]. */
export type ObjectTag = [string, number, number];

/** The distinct object labels, most frequent first (ties by name), and the images that carry each. */
export interface ObjectIndex {
  names: string[];
  /** Per label: the ascending indices of the images that carry it. */
  members: Uint32Array[];
}

/** An image's `objects` as written by the C++ side; malformed entries are dropped (display-only data). */
export function parseObjects(raw: unknown): ObjectTag[] | undefined {
  if (!Array.isArray(raw)) return undefined;
  const out: ObjectTag[] = [];
  for (const e of raw as unknown[]) {
    if (Array.isArray(e) && typeof e[0] === 'string' && e[0] && typeof e[1] === 'number' && Number.isInteger(e[1]) &&
        e[1] >= 1 && typeof e[2] === 'number' && Number.isFinite(e[2])) {
      out.push([e[0], e[1], e[2]]);
    }
  }
  return out.length ? out : undefined;
}

/** "person ×3, bicycle". */
export function formatObjects(objects: readonly ObjectTag[] | undefined): string {
  if (!objects?.length) return '';
  return objects.map(([label, count]) => (count > 1 ? `${label} ×${count}` : label)).join(', ');
}

/** The object-label index of a collection; null when no image has a tag. */
export function objectIndex(images: readonly AtlasImage[]): ObjectIndex | null {
  const lists = new Map<string, number[]>();
  images.forEach((im, i) => {
    for (const [label] of im.objects ?? []) {
      let l = lists.get(label);
      if (!l) lists.set(label, (l = []));
      if (l[l.length - 1] !== i) l.push(i);
    }
  });
  if (lists.size === 0) return null;
  const names = [...lists.keys()].sort((a, b) => lists.get(b)!.length - lists.get(a)!.length || (a < b ? -1 : a > b ? 1 : 0));
  return { names, members: names.map((n) => Uint32Array.from(lists.get(n)!)) };
}
