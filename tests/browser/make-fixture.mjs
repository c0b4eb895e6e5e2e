#!/usr/bin/env node
// Builds an atlas output folder by hand (docs/atlas-format.md), for developing and testing the
// viewer without the C++ CLI:
//   node tests/browser/make-fixture.mjs OUT [--layouts 1|2] [--count N] [--k K] [--seed S] [--version 1|2]
// then serve it, e.g. `python3 -m http.server -b 127.0.0.1 -d OUT 8000`.
// OUT gets index.html + assets/ (copied from web/dist: run `npm run build` in web/ first),
// data/atlas.json and thumbs/<id>.jpg drawn on a canvas in headless chromium. Version 2 (the default)
// writes the layouts as binary arrays (data/*.f32, *.u16) and packs the thumbnails into a sprite
// sheet (data/sprites-0.jpg + data/sprite-sizes.u8), as src/atlas/{binary,sprites}.cpp do. Version 2 also
// writes every optional field of the format: similar images (data/similar.u32), duplicate_groups (images
// 27-29 are copies of 0 and 5), cluster medoids, class/top_classes/category/tags/objects/post/camera/gps, and
// captions, a category and a camera with markup in them (the viewer must show them as text).
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, contentId, copyDir, drawPhotos, launchChromium } from './lib.mjs';

function rng(seed) {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return { u, normal };
}

function scaleIntoUnit(x, y) {
  // loops, not Math.min(...x): a spread of 200k+ arguments overflows the stack
  const range = (v) => v.reduce(([lo, hi], t) => [Math.min(lo, t), Math.max(hi, t)], [Infinity, -Infinity]);
  const [x0, x1] = range(x), [y0, y1] = range(y);
  const mx = (x0 + x1) / 2;
  const my = (y0 + y1) / 2;
  let m = 1e-9;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - mx), Math.abs(y[i] - my));
  return [x.map((v) => +((v - mx) / m).toFixed(5)), y.map((v) => +((v - my) / m).toFixed(5))];
}

function makeLayout(id, name, features, familyOf, count, k, seed, withMedoids = true) {
  const r = rng(seed);
  const centres = Array.from({ length: k }, () => [r.u() * 2 - 1, r.u() * 2 - 1]);
  const cluster = [];
  const x = [];
  const y = [];
  for (let i = 0; i < count; i++) {
    const c = k === 3 ? familyOf(i) : Math.floor(r.u() * k);
    const spread = 0.12 + 0.05 * (c % 3);
    cluster.push(c);
    x.push(centres[c][0] + r.normal() * spread);
    y.push(centres[c][1] + r.normal() * spread * 0.8);
  }
  const [sx, sy] = scaleIntoUnit(x, y);
  const sizes = new Array(k).fill(0);
  for (const c of cluster) sizes[c]++;
  // medoid: the member nearest to its cluster's mean
  const mean = Array.from({ length: k }, () => [0, 0]);
  cluster.forEach((c, i) => {
    mean[c][0] += sx[i] / sizes[c];
    mean[c][1] += sy[i] / sizes[c];
  });
  const medoid = new Array(k).fill(-1), best = new Array(k).fill(Infinity);
  cluster.forEach((c, i) => {
    const d = (sx[i] - mean[c][0]) ** 2 + (sy[i] - mean[c][1]) ** 2;
    if (d < best[c]) {
      best[c] = d;
      medoid[c] = i;
    }
  });
  return {
    id,
    name,
    features,
    x: sx,
    y: sy,
    cluster,
    clusters: sizes.map((size, i) => (withMedoids && medoid[i] >= 0 ? { id: i, name: `Cluster ${i + 1}`, size, medoid: medoid[i] } : { id: i, name: `Cluster ${i + 1}`, size })),
  };
}

/** The k nearest other images of every image by distance in a layout (stands in for the C++ side's cosine
 *  search over CNN features), 0xFFFFFFFF-padded when there are fewer than k others. Row-major, count * k. */
function nearestNeighbours(layout, k) {
  const n = layout.x.length;
  const out = new Uint32Array(n * k).fill(0xffffffff);
  for (let i = 0; i < n; i++) {
    const d = [];
    for (let j = 0; j < n; j++) if (j !== i) d.push([(layout.x[i] - layout.x[j]) ** 2 + (layout.y[i] - layout.y[j]) ** 2, j]);
    d.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (let r = 0; r < Math.min(k, d.length); r++) out[i * k + r] = d[r][1];
  }
  return out;
}

/** Little-endian typed array -> file; returns the version-2 reference. */
function writeArray(out, file, array) {
  fs.writeFileSync(path.join(out, file), Buffer.from(array.buffer, array.byteOffset, array.byteLength));
  const dtype = array instanceof Float32Array ? 'float32' : array instanceof Uint16Array ? 'uint16' : array instanceof Uint32Array ? 'uint32' : 'uint8';
  return { file, dtype, count: array.length };
}

