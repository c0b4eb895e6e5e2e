#!/usr/bin/env node
// Viewer benchmark: synthetic atlases of 10k, 100k (with thumbnails: sprite sheets + per-image
// thumbnails) and 1M points, opened in headless Chromium (Debian's, software GL via SwiftShader),
// measuring time to first paint and frame times during a scripted zoom and pan
// (requestAnimationFrame timestamps). Prints absolute numbers and ratios between sizes.
//
//   (cd web && npm run build) && node bench/viewer/bench.mjs [--sizes 10000,100000,1000000] [--frames 60] [--keep DIR]
//
// Not part of scripts/test. Needs tests/browser's playwright-core (cd tests/browser && npm ci).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, copyDir, freePort, launchChromium, startServer, stopProcess } from '../../tests/browser/lib.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const SIZES = opt('sizes', '10000,100000,1000000').split(',').map(Number);
const FRAMES = Number(opt('frames', 60));
const WITH_SPRITES = (n) => n === 100_000 || opt('sprites', '') === 'all';
const KEEP = opt('keep', null);
const VIEWPORT = { width: 1280, height: 800 };
const CELL = 32, COLUMNS = 128, PER_SHEET = COLUMNS * COLUMNS, K = 20, THUMBS = 64;

function rng(seed) {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  return { u, normal: () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()) };
}

function writeArray(dir, file, a) {
  fs.writeFileSync(path.join(dir, file), Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  const dtype = a instanceof Float32Array ? 'float32' : a instanceof Uint16Array ? 'uint16' : 'uint8';
  return { file, dtype, count: a.length };
}

/** A version-2 atlas of n points in K Gaussian blobs (what t-SNE of a real collection looks like, roughly). */
async function makeAtlas(dir, n, page) {
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'thumbs'), { recursive: true });
  copyDir(path.join(REPO_ROOT, 'web', 'dist'), dir);
  const r = rng(n);
  const centres = Array.from({ length: K }, () => [r.u() * 2 - 1, r.u() * 2 - 1, 0.05 + r.u() * 0.12]);
  const x = new Float32Array(n), y = new Float32Array(n), c = new Uint16Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const k = Math.floor(r.u() * K);
    c[i] = k;
    x[i] = centres[k][0] + r.normal() * centres[k][2];
    y[i] = centres[k][1] + r.normal() * centres[k][2];
    m = Math.max(m, Math.abs(x[i]), Math.abs(y[i]));
  }
  for (let i = 0; i < n; i++) {
    x[i] /= m;
    y[i] /= m;
  }
  const sizes = new Array(K).fill(0);
  for (const k of c) sizes[k]++;
  const images = new Array(n);
  for (let i = 0; i < n; i++) {
    const id = i.toString(16).padStart(16, '0');
    images[i] = { id, name: `IMG_${i}.jpg`, path: `photos/${Math.floor(i / 1000)}/IMG_${i}.jpg`, thumb: `thumbs/t${i % THUMBS}.jpg`, width: 4000, height: 3000 };
    if (i % 7 === 0) images[i].taken_at = new Date(Date.UTC(2010 + (i % 12), i % 12, 1 + (i % 28))).toISOString().slice(0, 19) + 'Z';
  }
  const atlas = {
    format: 'photoatlas', version: 2, title: `bench ${n}`, created: new Date().toISOString(), count: n, images,
    layouts: [{
      id: 'raw', name: 'Raw pixels', features: 'synthetic',
      x: writeArray(dir, 'data/layout0-raw.x.f32', x), y: writeArray(dir, 'data/layout0-raw.y.f32', y),
      cluster: writeArray(dir, 'data/layout0-raw.cluster.u16', c),
      clusters: sizes.map((size, id) => ({ id, name: `Cluster ${id + 1}`, size })),
    }],
  };
  // per-image thumbnails (THUMBS distinct files, 256 px) for the level of detail
  const thumbs = await page.evaluate((T) => {
    const out = [];
    for (let t = 0; t < T; t++) {
      const cv = document.createElement('canvas');
      cv.width = 256;
      cv.height = 192;
      const g = cv.getContext('2d');
      g.fillStyle = `hsl(${(t * 47) % 360} 60% 45%)`;
      g.fillRect(0, 0, 256, 192);
      g.fillStyle = `hsl(${(t * 47 + 180) % 360} 70% 60%)`;
      g.beginPath();
      g.arc(60 + (t * 13) % 140, 96, 40, 0, 7);
      g.fill();
      out.push(cv.toDataURL('image/jpeg', 0.8));
    }
    return out;
  }, THUMBS);
  thumbs.forEach((u, t) => fs.writeFileSync(path.join(dir, 'thumbs', `t${t}.jpg`), Buffer.from(u.slice(u.indexOf(',') + 1), 'base64')));
  if (WITH_SPRITES(n)) {
    const spriteSizes = new Uint8Array(2 * n);
    const sheets = [];
    for (let first = 0, s = 0; first < n; first += PER_SHEET, s++) {
      const cnt = Math.min(PER_SHEET, n - first);
      const sheet = await page.evaluate(({ first, cnt, CELL, COLUMNS, labels }) => {
        const cv = document.createElement('canvas');
        cv.width = Math.min(cnt, COLUMNS) * CELL;
        cv.height = Math.ceil(cnt / COLUMNS) * CELL;
        const g = cv.getContext('2d');
        g.fillStyle = 'rgb(24,26,32)';
        g.fillRect(0, 0, cv.width, cv.height);
        for (let k = 0; k < cnt; k++) {
          const i = first + k, X = (k % COLUMNS) * CELL, Y = Math.floor(k / COLUMNS) * CELL + 4;
          g.fillStyle = `hsl(${(labels[k] * 360) / 20} 60% ${35 + (i % 5) * 6}%)`;
          g.fillRect(X, Y, CELL, CELL - 8);
          g.fillStyle = `hsl(${(labels[k] * 360) / 20 + 150} 70% 65%)`;
          g.fillRect(X + (i % 17), Y + 6, 8, 8);
        }
        return { url: cv.toDataURL('image/jpeg', 0.8), width: cv.width, height: cv.height };
      }, { first, cnt, CELL, COLUMNS, labels: Array.from(c.subarray(first, first + cnt)) });
      const file = `data/sprites-${s}.jpg`;
      fs.writeFileSync(path.join(dir, file), Buffer.from(sheet.url.slice(sheet.url.indexOf(',') + 1), 'base64'));
      sheets.push({ file, width: sheet.width, height: sheet.height, first, count: cnt });
      for (let k = 0; k < cnt; k++) spriteSizes.set([CELL, CELL - 8], 2 * (first + k));
    }
    atlas.sprites = { cell: CELL, columns: COLUMNS, per_sheet: PER_SHEET, sheets, sizes: writeArray(dir, 'data/sprite-sizes.u8', spriteSizes) };
  }
  fs.writeFileSync(path.join(dir, 'data', 'atlas.json'), JSON.stringify(atlas));
  const bytes = fs.readdirSync(path.join(dir, 'data')).reduce((a, f) => a + fs.statSync(path.join(dir, 'data', f)).size, 0);
  return { bytes, sheets: atlas.sprites?.sheets.length ?? 0 };
}

