// Data loading: fetch data/atlas.json (+ the binary arrays a version-2 file references), check it
// against the contract (docs/atlas-format.md), convert to typed arrays.
import { categoryIndex } from './meta';
import { objectIndex, parseObjects, type ObjectIndex } from './objects';
import { NO_NEIGHBOR, type AtlasCluster, type AtlasImage, type CategoryInfo, type DuplicateInfo, type LayoutData, type SimilarInfo, type SpriteInfo } from './types';

export const SUPPORTED_VERSIONS: readonly number[] = [1, 2];

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

const DTYPES = { float32: Float32Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array } as const;
type Dtype = keyof typeof DTYPES;
type Numeric = Float32Array | Uint8Array | Uint16Array | Uint32Array | number[];

/** Binary files already fetched, by their `file` value. */
export type Binaries = ReadonlyMap<string, ArrayBuffer>;

function isRef(v: unknown): v is { file: string; dtype: Dtype; count?: number } {
  return isObject(v) && typeof v.file === 'string' && typeof v.dtype === 'string';
}

/** Every binary file a parsed atlas.json refers to (version 2), in a stable order. */
export function binaryFiles(raw: unknown): string[] {
  const out = new Set<string>();
  if (!isObject(raw)) return [];
  if (Array.isArray(raw.layouts)) {
    for (const l of raw.layouts as unknown[]) {
      if (!isObject(l)) continue;
      for (const k of ['x', 'y', 'cluster']) if (isRef(l[k])) out.add((l[k] as { file: string }).file);
    }
  }
  if (isObject(raw.sprites) && isRef(raw.sprites.sizes)) out.add(raw.sprites.sizes.file);
  if (isObject(raw.similar) && isRef(raw.similar.neighbors)) out.add(raw.similar.neighbors.file);
  return [...out];
}

function numbers(v: unknown, what: string, n: number, bins: Binaries | undefined): Numeric {
  if (isRef(v)) {
    const T = DTYPES[v.dtype];
    if (!T) fail(`${what}.dtype ${JSON.stringify(v.dtype)} is not one of ${Object.keys(DTYPES).join(', ')}`);
    const buf = bins?.get(v.file);
    if (!buf) fail(`${what}: ${v.file} was not loaded`);
    if (buf.byteLength !== n * T.BYTES_PER_ELEMENT) {
      fail(`${what}: ${v.file} has ${buf.byteLength} bytes, expected ${n} x ${T.BYTES_PER_ELEMENT}`);
    }
    const a = new T(buf);
    if (a instanceof Float32Array) {
      for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) fail(`${what}[${i}] is not a finite number`);
    }
    return a;
  }
  if (!Array.isArray(v)) fail(`${what} is not an array`);
  if (v.length !== n) fail(`${what} has ${v.length} entries, expected ${n}`);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'number' || !Number.isFinite(v[i])) fail(`${what}[${i}] is not a finite number`);
  }
  return v as number[];
}

function float32(a: Numeric): Float32Array {
  return a instanceof Float32Array ? a : Float32Array.from(a);
}

export interface ParsedAtlas {
  version: number;
  title: string;
  created: string;
  count: number;
  images: AtlasImage[];
  layouts: LayoutData[];
  sprites: SpriteInfo | null;
  /** True when at least one image has a parseable taken_at (a timeline can be offered). */
  hasDates: boolean;
  /** The k nearest neighbours of every image, when the atlas has them. */
  similar: SimilarInfo | null;
  /** Near-duplicate groups, when the atlas has them (null when absent or empty). */
  duplicates: DuplicateInfo | null;
  /** The images' categories (null when no image has one). */
  categories: CategoryInfo | null;
  /** True when the categories come from object tags (approximate), not from an ImageNet classifier. */
  categoriesApproximate: boolean;
  /** COCO object labels and the images carrying each (null when no image has a tag). */
  objects: ObjectIndex | null;
}

/**
 * Validates a parsed atlas.json value and converts layouts to typed arrays. Throws AtlasFormatError.
 * `bins` holds the binary files a version-2 file refers to (see binaryFiles / loadAtlas).
 */