/**
 * Packs JPEG thumbnails (`thumbs`: [{bytes}]) for `count` images (image i uses thumbs[i % thumbs.length])
 * into sprite sheets of cell x cell px cells, `columns` per row, drawn in the page. Same layout as
 * src/atlas/sprites.cpp: image i at slot i % per_sheet of sheet i / per_sheet, centred in its cell.
 */
export async function makeSprites(out, page, thumbs, count, { cell = 32, columns = 128 } = {}) {
  const perSheet = columns * columns;
  const sheets = [];
  const sizes = new Uint8Array(2 * count);
  for (let first = 0, s = 0; first < count; first += perSheet, s++) {
    const n = Math.min(perSheet, count - first);
    const r = await page.evaluate(
      async ({ urls, first, n, cell, columns }) => {
        const imgs = await Promise.all(
          urls.map(async (u) => {
            const im = new Image();
            im.src = u;
            await im.decode();
            return im;
          }),
        );
        const cols = Math.min(n, columns), rows = Math.ceil(n / columns);
        const c = document.createElement('canvas');
        c.width = cols * cell;
        c.height = rows * cell;
        const g = c.getContext('2d');
        g.fillStyle = 'rgb(24, 26, 32)';
        g.fillRect(0, 0, c.width, c.height);
        const sizes = [];
        for (let k = 0; k < n; k++) {
          const im = imgs[(first + k) % imgs.length];
          const f = Math.min(1, cell / Math.max(im.naturalWidth, im.naturalHeight));
          const w = Math.max(1, Math.round(im.naturalWidth * f)), h = Math.max(1, Math.round(im.naturalHeight * f));
          const x = (k % columns) * cell + Math.floor((cell - w) / 2), y = Math.floor(k / columns) * cell + Math.floor((cell - h) / 2);
          g.drawImage(im, x, y, w, h);
          sizes.push(w, h);
        }
        return { url: c.toDataURL('image/jpeg', 0.85), width: c.width, height: c.height, sizes };
      },
      { urls: thumbs.map((t) => `data:image/jpeg;base64,${Buffer.from(t.bytes).toString('base64')}`), first, n, cell, columns },
    );
    const file = `data/sprites-${s}.jpg`;
    fs.writeFileSync(path.join(out, file), Buffer.from(r.url.slice(r.url.indexOf(',') + 1), 'base64'));
    sizes.set(r.sizes, 2 * first);
    sheets.push({ file, width: r.width, height: r.height, first, count: n });
  }
  return { cell, columns, per_sheet: perSheet, sheets, sizes: writeArray(out, 'data/sprite-sizes.u8', sizes) };
}