/** In the page: drives zoom (wheel) and pan (pointer drag) one step per animation frame; returns frame intervals. */
async function scriptedFrames(page, frames, zoomPerFrame) {
  return page.evaluate(async ({ frames, zoomPerFrame }) => {
    const c = document.querySelector('canvas[data-testid="map-canvas"]');
    const r = c.getBoundingClientRect();
    const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
    const stamps = [];
    const wheel = (dy) => c.dispatchEvent(new WheelEvent('wheel', { deltaY: dy, deltaMode: 0, clientX: cx + 37, clientY: cy - 21, bubbles: true, cancelable: true }));
    const ptr = (type, x, y) => c.dispatchEvent(new PointerEvent(type, { pointerId: 7, button: 0, buttons: type === 'pointerup' ? 0 : 1, clientX: x, clientY: y, bubbles: true }));
    const dy = -Math.log(zoomPerFrame) / 0.0018; // inverse of wheelZoomFactor
    const steps = [];
    for (let k = 0; k < frames; k++) steps.push(() => wheel(dy)); // zoom in
    steps.push(() => ptr('pointerdown', cx, cy));
    for (let k = 1; k <= frames; k++) steps.push(() => ptr('pointermove', cx + 6 * k, cy + 3 * k)); // pan
    steps.push(() => ptr('pointerup', cx + 6 * frames, cy + 3 * frames));
    for (let k = 0; k < frames; k++) steps.push(() => wheel(-dy)); // zoom out
    await new Promise((done) => {
      let k = 0;
      const tick = (t) => {
        stamps.push(t);
        if (k < steps.length) {
          steps[k++]();
          requestAnimationFrame(tick);
        } else done();
      };
      requestAnimationFrame(tick);
    });
    const d = [];
    for (let i = 2; i < stamps.length; i++) d.push(stamps[i] - stamps[i - 1]);
    return d;
  }, { frames, zoomPerFrame });
}

