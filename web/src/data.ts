// Data loading: fetch data/atlas.json, check it against the contract, convert to typed arrays.
import type { AtlasCluster, AtlasImage, LayoutData } from './types';

export const SUPPORTED_VERSION = 1;

export class AtlasFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AtlasFormatError';
  }
}

function fail(msg: string): never {
  throw new AtlasFormatError(`data/atlas.json: ${msg}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown, fallback = ''): string {
  return typeof v === 'string' ? v : fallback;
}

function numArray(v: unknown, what: string, n: number): number[] {
  if (!Array.isArray(v)) fail(`${what} is not an array`);
  if (v.length !== n) fail(`${what} has ${v.length} entries, expected ${n}`);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'number' || !Number.isFinite(v[i])) fail(`${what}[${i}] is not a finite number`);
  }
  return v as number[];
}

export interface ParsedAtlas {
  title: string;
  created: string;
  count: number;
  images: AtlasImage[];
  layouts: LayoutData[];
}

/** Validates a parsed atlas.json value and converts layouts to typed arrays. Throws AtlasFormatError. */
export function parseAtlas(raw: unknown): ParsedAtlas {
  if (!isObject(raw)) fail('not a JSON object');
  if (raw.format !== 'photoatlas') fail(`"format" is ${JSON.stringify(raw.format)}, expected "photoatlas"`);
  if (raw.version !== SUPPORTED_VERSION) {
    fail(`"version" is ${JSON.stringify(raw.version)}; this viewer reads version ${SUPPORTED_VERSION}`);
  }
  if (!Array.isArray(raw.images)) fail('"images" is not an array');
  const images = raw.images as unknown[];
  const count = typeof raw.count === 'number' ? raw.count : images.length;
  if (count !== images.length) fail(`"count" is ${count} but "images" has ${images.length} entries`);

  const outImages: AtlasImage[] = images.map((im, i) => {
    if (!isObject(im)) fail(`images[${i}] is not an object`);
    const img: AtlasImage = {
      id: str(im.id, String(i)),
      name: str(im.name, str(im.path, `image ${i + 1}`)),
      path: str(im.path),
      thumb: str(im.thumb),
      width: typeof im.width === 'number' ? im.width : 0,
      height: typeof im.height === 'number' ? im.height : 0,
    };
    if (typeof im.taken_at === 'string') img.taken_at = im.taken_at;
    if (typeof im.caption === 'string') img.caption = im.caption;
    return img;
  });

  if (!Array.isArray(raw.layouts)) fail('"layouts" is not an array');
  const layouts: LayoutData[] = (raw.layouts as unknown[]).map((lay, li) => {
    if (!isObject(lay)) fail(`layouts[${li}] is not an object`);
    const where = `layouts[${li}]`;
    const x = numArray(lay.x, `${where}.x`, count);
    const y = numArray(lay.y, `${where}.y`, count);
    const labels = numArray(lay.cluster, `${where}.cluster`, count);
    if (!Array.isArray(lay.clusters)) fail(`${where}.clusters is not an array`);
    const clusters: AtlasCluster[] = (lay.clusters as unknown[]).map((c, ci) => {
      if (!isObject(c)) fail(`${where}.clusters[${ci}] is not an object`);
      return {
        id: typeof c.id === 'number' ? c.id : ci,
        name: str(c.name, `Cluster ${ci + 1}`),
        size: typeof c.size === 'number' ? c.size : 0,
      };
    });
    const cluster = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      const c = labels[i]!;
      if (!Number.isInteger(c) || c < 0 || c >= clusters.length) {
        fail(`${where}.cluster[${i}] is ${c}, outside [0, ${clusters.length})`);
      }
      cluster[i] = c;
    }
    return {
      id: str(lay.id, `layout${li}`),
      name: str(lay.name, str(lay.id, `Layout ${li + 1}`)),
      features: str(lay.features),
      x: Float32Array.from(x),
      y: Float32Array.from(y),
      cluster,
      clusters,
    };
  });
  const ids = new Set<string>();
  for (const l of layouts) {
    if (ids.has(l.id)) fail(`two layouts have the id ${JSON.stringify(l.id)}`);
    ids.add(l.id);
  }

  return {
    title: str(raw.title, 'photoatlas'),
    created: str(raw.created),
    count,
    images: outImages,
    layouts,
  };
}

/** Fetches and parses the atlas. `url` is relative to the page (the atlas root). */
export async function loadAtlas(url = 'data/atlas.json'): Promise<ParsedAtlas> {
  const res = await fetch(url, { cache: 'no-cache' });
  if (!res.ok) throw new Error(`could not load ${url}: HTTP ${res.status}`);
  let raw: unknown;
  try {
    raw = await res.json();
  } catch (e) {
    throw new AtlasFormatError(`${url} is not valid JSON (${(e as Error).message})`);
  }
  return parseAtlas(raw);
}

/** Resolves a thumbnail path from the data against the page; only same-origin http(s) URLs pass. */
export function safeThumbUrl(thumb: string, base: string): string | null {
  if (!thumb) return null;
  let u: URL;
  try {
    u = new URL(thumb, base);
  } catch {
    return null;
  }
  const b = new URL(base);
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.origin !== b.origin) return null;
  return u.href;
}