export function parseAtlas(raw: unknown, bins?: Binaries): ParsedAtlas {
  if (!isObject(raw)) fail('not a JSON object');
  if (raw.format !== 'photoatlas') fail(`"format" is ${JSON.stringify(raw.format)}, expected "photoatlas"`);
  const version = raw.version;
  if (typeof version !== 'number' || !SUPPORTED_VERSIONS.includes(version)) {
    fail(`"version" is ${JSON.stringify(raw.version)}; this viewer reads versions ${SUPPORTED_VERSIONS.join(' and ')}`);
  }
  if (!Array.isArray(raw.images)) fail('"images" is not an array');
  const images = raw.images as unknown[];
  const count = typeof raw.count === 'number' ? raw.count : images.length;
  if (count !== images.length) fail(`"count" is ${count} but "images" has ${images.length} entries`);
  const refsAllowed = version >= 2;

  let hasDates = false;
  const outImages: AtlasImage[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const im = images[i];
    if (!isObject(im)) fail(`images[${i}] is not an object`);
    const id = str(im.id, String(i));
    const img: AtlasImage = {
      id,
      name: str(im.name, str(im.path, `image ${i + 1}`)),
      path: str(im.path),
      thumb: str(im.thumb, version >= 2 && im.id !== undefined ? `thumbs/${id}.jpg` : ''),
      width: typeof im.width === 'number' ? im.width : 0,
      height: typeof im.height === 'number' ? im.height : 0,
    };
    if (typeof im.taken_at === 'string') {
      img.taken_at = im.taken_at;
      if (!hasDates && !Number.isNaN(Date.parse(im.taken_at))) hasDates = true;
    }
    if (typeof im.caption === 'string') img.caption = im.caption;
    if (typeof im.class === 'string') img.class = im.class;
    if (typeof im.category === 'string') img.category = im.category;
    if (Array.isArray(im.tags)) img.tags = im.tags.filter((t): t is string => typeof t === 'string');
    // Display-only extras: a malformed value is dropped, never fatal.
    if (typeof im.post === 'string' && im.post) img.post = im.post;
    else if (typeof im.post === 'number' && Number.isFinite(im.post)) img.post = String(im.post);
    if (typeof im.camera === 'string' && im.camera) img.camera = im.camera;
    const gps = im.gps;
    if (Array.isArray(gps) && gps.length === 2 && typeof gps[0] === 'number' && typeof gps[1] === 'number' &&
        Math.abs(gps[0]) <= 90 && Math.abs(gps[1]) <= 180) {
      img.gps = [gps[0], gps[1]];
    }
    if (Array.isArray(im.top_classes)) {
      const top: [string, number][] = [];
      for (const e of im.top_classes as unknown[]) {
        if (Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number' && Number.isFinite(e[1])) top.push([e[0], e[1]]);
      }
      if (top.length) img.top_classes = top;
    }
    const objects = parseObjects(im.objects);
    if (objects) img.objects = objects;
    outImages[i] = img;
  }

  if (!Array.isArray(raw.layouts)) fail('"layouts" is not an array');
  const layouts: LayoutData[] = (raw.layouts as unknown[]).map((lay, li) => {
    if (!isObject(lay)) fail(`layouts[${li}] is not an object`);
    const where = `layouts[${li}]`;
    for (const k of ['x', 'y', 'cluster']) {
      if (!refsAllowed && isRef(lay[k])) fail(`${where}.${k} is a binary reference, which needs version 2`);
    }
    const x = float32(numbers(lay.x, `${where}.x`, count, bins));
    const y = float32(numbers(lay.y, `${where}.y`, count, bins));
    const labels = numbers(lay.cluster, `${where}.cluster`, count, bins);
    if (!Array.isArray(lay.clusters)) fail(`${where}.clusters is not an array`);
    const clusters: AtlasCluster[] = (lay.clusters as unknown[]).map((c, ci) => {
      if (!isObject(c)) fail(`${where}.clusters[${ci}] is not an object`);
      const cl: AtlasCluster = {
        id: typeof c.id === 'number' ? c.id : ci,
        name: str(c.name, `Cluster ${ci + 1}`),
        size: typeof c.size === 'number' ? c.size : 0,
      };
      // a representative photo for the legend; an index outside the images is ignored
      if (typeof c.medoid === 'number' && Number.isInteger(c.medoid) && c.medoid >= 0 && c.medoid < count) cl.medoid = c.medoid;
      if (c.unclustered === true) cl.unclustered = true;
      return cl;
    });
    const cluster = labels instanceof Uint32Array ? labels : new Uint32Array(count);
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
      x,
      y,
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
    version,
    title: str(raw.title, 'photoatlas'),
    created: str(raw.created),
    count,
    images: outImages,
    layouts,
    sprites: refsAllowed ? parseSprites(raw.sprites, count, bins) : null,
    hasDates,
    similar: parseSimilar(raw.similar, count, bins, refsAllowed),
    duplicates: parseDuplicates(raw.duplicate_groups, count),
    categories: categoryIndex(outImages),
    categoriesApproximate: raw.categories_source === 'objects',
    objects: objectIndex(outImages),
  };
}

/** `similar` (optional): k neighbour indices per image, an array reference (or, small atlases, a JSON array). */
function parseSimilar(v: unknown, count: number, bins: Binaries | undefined, refsAllowed: boolean): SimilarInfo | null {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) fail('"similar" is not an object');
  const k = v.k;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) fail('"similar.k" is not a positive integer');
  if (!refsAllowed && isRef(v.neighbors)) fail('similar.neighbors is a binary reference, which needs version 2');
  if (isRef(v.neighbors) && v.neighbors.dtype !== 'uint32') fail(`similar.neighbors.dtype is ${JSON.stringify(v.neighbors.dtype)}, expected "uint32"`);
  const raw = numbers(v.neighbors, 'similar.neighbors', count * k, bins);
  const bad = (j: number) => fail(`similar.neighbors[${j}] is ${raw[j]}, neither an image index nor ${NO_NEIGHBOR} (none)`);
  let neighbors: Uint32Array;
  if (raw instanceof Uint32Array) {
    neighbors = raw; // 1M x 12 values: one tight pass
    for (let j = 0; j < raw.length; j++) {
      const t = raw[j]!;
      if (t >= count && t !== NO_NEIGHBOR) bad(j);
    }
  } else {
    neighbors = new Uint32Array(raw.length);
    for (let j = 0; j < raw.length; j++) {
      const t = raw[j]!;
      if (t !== NO_NEIGHBOR && !(Number.isInteger(t) && t >= 0 && t < count)) bad(j);
      neighbors[j] = t;
    }
  }
  return { features: str(v.features), k, neighbors };
}