/** Writes a fixture atlas into `out`. `page` is a chromium page used to draw the thumbnails. */
export async function makeFixture(out, page, { layouts = 2, count = 30, k, seed = 1, version = 2 } = {}) {
  const dist = path.join(REPO_ROOT, 'web', 'dist');
  if (!fs.existsSync(path.join(dist, 'index.html'))) {
    throw new Error(`${dist}/index.html not found: run "npm run build" in web/ first`);
  }
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(path.join(out, 'data'), { recursive: true });
  fs.mkdirSync(path.join(out, 'thumbs'), { recursive: true });
  copyDir(dist, out);

  const photos = await drawPhotos(page, { n: Math.min(count, 30), seed, formats: ['jpeg'] });
  const thumbs = photos.map((p) => {
    const id = contentId(p.bytes);
    fs.writeFileSync(path.join(out, 'thumbs', `${id}.jpg`), p.bytes);
    return { ...p, id };
  });
  // version 2: images 27, 28, 29 are near-duplicates (copies) of 0, 5, 5
  const copyOf = version >= 2 && count >= 30 ? { 27: 0, 28: 5, 29: 5 } : {};
  const duplicateGroups = Object.keys(copyOf).length ? [[0, 27], [5, 28, 29]] : [];
  const source = (i) => copyOf[i % thumbs.length] ?? i % thumbs.length;
  const images = [];
  for (let i = 0; i < count; i++) {
    const t = thumbs[source(i)];
    const original = i < thumbs.length && copyOf[i] === undefined;
    const name = original ? t.name : `${t.family}-copy-${i}.jpg`;
    const im = {
      id: original ? t.id : `${t.id.slice(0, 10)}${String(i).padStart(6, '0')}`,
      name,
      path: `photos/${name}`,
      thumb: `thumbs/${t.id}.jpg`,
      width: t.width * 20,
      height: t.height * 20,
    };
    if (i % 4 === 0) im.taken_at = new Date(Date.UTC(2019, 5, 1 + (i % 28), 10, i % 60)).toISOString().replace('.000', '');
    if (i % 5 === 1) im.caption = `<b>not bold</b> & "quoted" <img src=x onerror="document.title='pwned'"> #${i}`;
    if (i === 3) im.caption = `<script>window.__pwned = true; document.title = 'pwned'</script> sunset`;
    if (version >= 2 && i % 3 === 0) {
      im.class = ['lakeside', 'valley', 'seashore'][i % 9 / 3];
      im.category = 'landscape';
      im.tags = [`tag${i % 4}`];
    }
    if (version >= 2 && i % 6 === 4) {
      im.class = 'espresso';
      im.category = 'drinks <b>& coffee</b>';
      im.tags = ['coffee', `tag${i % 4}`];
    }
    if (im.class) {
      im.top_classes = [[im.class, 0.61], ['cup', 0.12], ['<script>alert(1)</script>', 0.004], ['plate', 0.0004]];
    }
    if (version >= 2) {
      // COCO object tags ([label, count, best score]); one label with markup (must stay text)
      if (i % 3 === 1) im.objects = [['person', 1 + (i % 4), 0.61], ['bicycle', 1, 0.45]];
      if (i % 5 === 2) im.objects = [['cup', 1, 0.4], ...(i === 7 ? [['<b>cake</b>', 2, 0.33]] : [])];
      if (i < 6) im.post = 'C0ffeePost1'; // one carousel
      if (i % 2 === 0) im.camera = 'FUJIFILM X100V';
      if (i === 7) im.camera = '<img src=x onerror="window.__pwned=true">';
      if (i % 4 === 1) im.gps = [+(48.8566 + i * 0.001).toFixed(5), i === 5 ? -2.3522 : 2.3522];
    }
    images.push(im);
  }
  const familyOf = (i) => ['red', 'green', 'blue'].indexOf(thumbs[source(i)].family);
  const kk = k ?? (count <= 60 ? 3 : 12);
  const lays = [makeLayout('raw', 'Raw pixels', 'raw150', familyOf, count, kk, seed + 11, version >= 2)];
  if (layouts > 1) lays.push(makeLayout('cnn', 'CNN features', 'cnn-fixture', familyOf, count, kk, seed + 23, version >= 2));
  const atlas = {
    format: 'photoatlas',
    version,
    title: 'Fixture <atlas> & friends',
    created: '2026-11-28T23:59:00Z',
    count,
    images,
    layouts: lays,
  };
  let neighbors = null;
  if (version >= 2 && count <= 5000) {
    // (large fixtures skip it: an O(n^2) search)
    const simK = 8;
    neighbors = nearestNeighbours(lays[lays.length - 1], simK);
    atlas.similar = { features: lays[lays.length - 1].id, k: simK, neighbors: Array.from(neighbors) };
  }
  if (duplicateGroups.length) atlas.duplicate_groups = duplicateGroups;
  if (version >= 2) {
    // the same content, as the C++ writer's version 2 stores it: binary arrays + sprite sheet
    const onDisk = { ...atlas, layouts: lays.map((l, li) => {
      const stem = `data/layout${li}-${l.id}`;
      return {
        ...l,
        x: writeArray(out, `${stem}.x.f32`, Float32Array.from(l.x)),
        y: writeArray(out, `${stem}.y.f32`, Float32Array.from(l.y)),
        cluster: writeArray(out, `${stem}.cluster.u16`, Uint16Array.from(l.cluster)),
      };
    }) };
    if (neighbors) onDisk.similar = { ...atlas.similar, neighbors: writeArray(out, 'data/similar.u32', neighbors) };
    onDisk.sprites = await makeSprites(out, page, thumbs.map((_, k) => thumbs[source(k)]), count);
    fs.writeFileSync(path.join(out, 'data', 'atlas.json'), JSON.stringify(onDisk));
  } else {
    fs.writeFileSync(path.join(out, 'data', 'atlas.json'), JSON.stringify(atlas));
  }
  return atlas; // inline arrays (the test reads positions and labels from here)
}

async function main() {
  const args = process.argv.slice(2);
  const out = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a));
  const opt = (name, def) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  if (!out) {
    console.error('usage: node tests/browser/make-fixture.mjs OUT [--layouts 1|2] [--count N] [--k K] [--seed S]');
    process.exit(2);
  }
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const atlas = await makeFixture(path.resolve(out), page, {
      layouts: opt('layouts', 2),
      count: opt('count', 30),
      k: opt('k', undefined),
      seed: opt('seed', 1),
      version: opt('version', 2),
    });
    console.log(`fixture atlas: ${path.resolve(out)} (${atlas.count} images, ${atlas.layouts.length} layouts)`);
  } finally {
    await browser.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('make-fixture.mjs')) {
  main().catch((e) => {
    console.error(e.message || e);
    process.exit(1);
  });
}