const pct = (a, p) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))];
};

async function main() {
  const distIndex = path.join(REPO_ROOT, 'web', 'dist', 'index.html');
  if (!fs.existsSync(distIndex)) throw new Error(`${distIndex} missing: run npm run build in web/ first`);
  const root = KEEP ? path.resolve(KEEP) : fs.mkdtempSync(path.join(os.tmpdir(), 'photoatlas-bench-'));
  fs.mkdirSync(root, { recursive: true });
  const browser = await launchChromium();
  const gen = await browser.newPage();
  const info = {};
  for (const n of SIZES) {
    const t0 = Date.now();
    info[n] = await makeAtlas(path.join(root, `n${n}`), n, gen);
    console.log(`# generated ${n} points (${(info[n].bytes / 1e6).toFixed(1)} MB in data/, ${info[n].sheets} sprite sheets) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  await gen.close();
  const port = await freePort();
  const server = await startServer('python3', ['-m', 'http.server', '--bind', '127.0.0.1', '--directory', root, String(port)], port);
  const rows = [];
  try {
    for (const n of SIZES) {
      const ctx = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
      const page = await ctx.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      let crashed = false;
      page.on('crash', () => (crashed = true));
      await page.goto(`http://127.0.0.1:${port}/n${n}/`, { timeout: 180_000 });
      await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
      const firstPaint = await page.evaluate(() => performance.getEntriesByName('photoatlas:first-draw')[0].startTime);
      let spritesMs = null;
      if (WITH_SPRITES(n)) {
        // zoom in until thumbnails are due, then time until every sheet is on the GPU
        const t = await page.evaluate(async () => {
          const c = document.querySelector('canvas[data-testid="map-canvas"]');
          const r = c.getBoundingClientRect();
          const start = performance.now();
          for (let k = 0; k < 40 && window.__photoatlas.rendering('raw').spriteSize === 0; k++) {
            c.dispatchEvent(new WheelEvent('wheel', { deltaY: -120, clientX: r.left + r.width / 2, clientY: r.top + r.height / 2, bubbles: true, cancelable: true }));
            await new Promise((f) => requestAnimationFrame(f));
          }
          return start;
        });
        const want = info[n].sheets;
        await page.waitForFunction((w) => window.__photoatlas.rendering('raw').sheets >= w, want, { timeout: 180_000, polling: 100 });
        spritesMs = (await page.evaluate(() => performance.now())) - t;
        await page.click('[data-testid="reset-view"]');
      }
      const d = await scriptedFrames(page, FRAMES, 1.06);
      const rend = await page.evaluate(() => window.__photoatlas.rendering('raw'));
      const shot = path.join(root, `bench-${n}.png`);
      await page.screenshot({ path: shot });
      if (errors.length) console.log(`# page errors at ${n}: ${errors.slice(0, 3).join(" | ")}`);
      rows.push({ n, firstPaint, spritesMs, median: pct(d, 0.5), p95: pct(d, 0.95), max: Math.max(...d), frames: d.length, errors: errors.length, crashed, shot, lod: rend.lodLoaded });
      await ctx.close();
    }
  } finally {
    await browser.close();
    await stopProcess(server.proc);
  }
  const gl = 'headless Chromium, SwiftShader (software GL), viewport 1280x800 @1x';
  console.log(`\nphotoatlas viewer bench (${gl}; ${os.cpus().length} cores; ${FRAMES} zoom-in + ${FRAMES} pan + ${FRAMES} zoom-out frames)\n`);
  const base = rows[0];
  const f = (v) => (v === null ? '-' : v.toFixed(1));
  console.log('| points | thumbnails | first paint ms | sheets on GPU ms | median frame ms | p95 frame ms | max frame ms | first paint x | median frame x | errors | crashed |');
  console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of rows) {
    console.log(`| ${r.n.toLocaleString('en-US')} | ${WITH_SPRITES(r.n) ? `sprites (${info[r.n].sheets} sheets) + LOD` : 'points'} | ${f(r.firstPaint)} | ${f(r.spritesMs)} | ${f(r.median)} | ${f(r.p95)} | ${f(r.max)} | ${(r.firstPaint / base.firstPaint).toFixed(2)} | ${(r.median / base.median).toFixed(2)} | ${r.errors} | ${r.crashed} |`);
  }
  console.log(`\nratios are against ${base.n.toLocaleString('en-US')} points; screenshots: ${rows.map((r) => r.shot).join(', ')}`);
  if (!KEEP) fs.rmSync(root, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e.stack || e.message || e);
  process.exit(1);
});
