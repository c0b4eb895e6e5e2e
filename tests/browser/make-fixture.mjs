#!/usr/bin/env node
// Builds an atlas output folder by hand (docs/atlas-format.md), for developing and testing the
// viewer without the C++ CLI:
//   node tests/browser/make-fixture.mjs OUT [--layouts 1|2] [--count N] [--k K] [--seed S] [--version 1|2]
// then serve it, e.g. `python3 -m http.server -b 127.0.0.1 -d OUT 8000`.
// OUT gets index.html + assets/ (copied from web/dist: run `npm run build` in web/ first),
// data/atlas.json and thumbs/<id>.jpg drawn on a canvas in headless chromium. Version 2 (the default)
// writes the layouts as binary arrays (data/*.f32, *.u16) and packs the thumbnails into a sprite
// sheet (data/sprites-0.jpg + data/sprite-sizes.u8), as src/atlas/{binary,sprites}.cpp do.
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
  const mx = (Math.min(...x) + Math.max(...x)) / 2;
  const my = (Math.min(...y) + Math.max(...y)) / 2;
  let m = 1e-9;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - mx), Math.abs(y[i] - my));
  return [x.map((v) => +((v - mx) / m).toFixed(5)), y.map((v) => +((v - my) / m).toFixed(5))];
}

function makeLayout(id, name, features, familyOf, count, k, seed) {
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
  return {
    id,
    name,
    features,
    x: sx,
    y: sy,
    cluster,
    clusters: sizes.map((size, i) => ({ id: i, name: `Cluster ${i + 1}`, size })),
  };
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
  const images = [];
  for (let i = 0; i < count; i++) {
    const t = thumbs[i % thumbs.length];
    const name = i < thumbs.length ? t.name : `${t.family}-copy-${i}.jpg`;
    const im = {
      id: i < thumbs.length ? t.id : `${t.id.slice(0, 10)}${String(i).padStart(6, '0')}`,
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
    images.push(im);
  }
  const familyOf = (i) => ['red', 'green', 'blue'].indexOf(thumbs[i % thumbs.length].family);
  const kk = k ?? (count <= 60 ? 3 : 12);
  const lays = [makeLayout('raw', 'Raw pixels', 'raw150', familyOf, count, kk, seed + 11)];
  if (layouts > 1) lays.push(makeLayout('cnn', 'CNN features', 'cnn-fixture', familyOf, count, kk, seed + 23));
  const atlas = {
    format: 'photoatlas',
    version,
    title: 'Fixture <atlas> & friends',
    created: '2026-11-28T23:59:00Z',
    count,
    images,
    layouts: lays,
  };
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
    onDisk.sprites = await makeSprites(out, page, thumbs, count);
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