/** `duplicate_groups` (optional): groups of image indices; an image is in at most one group. */
function parseDuplicates(v: unknown, count: number): DuplicateInfo | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) fail('"duplicate_groups" is not an array');
  const groupOf = new Int32Array(count).fill(-1);
  const groups: Uint32Array[] = [];
  let members = 0;
  (v as unknown[]).forEach((g, gi) => {
    if (!Array.isArray(g)) fail(`duplicate_groups[${gi}] is not an array`);
    if (g.length < 2) return; // a group of one is no duplicate
    const group = new Uint32Array(g.length);
    g.forEach((t, j) => {
      if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= count) {
        fail(`duplicate_groups[${gi}][${j}] is ${JSON.stringify(t)}, not an image index`);
      }
      if (groupOf[t] !== -1) fail(`image ${t} is in more than one duplicate group (again in duplicate_groups[${gi}])`);
      groupOf[t] = groups.length;
      group[j] = t;
    });
    group.sort();
    groups.push(group);
    members += group.length;
  });
  return groups.length ? { groups, groupOf, members } : null;
}

function parseSprites(v: unknown, count: number, bins: Binaries | undefined): SpriteInfo | null {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) fail('"sprites" is not an object');
  const cell = v.cell, columns = v.columns;
  if (typeof cell !== 'number' || !(cell >= 1 && cell <= 255)) fail('"sprites.cell" is not in [1, 255]');
  if (typeof columns !== 'number' || !(columns >= 1)) fail('"sprites.columns" is not a positive number');
  const perSheet = typeof v.per_sheet === 'number' ? v.per_sheet : columns * columns;
  if (!Array.isArray(v.sheets)) fail('"sprites.sheets" is not an array');
  const sheets = (v.sheets as unknown[]).map((s, k) => {
    if (!isObject(s) || typeof s.file !== 'string') fail(`sprites.sheets[${k}] has no file`);
    return {
      url: s.file,
      width: typeof s.width === 'number' ? s.width : 0,
      height: typeof s.height === 'number' ? s.height : 0,
      first: typeof s.first === 'number' ? s.first : k * perSheet,
      count: typeof s.count === 'number' ? s.count : perSheet,
    };
  });
  const sizes = numbers(v.sizes, 'sprites.sizes', 2 * count, bins);
  return { cell, columns, perSheet, sheets, sizes: sizes instanceof Uint8Array ? sizes : Uint8Array.from(sizes) };
}

async function fetchBinary(file: string): Promise<[string, ArrayBuffer]> {
  const url = safeThumbUrl(file, document.baseURI);
  if (!url) throw new AtlasFormatError(`data/atlas.json: ${JSON.stringify(file)} is not a file of this atlas`);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not load ${file}: HTTP ${res.status}`);
  return [file, await res.arrayBuffer()];
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
  const files = binaryFiles(raw);
  const bins = new Map(await Promise.all(files.map(fetchBinary)));
  return parseAtlas(raw, bins);
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
