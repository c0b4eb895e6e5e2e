#!/usr/bin/env node
// End-to-end test of the viewer: draws test photos, runs the real CLI on them, serves the atlas
// with `photoatlas serve`, and drives Debian's chromium through playwright-core.
//
//   node tests/browser/viewer.test.mjs
//
// Environment:
//   PHOTOATLAS_BIN        the photoatlas binary (default: <repo>/build/photoatlas)
//   PHOTOATLAS_ARTIFACTS  folder for the screenshots (default: <tmpdir>/photoatlas-browser-artifacts)
//   PHOTOATLAS_CHROMIUM   chromium binary (default: /usr/bin/chromium)
//   PHOTOATLAS_TEST_FIXTURE=1  test against a hand-made atlas (make-fixture.mjs, two layouts) served
//                         by python3 -m http.server under a sub-path, instead of the CLI. Explicit opt-in:
//                         without it a missing binary is a failure, never a silent pass.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  FAMILIES,
  REPO_ROOT,
  drawPhotos,
  freePort,
  launchChromium,
  startServer,
  stopProcess,
  writePhotos,
} from './lib.mjs';
import { makeFixture } from './make-fixture.mjs';

const FIXTURE = process.env.PHOTOATLAS_TEST_FIXTURE === '1';
const BIN = process.env.PHOTOATLAS_BIN || path.join(REPO_ROOT, 'build', 'photoatlas');
const ARTIFACTS = process.env.PHOTOATLAS_ARTIFACTS || path.join(os.tmpdir(), 'photoatlas-browser-artifacts');
const VIEWPORT = { width: 1280, height: 800 };

const s = {
  tmp: null,
  browser: null,
  page: null,
  server: null,
  url: null,
  atlas: null,
  photos: null,
  consoleErrors: [],
  pageErrors: [],
  failedRequests: [],
};

function log(msg) {
  console.log(`# ${msg}`);
}

async function setUp() {
  s.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'photoatlas-browser-'));
  s.browser = await launchChromium();
  const context = await s.browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 2 });
  s.page = await context.newPage();

  const atlasDir = path.join(s.tmp, 'atlas');
  let serveCmd, serveArgs, port = await freePort(), urlPath = '/';
  if (FIXTURE) {
    log('PHOTOATLAS_TEST_FIXTURE=1: hand-made fixture atlas, served by python3 -m http.server');
    s.atlas = await makeFixture(atlasDir, s.page, { layouts: 2, count: 30 });
    serveCmd = 'python3';
    serveArgs = ['-m', 'http.server', '--bind', '127.0.0.1', '--directory', s.tmp, String(port)];
    urlPath = '/atlas/'; // a sub-path: the viewer must use relative URLs only
  } else {
    if (!fs.existsSync(BIN)) {
      throw new Error(
        `photoatlas binary not found at ${BIN}: build it first (cmake -S . -B build && cmake --build build) ` +
          `or point PHOTOATLAS_BIN at it (PHOTOATLAS_TEST_FIXTURE=1 tests the viewer alone against a hand-made atlas)`,
      );
    }
    s.photos = await drawPhotos(s.page, { n: 30, seed: 1 });
    writePhotos(path.join(s.tmp, 'photos'), s.photos);
    log(`wrote ${s.photos.length} photos to ${path.join(s.tmp, 'photos')}`);
    const args = ['run', path.join(s.tmp, 'photos'), '-o', atlasDir, '-k', '3', '--perplexity', '5', '--seed', '0'];
    log(`${BIN} ${args.join(' ')}`);
    const r = spawnSync(BIN, args, { encoding: 'utf8', timeout: 300_000 });
    if (r.error || r.status !== 0) {
      throw new Error(`photoatlas run failed (${r.error ?? `exit ${r.status}`}):\n${r.stdout}\n${r.stderr}`);
    }
    for (const f of ['index.html', 'data/atlas.json']) {
      assert.ok(fs.existsSync(path.join(atlasDir, f)), `photoatlas run wrote no ${f}`);
    }
    s.atlas = readAtlas(atlasDir);
    log(`atlas.json version ${s.atlas.version}${s.atlas.sprites ? `, ${s.atlas.sprites.sheets.length} sprite sheet(s)` : ''}`);
    serveCmd = BIN;
    serveArgs = ['serve', atlasDir, '--port', String(port)];
  }

  s.server = await startServer(serveCmd, serveArgs, port, { timeoutMs: 20_000 });
  const printed = s.server.url;
  s.url = !FIXTURE && printed ? new URL(printed).href : `http://127.0.0.1:${port}${urlPath}`;
  log(`serving at ${s.url}${printed ? ` (server printed ${printed})` : ''}`);

  s.page.on('console', (m) => {
    if (m.type() === 'error') s.consoleErrors.push(m.text());
  });
  s.page.on('pageerror', (e) => s.pageErrors.push(String(e)));
  s.page.on('requestfailed', (r) => s.failedRequests.push(`${r.url()} (${r.failure()?.errorText})`));
  s.page.on('response', (r) => {
    if (r.status() >= 400) s.failedRequests.push(`${r.url()} (HTTP ${r.status()})`);
  });

  await s.page.goto(s.url, { waitUntil: 'load', timeout: 20_000 });
  await s.page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
}

async function tearDown() {
  try {
    if (s.browser) await s.browser.close();
  } catch (e) {
    console.error(`closing chromium: ${e.message}`);
  }
  if (s.server) await stopProcess(s.server.proc);
  if (s.tmp) fs.rmSync(s.tmp, { recursive: true, force: true });
}

/** data/atlas.json with version-2 binary references ({file, dtype, count}) replaced by plain arrays. */
function readAtlas(dir) {
  const atlas = JSON.parse(fs.readFileSync(path.join(dir, 'data', 'atlas.json'), 'utf8'));
  const types = { float32: Float32Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array };
  const load = (v) => {
    if (Array.isArray(v) || !v || typeof v.file !== 'string') return v;
    const buf = fs.readFileSync(path.join(dir, v.file));
    const T = types[v.dtype];
    assert.ok(T, `dtype ${v.dtype}`);
    assert.equal(buf.length, v.count * T.BYTES_PER_ELEMENT, `${v.file} size`);
    return Array.from(new T(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)));
  };
  for (const l of atlas.layouts) for (const k of ['x', 'y', 'cluster']) l[k] = load(l[k]);
  if (atlas.similar) atlas.similar.neighbors = load(atlas.similar.neighbors);
  return atlas;
}

/** Image i's similar images as the viewer should list them: row i of similar.neighbors, without padding, i itself and repeats. */
function expectedSimilar(i) {
  const sim = s.atlas.similar;
  if (!sim) return [];
  const out = [];
  for (const t of sim.neighbors.slice(i * sim.k, (i + 1) * sim.k)) if (t !== 0xffffffff && t !== i && !out.includes(t)) out.push(t);
  return out;
}

/** Clicks image i in a layout's map (at its current screen position) and waits for the detail panel to show it. */
async function openDetail(layoutId, i) {
  await s.page.waitForTimeout(50); // a relayout (the detail panel opening or closing) lands within a frame
  const p = await api(([l, j]) => window.__photoatlas.screenPositionOf(l, j), [layoutId, i]);
  assert.ok(p.inside, `image ${i} is outside the map ${layoutId}`);
  await s.page.mouse.click(p.x, p.y);
  await s.page.waitForFunction((j) => window.__photoatlas.detailImage() === j, i, { timeout: 5000 });
  await s.page.locator('[data-testid="detail"]').waitFor({ state: 'visible', timeout: 5000 });
}

async function closeDetail() {
  if ((await api(() => window.__photoatlas.detailImage())) === null) return;
  await s.page.click('[data-testid="detail-close"]');
  await s.page.waitForFunction(() => window.__photoatlas.detailImage() === null, null, { timeout: 5000 });
}

/** Yellow pixels (the ring around the photo in the detail panel) in a box around image i of a layout. */
async function yellowAround(layoutId, i) {
  const p = await api(([l, j]) => window.__photoatlas.screenPositionOf(l, j), [layoutId, i]);
  const patch = await canvasPatch(layoutId, p.x, p.y, await markerHalf(layoutId));
  let n = 0;
  for (let k = 0; k < patch.length; k += 4) if (patch[k] > 225 && patch[k + 1] > 185 && patch[k + 1] < 235 && patch[k + 2] < 110) n++;
  return n;
}

const api = (fn, ...args) => s.page.evaluate(fn, ...args);
const layoutIds = () => s.atlas.layouts.map((l) => l.id);

/** The image of a layout whose nearest neighbour on screen is farthest away: safe to hover. */
async function loneliestPoint(layoutId) {
  const pos = await api(
    ([id, n]) => Array.from({ length: n }, (_, i) => window.__photoatlas.screenPositionOf(id, i)),
    [layoutId, s.atlas.count],
  );
  let best = -1, bestD = -1;
  pos.forEach((p, i) => {
    if (!p.inside) return;
    let d = Infinity;
    pos.forEach((q, j) => {
      if (j !== i) d = Math.min(d, Math.hypot(p.x - q.x, p.y - q.y));
    });
    if (d > bestD) {
      bestD = d;
      best = i;
    }
  });
  return { index: best, pos: pos[best], gap: bestD };
}

/** RGBA bytes of a CSS-pixel box of a layout's canvas around (x, y) (client coordinates). The maps are
 *  WebGL canvases (preserveDrawingBuffer), read back through a 2D canvas. */
async function canvasPatch(layoutId, x, y, half = 12) {
  return api(
    ([id, x, y, half]) => {
      const c = document.querySelector(`canvas[data-testid="map-canvas"][data-layout="${id}"]`);
      const r = c.getBoundingClientRect();
      const k = c.width / r.width;
      const copy = document.createElement('canvas');
      copy.width = c.width;
      copy.height = c.height;
      const ctx = copy.getContext('2d');
      ctx.drawImage(c, 0, 0);
      const d = ctx.getImageData(Math.round((x - r.left - half) * k), Math.round((y - r.top - half) * k), Math.round(2 * half * k), Math.round(2 * half * k));
      return Array.from(d.data);
    },
    [layoutId, x, y, half],
  );
}

/** Half-size (CSS px) of a box that holds a point's marker and its hover outline (thumbnails are bigger than dots). */
async function markerHalf(layoutId) {
  const r = await api((l) => window.__photoatlas.rendering(l), layoutId);
  return Math.max(12, Math.ceil(r.spriteSize / 2) + 10);
}

/** Waits until no panel is moving between arrangements. */
async function settled(layoutId) {
  await s.page.waitForFunction((l) => !window.__photoatlas.arrangement(l).transitioning, layoutId, { timeout: 10_000 });
  await s.page.waitForTimeout(50);
}

describe('photoatlas viewer', { timeout: 420_000 }, () => {
  before(
    async () => {
      try {
        await setUp();
      } catch (e) {
        console.error(`FAIL setup: ${e.message}`);
        throw e;
      }
    },
    { timeout: 360_000 },
  );
  after(tearDown, { timeout: 30_000 });

  it('shows the title, the image count and one map panel per layout', async () => {
    const title = await s.page.textContent('[data-testid="title"]');
    assert.equal(title, s.atlas.title || 'photoatlas');
    const counts = await s.page.textContent('[data-testid="counts"]');
    assert.match(counts, new RegExp(`^${s.atlas.count} images?`));
    const canvases = await s.page.$$eval('canvas[data-testid="map-canvas"]', (cs) =>
      cs.map((c) => ({ id: c.dataset.layout, w: c.width, h: c.height, cw: c.clientWidth })),
    );
    assert.deepEqual(canvases.map((c) => c.id), layoutIds());
    for (const c of canvases) {
      assert.ok(c.cw > 200, `canvas ${c.id} is ${c.cw} CSS px wide`);
      assert.equal(c.w, c.cw * 2, 'backing store is CSS size x devicePixelRatio');
    }
    assert.equal(await api(() => window.__photoatlas.ready), true);
    assert.deepEqual(await api(() => window.__photoatlas.layouts), layoutIds());
    log(`${s.atlas.count} images, layouts: ${layoutIds().join(', ')}, clusters: ${s.atlas.layouts.map((l) => l.clusters.length).join(', ')}`);
    if (s.photos) {
      // Information only (the viewer test does not judge the pipeline): how well the clusters follow the colour families.
      const lay = s.atlas.layouts[0];
      const fam = (name) => FAMILIES.find((f) => name.startsWith(f));
      const byCluster = new Map();
      s.atlas.images.forEach((im, i) => {
        const c = lay.cluster[i];
        if (!byCluster.has(c)) byCluster.set(c, {});
        const m = byCluster.get(c);
        m[fam(im.name)] = (m[fam(im.name)] ?? 0) + 1;
      });
      log(`cluster composition (${lay.id}): ${JSON.stringify(Object.fromEntries(byCluster))}`);
    }
  });

  it('hovering a point shows the tooltip with its thumbnail, file name and cluster, and outlines it', async () => {
    const id = layoutIds()[0];
    const { index, pos, gap } = await loneliestPoint(id);
    assert.ok(index >= 0, 'no point inside the canvas');
    const half = await markerHalf(id);
    const before = await canvasPatch(id, pos.x, pos.y, half);
    await s.page.mouse.move(pos.x, pos.y);
    const tip = s.page.locator('[data-testid="tooltip"]');
    await tip.waitFor({ state: 'visible', timeout: 5000 });
    assert.equal(await api(() => window.__photoatlas.hoveredImage()), index, `hovered image (nearest gap ${gap.toFixed(1)} px)`);
    await s.page.waitForFunction(
      () => {
        const img = document.querySelector('[data-testid="tooltip-image"]');
        return img && img.complete && img.naturalWidth > 0;
      },
      null,
      { timeout: 5000 },
    );
    const image = s.atlas.images[index];
    assert.equal(await s.page.textContent('[data-testid="tooltip-name"]'), image.name);
    const lay = s.atlas.layouts[0];
    assert.equal(await s.page.textContent('[data-testid="tooltip-cluster"]'), lay.clusters[lay.cluster[index]].name);
    const src = await s.page.getAttribute('[data-testid="tooltip-image"]', 'src');
    assert.ok(src.endsWith(image.thumb), `tooltip image src ${src} ends with ${image.thumb}`);
    if (image.caption) assert.equal(await s.page.textContent('[data-testid="tooltip-caption"]'), image.caption);
    await s.page.waitForTimeout(100); // one animation frame for the outline
    const after = await canvasPatch(id, pos.x, pos.y, half);
    assert.notDeepEqual(after, before, 'the canvas around the hovered point did not change (no outline)');
    for (const other of layoutIds().slice(1)) {
      // Linked highlight: the same image is outlined in the other panel.
      const p = await api(([o, i]) => window.__photoatlas.screenPositionOf(o, i), [other, index]);
      const patch = await canvasPatch(other, p.x, p.y, await markerHalf(other));
      const white = patch.filter((v, k) => k % 4 === 0 && v > 240 && patch[k + 1] > 240 && patch[k + 2] > 240).length;
      assert.ok(white > 4, `image ${index} is not outlined in panel ${other}`);
    }
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const shot = path.join(ARTIFACTS, 'viewer-hover.png');
    await s.page.screenshot({ path: shot });
    log(`screenshot: ${shot}`);
  });

  it('moving off the points hides the tooltip', async () => {
    await s.page.mouse.move(3, 3);
    await s.page.locator('[data-testid="tooltip"]').waitFor({ state: 'hidden', timeout: 5000 });
    assert.equal(await api(() => window.__photoatlas.hoveredImage()), null);
  });

  it('clicking a legend entry highlights its cluster, clicking again clears it (and the keyboard works)', async () => {
    const id = layoutIds()[0];
    const entries = s.page.locator(`[data-testid="legend-entry"][data-layout="${id}"]`);
    assert.equal(await entries.count(), s.atlas.layouts[0].clusters.length);
    const entry = entries.nth(1);
    const cluster = Number(await entry.getAttribute('data-cluster'));
    assert.equal(await entry.evaluate((e) => e.tagName), 'BUTTON');
    assert.equal(await entry.getAttribute('aria-pressed'), 'false');
    await entry.click();
    assert.equal(await api((l) => window.__photoatlas.highlightedCluster(l), id), cluster);
    assert.equal(await entry.getAttribute('aria-pressed'), 'true');
    await fs.promises.mkdir(ARTIFACTS, { recursive: true });
    await s.page.screenshot({ path: path.join(ARTIFACTS, 'viewer-highlight.png') });
    await entry.click();
    assert.equal(await api((l) => window.__photoatlas.highlightedCluster(l), id), null);
    assert.equal(await entry.getAttribute('aria-pressed'), 'false');
    await entry.focus();
    await s.page.keyboard.press('Enter');
    assert.equal(await api((l) => window.__photoatlas.highlightedCluster(l), id), cluster);
    await s.page.keyboard.press('Space');
    assert.equal(await api((l) => window.__photoatlas.highlightedCluster(l), id), null);
  });

  it('wheel zooms around the cursor, dragging pans, "Reset view" restores the fitted view', async () => {
    const id = layoutIds()[0];
    const box = await s.page.locator(`canvas[data-testid="map-canvas"][data-layout="${id}"]`).boundingBox();
    const cx = box.x + box.width * 0.4, cy = box.y + box.height * 0.6;
    const v0 = await api((l) => window.__photoatlas.view(l), id);
    await s.page.mouse.move(cx, cy);
    await s.page.mouse.wheel(0, -400);
    await s.page.waitForFunction(([l, z]) => window.__photoatlas.view(l).zoom > z * 1.2, [id, v0.zoom], { timeout: 5000 });
    const v1 = await api((l) => window.__photoatlas.view(l), id);
    // the data point under the cursor stays under the cursor
    const local = (v) => [(cx - box.x - v.tx) / v.scale, (v.ty - (cy - box.y)) / v.scale];
    const [ax, ay] = local(v0), [bx, by] = local(v1);
    assert.ok(Math.abs(ax - bx) * v1.scale < 1 && Math.abs(ay - by) * v1.scale < 1, 'zoom is not centred on the cursor');
    await s.page.mouse.move(cx, cy);
    await s.page.mouse.down();
    await s.page.mouse.move(cx + 60, cy + 30, { steps: 5 });
    await s.page.mouse.up();
    const v2 = await api((l) => window.__photoatlas.view(l), id);
    assert.ok(Math.abs(v2.tx - v1.tx - 60) < 1 && Math.abs(v2.ty - v1.ty - 30) < 1, `pan moved by ${v2.tx - v1.tx}, ${v2.ty - v1.ty}`);
    await s.page.click(`[data-testid="reset-view"][data-layout="${id}"]`);
    const v3 = await api((l) => window.__photoatlas.view(l), id);
    assert.ok(Math.abs(v3.zoom - 1) < 1e-9 && Math.abs(v3.tx - v0.tx) < 1e-6 && Math.abs(v3.ty - v0.ty) < 1e-6, 'reset view');
  });

  it('a window resize re-lays out the maps, every point stays inside', async () => {
    const before = await s.page.$$eval('canvas[data-testid="map-canvas"]', (cs) => cs.map((c) => c.clientWidth));
    await s.page.setViewportSize({ width: 900, height: 640 });
    await s.page.waitForFunction(
      (w) => [...document.querySelectorAll('canvas[data-testid="map-canvas"]')].every((c, i) => c.clientWidth < w[i] && c.width === c.clientWidth * 2),
      before,
      { timeout: 5000 },
    );
    for (const id of layoutIds()) {
      const inside = await api(
        ([l, n]) => Array.from({ length: n }, (_, i) => window.__photoatlas.screenPositionOf(l, i).inside),
        [id, s.atlas.count],
      );
      assert.ok(inside.every(Boolean), `some points of ${id} are outside the canvas after resize`);
    }
    await s.page.setViewportSize(VIEWPORT);
  });

  it('page text from the data is text, never markup', async () => {
    // No element was created from data: the title element has no children, captions stay literal.
    assert.equal(await s.page.$eval('[data-testid="title"]', (e) => e.childElementCount), 0);
    assert.equal(await s.page.$$eval('[data-testid="tooltip"] img', (l) => l.length), 1);
    assert.ok(!(await s.page.title()).includes('pwned'));
  });

  it('renders with WebGL; thumbnails drawn in the map (sprite sheets in version 2) and larger ones near the camera', async () => {
    const id = layoutIds()[0];
    const r = await api((l) => window.__photoatlas.rendering(l), id);
    assert.equal(r.kind, 'webgl2', 'renderer');
    log(`rendering ${JSON.stringify(r)}`);
    if (s.atlas.count <= 100 && r.spriteSize > 0) {
      await s.page.waitForFunction((l) => window.__photoatlas.rendering(l).lodLoaded > 0, id, { timeout: 10_000 });
    }
    if (FIXTURE) {
      await s.page.waitForFunction((l) => window.__photoatlas.rendering(l).sheets >= 1, id, { timeout: 10_000 });
      assert.ok(r.spriteSize > 0, 'a small atlas shows thumbnails at the fitted zoom');
    }
    // zoomed far out the thumbnails give way to points and the larger thumbnails are released
    const canvas = s.page.locator(`canvas[data-testid="map-canvas"][data-layout="${id}"]`);
    await canvas.focus();
    for (let k = 0; k < 8; k++) await s.page.keyboard.press('-');
    await s.page.waitForFunction((l) => window.__photoatlas.rendering(l).lodWanted === 0, id, { timeout: 5000 });
    const far = await api((l) => window.__photoatlas.rendering(l), id);
    assert.ok(far.spriteSize < r.spriteSize || r.spriteSize === 0, `sprite size ${far.spriteSize} after zooming out from ${r.spriteSize}`);
    await s.page.click(`[data-testid="reset-view"][data-layout="${id}"]`);
  });

  it('search highlights the images whose name, caption or labels match, as text', async () => {
    const box = s.page.locator('[data-testid="search"]');
    assert.equal(await box.getAttribute('type'), 'search');
    const target = s.atlas.images[0];
    const term = target.name.slice(0, Math.min(6, target.name.length)).toLowerCase();
    const expected = s.atlas.images
      .map((im, i) => [im, i])
      .filter(([im]) => [im.name, im.path, im.caption ?? '', im.class ?? '', im.category ?? '', (im.tags ?? []).join(' '), ...(im.objects ?? []).map((o) => o[0])].join('\n').toLowerCase().includes(term))
      .map(([, i]) => i);
    await box.fill(term);
    await box.press('Enter');
    assert.deepEqual(await api(() => window.__photoatlas.searchMatches()), expected);
    assert.match(await s.page.textContent('[data-testid="search-count"]'), new RegExp(`^${expected.length} match`));
    await s.page.screenshot({ path: path.join(ARTIFACTS, 'viewer-search.png') });
    if (FIXTURE) {
      await box.fill('<b>not bold</b>');
      await box.press('Enter');
      const bold = s.atlas.images.flatMap((im, i) => (im.caption?.includes('<b>not bold</b>') ? [i] : []));
      assert.ok(bold.length > 0);
      assert.deepEqual(await api(() => window.__photoatlas.searchMatches()), bold, 'markup in a query is matched as text');
      await box.fill('landscape seashore');
      await box.press('Enter');
      const labelled = s.atlas.images.flatMap((im, i) => (im.category === 'landscape' && im.class === 'seashore' ? [i] : []));
      assert.ok(labelled.length > 0);
      assert.deepEqual(await api(() => window.__photoatlas.searchMatches()), labelled, 'classes and categories are searched');
    }
    await box.fill('zzz-no-such-photo');
    await box.press('Enter');
    assert.deepEqual(await api(() => window.__photoatlas.searchMatches()), []);
    await box.press('Escape');
    assert.equal(await api(() => window.__photoatlas.searchMatches()), null);
    assert.equal(await s.page.textContent('[data-testid="search-count"]'), '');
  });

  it('a caption with a script tag shows as text and does not run', async () => {
    const idx = s.atlas.images.findIndex((im) => im.caption?.includes('<script>'));
    if (idx < 0) {
      log('no caption with a script tag in this atlas (the CLI reads no captions from plain files): checked with the fixture');
      return;
    }
    const id = layoutIds()[0];
    const p = await api(([l, i]) => window.__photoatlas.screenPositionOf(l, i), [id, idx]);
    await s.page.mouse.move(p.x, p.y);
    await s.page.waitForFunction((i) => window.__photoatlas.hoveredImage() === i, idx, { timeout: 5000 });
    const cap = s.page.locator('[data-testid="tooltip-caption"]');
    assert.equal(await cap.textContent(), s.atlas.images[idx].caption);
    assert.equal(await cap.evaluate((e) => e.childElementCount), 0, 'the caption became markup');
    assert.equal(await s.page.$$eval('script', (l) => l.filter((x) => x.textContent.includes('__pwned')).length), 0);
    assert.equal(await api(() => window.__pwned), undefined, 'the script ran');
    assert.ok(!(await s.page.title()).includes('pwned'));
    // the same caption in the detail panel, and the other texts with markup (a category, a camera, a class name)
    await openDetail(id, idx);
    const dcap = s.page.locator('[data-testid="detail-caption"]');
    assert.equal(await dcap.textContent(), s.atlas.images[idx].caption);
    assert.equal(await dcap.evaluate((e) => e.childElementCount), 0, 'the caption became markup in the detail panel');
    const marked = s.atlas.images.findIndex((im) => im.camera?.includes('<img'));
    if (marked >= 0) {
      await closeDetail();
      await openDetail(id, marked);
      assert.equal(await s.page.textContent('[data-testid="detail-camera"]'), s.atlas.images[marked].camera);
    }
    const withMarkupCategory = s.atlas.images.findIndex((im) => im.category?.includes('<b>') && im.top_classes?.some(([c]) => c.includes('<script>')));
    if (withMarkupCategory >= 0) {
      await closeDetail();
      await openDetail(id, withMarkupCategory);
      const im = s.atlas.images[withMarkupCategory];
      assert.equal(await s.page.textContent('[data-testid="detail-category"]'), im.category);
      assert.ok((await s.page.textContent('[data-testid="detail-classes"]')).includes('<script>alert(1)</script>'));
    }
    // no element made from data: the only images in the panel are the photo and the thumbnail buttons'
    const imgs = await s.page.$$eval('[data-testid="detail"] img', (l) => l.length);
    const buttons = await s.page.$$eval('[data-testid="detail"] .thumb-button', (l) => l.length);
    assert.equal(imgs, 1 + buttons, 'an <img> from the data in the detail panel');
    assert.equal(await s.page.$$eval('[data-testid="detail"] script, [data-testid="detail"] b', (l) => l.length), 0);
    assert.equal(await api(() => window.__pwned), undefined, 'a script from the data ran');
    assert.ok(!(await s.page.title()).includes('pwned'));
    await closeDetail();
    await s.page.mouse.move(3, 3);
  });

  it('clicking a photo opens the detail panel: larger thumbnail, metadata, clusters, similar images; Esc closes it', async () => {
    const id = layoutIds()[0];
    await s.page.click(`[data-testid="reset-view"][data-layout="${id}"]`);
    const { index } = await loneliestPoint(id);
    const canvas = s.page.locator(`canvas[data-testid="map-canvas"][data-layout="${id}"]`);
    await openDetail(id, index);
    const im = s.atlas.images[index];
    const panel = s.page.locator('[data-testid="detail"]');
    assert.equal(await panel.getAttribute('role'), 'dialog');
    assert.equal(await s.page.textContent('[data-testid="detail-name"]'), im.name);
    assert.equal(await s.page.textContent('[data-testid="detail-path"]'), im.path || im.name);
    const src = await s.page.getAttribute('[data-testid="detail-image"]', 'src');
    assert.ok(src.endsWith(im.thumb ?? `thumbs/${im.id}.jpg`), `detail image ${src}`);
    await s.page.waitForFunction(() => {
      const img = document.querySelector('[data-testid="detail-image"]');
      return img && img.complete && img.naturalWidth > 0;
    }, null, { timeout: 5000 });
    if (im.caption) assert.equal(await s.page.textContent('[data-testid="detail-caption"]'), im.caption);
    if (im.taken_at) assert.ok((await s.page.textContent('[data-testid="detail-date"]')).startsWith(im.taken_at.slice(0, 10)));
    // the cluster in every layout
    const clusters = await s.page.$$eval('[data-testid="detail-cluster"]', (l) => l.map((e) => [e.dataset.layout, Number(e.dataset.cluster), e.textContent]));
    assert.deepEqual(clusters.map(([l, c]) => [l, c]), s.atlas.layouts.map((l) => [l.id, l.cluster[index]]));
    clusters.forEach(([, , text], k) => {
      const l = s.atlas.layouts[k];
      assert.ok(text.includes(l.clusters[l.cluster[index]].name), `cluster name in ${text}`);
    });
    // focus moved into the panel
    assert.equal(await api(() => !!document.activeElement?.closest('[data-testid="detail"]')), true, 'focus is in the detail panel');
    // similar images: row `index` of similar.neighbors, nearest first
    const sim = expectedSimilar(index);
    if (s.atlas.similar) {
      assert.ok(sim.length > 0, 'the fixture has neighbours');
      const got = await s.page.$$eval('[data-testid="similar-item"]', (l) => l.map((e) => Number(e.dataset.index)));
      assert.deepEqual(got, sim);
      await s.page.waitForFunction(() => [...document.querySelectorAll('[data-testid="similar-item"] img')].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 5000 });
    } else {
      log('this atlas has no "similar" (the CLI does not write it yet): similar images checked with the fixture');
      assert.equal(await s.page.locator('[data-testid="similar-item"]').count(), 0);
    }
    // the photo is outlined in yellow in every map (pointer away, so no hover outline over it)
    await s.page.mouse.move(3, 3);
    await s.page.waitForTimeout(100);
    const rings = [];
    for (const l of layoutIds()) rings.push(await yellowAround(l, index));
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await s.page.screenshot({ path: path.join(ARTIFACTS, 'viewer-detail.png') });
    // Esc closes it, focus goes back to the map
    await s.page.keyboard.press('Escape');
    await panel.waitFor({ state: 'hidden', timeout: 5000 });
    assert.equal(await api(() => window.__photoatlas.detailImage()), null);
    assert.equal(await canvas.evaluate((c) => c === document.activeElement), true, 'focus returned to the map');
    await s.page.waitForTimeout(100);
    for (const [k, l] of layoutIds().entries()) {
      const after = await yellowAround(l, index);
      assert.ok(rings[k] > after + 4, `image ${index} is not outlined in yellow in ${l} while its details show (${rings[k]} vs ${after} yellow px)`);
    }
    // keyboard: Enter on the map opens the photo nearest the middle, Esc on the map closes it
    await canvas.focus();
    await s.page.keyboard.press('Enter');
    await panel.waitFor({ state: 'visible', timeout: 5000 });
    assert.notEqual(await api(() => window.__photoatlas.detailImage()), null);
    await canvas.focus();
    await s.page.keyboard.press('Escape');
    await panel.waitFor({ state: 'hidden', timeout: 5000 });
  });

  it('clicking a similar image (mouse or keyboard) switches the panel and centres the maps on it', async () => {
    if (!s.atlas.similar) {
      log('skipped: no "similar" in this atlas (checked with the fixture)');
      return;
    }
    const id = layoutIds()[0];
    const { index } = await loneliestPoint(id);
    await openDetail(id, index);
    const sim = expectedSimilar(index);
    const target = sim[0];
    await s.page.click(`[data-testid="similar-item"][data-index="${target}"]`);
    await s.page.waitForFunction((j) => window.__photoatlas.detailImage() === j, target, { timeout: 5000 });
    assert.equal(await s.page.textContent('[data-testid="detail-name"]'), s.atlas.images[target].name);
    assert.deepEqual(await s.page.$$eval('[data-testid="similar-item"]', (l) => l.map((e) => Number(e.dataset.index))), expectedSimilar(target));
    await s.page.waitForTimeout(600); // the maps glide (0.35 s)
    for (const l of layoutIds()) {
      const p = await api(([a, j]) => window.__photoatlas.screenPositionOf(a, j), [l, target]);
      const box = await s.page.locator(`canvas[data-testid="map-canvas"][data-layout="${l}"]`).boundingBox();
      assert.ok(Math.abs(p.x - (box.x + box.width / 2)) < 2 && Math.abs(p.y - (box.y + box.height / 2)) < 2, `image ${target} is not centred in ${l}`);
    }
    await s.page.screenshot({ path: path.join(ARTIFACTS, 'viewer-similar.png') });
    // keyboard: Tab reaches the thumbnails, Enter opens one
    const next = expectedSimilar(target)[1] ?? expectedSimilar(target)[0];
    await s.page.focus(`[data-testid="similar-item"][data-index="${next}"]`);
    await s.page.keyboard.press('Enter');
    await s.page.waitForFunction((j) => window.__photoatlas.detailImage() === j, next, { timeout: 5000 });
    assert.equal(await api(() => document.activeElement?.id), 'detail-title', 'focus stays in the panel (on its title)');
    await closeDetail();
    for (const l of layoutIds()) await s.page.click(`[data-testid="reset-view"][data-layout="${l}"]`);
  });

  it('cluster legend entries show the cluster\'s representative photo (medoid)', async () => {
    for (const lay of s.atlas.layouts) {
      const withMedoid = lay.clusters.filter((c) => Number.isInteger(c.medoid));
      const thumbs = await s.page.$$eval(`[data-testid="legend-entry"][data-layout="${lay.id}"]`, (l) =>
        l.map((e) => e.querySelector('[data-testid="legend-thumb"]')?.getAttribute('src') ?? null),
      );
      if (withMedoid.length === 0) {
        log(`layout ${lay.id}: no medoids in this atlas`);
        assert.ok(thumbs.every((t) => t === null));
        continue;
      }
      lay.clusters.forEach((c, k) => {
        if (!Number.isInteger(c.medoid)) return assert.equal(thumbs[k], null);
        const im = s.atlas.images[c.medoid];
        assert.ok(thumbs[k]?.endsWith(im.thumb ?? `thumbs/${im.id}.jpg`), `legend photo of ${lay.id}/${k}: ${thumbs[k]}`);
      });
      await s.page.waitForFunction(
        (l) => [...document.querySelectorAll(`[data-testid="legend-entry"][data-layout="${l}"] img`)].every((i) => i.complete && i.naturalWidth > 0),
        lay.id,
        { timeout: 5000 },
      );
    }
  });

  it('the category legend highlights the photos of a category, like a cluster legend entry', async () => {
    const cats = [...new Set(s.atlas.images.map((im) => im.category).filter(Boolean))];
    const legend = s.page.locator('[data-testid="category-legend"]');
    if (cats.length === 0) {
      log('no categories in this atlas (no classifier ran): category legend checked with the fixture');
      assert.equal(await legend.count(), 0);
      return;
    }
    const entries = s.page.locator('[data-testid="category-entry"]');
    assert.equal(await entries.count(), cats.length);
    const names = await entries.evaluateAll((l) => l.map((e) => e.dataset.category));
    const size = (c) => s.atlas.images.filter((im) => im.category === c).length;
    assert.deepEqual([...names].sort(), [...cats].sort());
    for (let k = 1; k < names.length; k++) assert.ok(size(names[k - 1]) >= size(names[k]), 'most frequent first');
    // a category with markup in its name is text
    for (let k = 0; k < names.length; k++) {
      assert.equal(await entries.nth(k).locator('.legend-name').textContent(), names[k]);
      assert.equal(await entries.nth(k).locator('.legend-name').evaluate((e) => e.childElementCount), 0);
    }
    const entry = entries.nth(names.length > 1 ? 1 : 0);
    const name = await entry.getAttribute('data-category');
    const members = s.atlas.images.flatMap((im, i) => (im.category === name ? [i] : []));
    assert.equal(await entry.evaluate((e) => e.tagName), 'BUTTON');
    assert.equal(await entry.getAttribute('aria-pressed'), 'false');
    await entry.click();
    assert.equal(await entry.getAttribute('aria-pressed'), 'true');
    assert.equal(await api(() => window.__photoatlas.highlightedCategory()), name);
    assert.deepEqual(await api(() => window.__photoatlas.emphasized()), members);
    await s.page.waitForTimeout(100);
    await s.page.screenshot({ path: path.join(ARTIFACTS, 'viewer-category.png') });
    // the hover tooltip shows class, category and tags of a member
    const id = layoutIds()[0];
    const m = members[0];
    const p = await api(([l, i]) => window.__photoatlas.screenPositionOf(l, i), [id, m]);
    await s.page.mouse.move(p.x, p.y);
    await s.page.waitForFunction((i) => window.__photoatlas.hoveredImage() === i, m, { timeout: 5000 });
    const labels = await s.page.textContent('[data-testid="tooltip-labels"]');
    const im = s.atlas.images[m];
    assert.ok(labels.includes(im.category), `tooltip labels "${labels}"`);
    if (im.class) assert.ok(labels.includes(im.class));
    for (const t of im.tags ?? []) assert.ok(labels.includes(`#${t}`));
    await s.page.mouse.move(3, 3);
    // again: cleared; keyboard works; the detail panel's category button highlights too
    await entry.click();
    assert.equal(await api(() => window.__photoatlas.highlightedCategory()), null);
    assert.equal(await api(() => window.__photoatlas.emphasized()), null);
    assert.equal(await entry.getAttribute('aria-pressed'), 'false');
    await entry.focus();
    await s.page.keyboard.press('Enter');
    assert.equal(await api(() => window.__photoatlas.highlightedCategory()), name);
    await s.page.keyboard.press('Space');
    assert.equal(await api(() => window.__photoatlas.highlightedCategory()), null);
    await openDetail(id, m);
    await s.page.click('[data-testid="detail-category"]');
    assert.equal(await api(() => window.__photoatlas.highlightedCategory()), name);
    await entry.click();
    await closeDetail();
  });

  it('object tags: the Objects legend keeps the photos with a label bright; hover, detail panel and search show them', async () => {
    const tagged = s.atlas.images.flatMap((im, i) => (im.objects?.length ? [i] : []));
    const legend = s.page.locator('[data-testid="object-legend"]');
    if (tagged.length === 0) {
      log(`no object tags in this atlas (${s.atlas.objects ? 'nothing found in the drawn photos' : 'no detector'}): objects checked with the fixture`);
      assert.equal(await legend.count(), 0);
      return;
    }
    const members = (label) => s.atlas.images.flatMap((im, i) => (im.objects?.some((o) => o[0] === label) ? [i] : []));
    const labels = [...new Set(tagged.flatMap((i) => s.atlas.images[i].objects.map((o) => o[0])))];
    const entries = s.page.locator('[data-testid="object-entry"]');
    assert.equal(await entries.count(), labels.length);
    const names = await entries.evaluateAll((l) => l.map((e) => e.dataset.object));
    assert.deepEqual([...names].sort(), [...labels].sort());
    for (let k = 1; k < names.length; k++) assert.ok(members(names[k - 1]).length >= members(names[k]).length, 'most frequent first');
    for (let k = 0; k < names.length; k++) {
      assert.equal(await entries.nth(k).locator('.legend-name').textContent(), names[k]);
      assert.equal(await entries.nth(k).locator('.legend-name').evaluate((e) => e.childElementCount), 0);
    }
    const entry = entries.nth(0);
    const name = names[0];
    await entry.click();
    assert.equal(await entry.getAttribute('aria-pressed'), 'true');
    assert.equal(await api(() => window.__photoatlas.highlightedObject()), name);
    assert.deepEqual(await api(() => window.__photoatlas.emphasized()), members(name));
    await s.page.waitForTimeout(100);
    await s.page.screenshot({ path: path.join(ARTIFACTS, 'viewer-objects.png') });
    // hover: "person ×3, bicycle"
    const id = layoutIds()[0];
    const m = members(name)[0];
    const p = await api(([l, i]) => window.__photoatlas.screenPositionOf(l, i), [id, m]);
    await s.page.mouse.move(p.x, p.y);
    await s.page.waitForFunction((i) => window.__photoatlas.hoveredImage() === i, m, { timeout: 5000 });
    const text = await s.page.textContent('[data-testid="tooltip-labels"]');
    for (const [label, count] of s.atlas.images[m].objects) assert.ok(text.includes(count > 1 ? `${label} ×${count}` : label), `tooltip "${text}"`);
    await s.page.mouse.move(3, 3);
    await entry.click();
    assert.equal(await api(() => window.__photoatlas.highlightedObject()), null);
    assert.equal(await api(() => window.__photoatlas.emphasized()), null);
    // detail panel: one chip per label; a click sets the same filter
    await openDetail(id, m);
    const chips = s.page.locator('[data-testid="detail-object"]');
    assert.equal(await chips.count(), s.atlas.images[m].objects.length);
    await chips.first().click();
    assert.equal(await api(() => window.__photoatlas.highlightedObject()), s.atlas.images[m].objects[0][0]);
    await closeDetail();
    await s.page.locator(`[data-testid="object-entry"][data-object="${s.atlas.images[m].objects[0][0]}"]`).click();
    assert.equal(await api(() => window.__photoatlas.highlightedObject()), null);
    // search finds photos by object label
    await s.page.fill('[data-testid="search"]', name);
    await s.page.waitForFunction(() => window.__photoatlas.searchMatches() !== null, null, { timeout: 5000 });
    const found = await api(() => window.__photoatlas.searchMatches());
    for (const i of members(name)) assert.ok(found.includes(i), `search "${name}" finds image ${i}`);
    await s.page.fill('[data-testid="search"]', '');
    await s.page.waitForFunction(() => window.__photoatlas.searchMatches() === null, null, { timeout: 5000 });
  });

  it('near-duplicates: the toggle keeps only grouped photos bright, the detail panel lists the group', async () => {
    const groups = s.atlas.duplicate_groups ?? [];
    const toggle = s.page.locator('[data-testid="duplicates-toggle"]');
    if (groups.length === 0) {
      log('no duplicate_groups in this atlas: near-duplicates checked with the fixture');
      assert.equal(await toggle.count(), 0);
      return;
    }
    assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
    await toggle.focus();
    await s.page.keyboard.press('Enter');
    assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
    assert.equal(await api(() => window.__photoatlas.duplicatesOnly()), true);
    const members = groups.flat().sort((a, b) => a - b);
    assert.deepEqual(await api(() => window.__photoatlas.emphasized()), members);
    // the filter combines with search (AND)
    const box = s.page.locator('[data-testid="search"]');
    const term = s.atlas.images[members[0]].name;
    await box.fill(term);
    await box.press('Enter');
    const both = members.filter((i) => s.atlas.images[i].name.toLowerCase().includes(term.toLowerCase()));
    assert.deepEqual(await api(() => window.__photoatlas.emphasized()), both);
    await box.press('Escape');
    await s.page.waitForTimeout(100);
    await s.page.screenshot({ path: path.join(ARTIFACTS, 'viewer-duplicates.png') });
    const id = layoutIds()[0];
    const group = groups.find((g) => g.length > 2) ?? groups[0];
    await openDetail(id, group[0]);
    const listed = await s.page.$$eval('[data-testid="duplicate-item"]', (l) => l.map((e) => Number(e.dataset.index)));
    assert.deepEqual(listed, group.slice(1));
    await s.page.screenshot({ path: path.join(ARTIFACTS, 'viewer-detail-duplicates.png') });
    await s.page.click(`[data-testid="duplicate-item"][data-index="${group[1]}"]`);
    await s.page.waitForFunction((j) => window.__photoatlas.detailImage() === j, group[1], { timeout: 5000 });
    assert.deepEqual(await s.page.$$eval('[data-testid="duplicate-item"]', (l) => l.map((e) => Number(e.dataset.index))), group.filter((j) => j !== group[1]));
    // a photo outside every group has no near-duplicates section
    const lone = s.atlas.images.findIndex((_, i) => !members.includes(i));
    await closeDetail();
    await toggle.click();
    assert.equal(await api(() => window.__photoatlas.duplicatesOnly()), false);
    assert.equal(await api(() => window.__photoatlas.emphasized()), null);
    for (const l of layoutIds()) await s.page.click(`[data-testid="reset-view"][data-layout="${l}"]`);
    await openDetail(id, lone);
    assert.equal(await s.page.locator('[data-testid="duplicates"]').count(), 0);
    await closeDetail();
  });

  it('lasso selects the points inside, lists them, and exports their paths as CSV and JSON', async () => {
    const id = layoutIds()[0];
    const toggle = s.page.locator(`[data-testid="lasso-toggle"][data-layout="${id}"]`);
    await toggle.focus();
    await s.page.keyboard.press('Enter'); // keyboard reachable
    assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
    const box = await s.page.locator(`canvas[data-testid="map-canvas"][data-layout="${id}"]`).boundingBox();
    // a triangle over the left-hand 2/3 of the map
    const poly = [
      [box.x + 4, box.y + 4],
      [box.x + box.width * 0.66, box.y + 4],
      [box.x + 4, box.y + box.height - 4],
    ];
    const pos = await api(([l, n]) => Array.from({ length: n }, (_, i) => window.__photoatlas.screenPositionOf(l, i)), [id, s.atlas.count]);
    const inside = (x, y) => {
      let c = false;
      for (let a = 0, b = poly.length - 1; a < poly.length; b = a++) {
        const [ax, ay] = poly[a], [bx, by] = poly[b];
        if (ay > y !== by > y && x < ((bx - ax) * (y - ay)) / (by - ay) + ax) c = !c;
      }
      return c;
    };
    const expected = pos.flatMap((p, i) => (inside(p.x, p.y) ? [i] : []));
    assert.ok(expected.length > 0 && expected.length < s.atlas.count, `a lasso that holds some points (${expected.length})`);
    await s.page.mouse.move(...poly[0]);
    await s.page.mouse.down();
    for (const [a, b] of [[poly[0], poly[1]], [poly[1], poly[2]], [poly[2], poly[0]]]) {
      for (let k = 1; k <= 10; k++) await s.page.mouse.move(a[0] + ((b[0] - a[0]) * k) / 10, a[1] + ((b[1] - a[1]) * k) / 10);
    }
    await s.page.mouse.up();
    const got = await api(() => window.__photoatlas.selection());
    // points on the lasso's edge may fall either way (the drawn polygon is sampled)
    const diff = expected.filter((i) => !got.includes(i)).length + got.filter((i) => !expected.includes(i)).length;
    assert.ok(diff <= 1, `selection ${JSON.stringify(got)} vs expected ${JSON.stringify(expected)}`);
    assert.equal(await s.page.textContent('[data-testid="selection-count"]'), `${got.length} selected`);
    const names = await s.page.$$eval('[data-testid="selection-list"] li', (l) => l.map((e) => e.textContent));
    assert.deepEqual(names, got.map((i) => s.atlas.images[i].name));
    await s.page.screenshot({ path: path.join(ARTIFACTS, 'viewer-lasso.png') });

    const [csvDl] = await Promise.all([s.page.waitForEvent('download'), s.page.click('[data-testid="export-csv"]')]);
    const csv = fs.readFileSync(await csvDl.path(), 'utf8').trim().split(/\r?\n/);
    assert.equal(csv[0], 'path,name,id');
    assert.equal(csv.length, got.length + 1);
    const unquote = (f) => (f.startsWith('"') ? f.slice(1, -1).replace(/""/g, '"').replace(/^'(?=[=+\-@])/, '') : f);
    const firstField = (line) => (line.startsWith('"') ? line.match(/^"((?:[^"]|"")*)"/)[0] : line.split(',')[0]);
    assert.deepEqual(csv.slice(1).map((l) => unquote(firstField(l))), got.map((i) => s.atlas.images[i].path));
    const [jsonDl] = await Promise.all([s.page.waitForEvent('download'), s.page.click('[data-testid="export-json"]')]);
    const json = JSON.parse(fs.readFileSync(await jsonDl.path(), 'utf8'));
    assert.equal(json.count, got.length);
    assert.deepEqual(json.images.map((im) => im.path), got.map((i) => s.atlas.images[i].path));

    await s.page.click('[data-testid="clear-selection"]');
    assert.deepEqual(await api(() => window.__photoatlas.selection()), []);
    assert.equal(await s.page.locator('[data-testid="selection"]').isHidden(), true);
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
  });

  it('switching the arrangement animates the points to a grid and back; hover works there', async () => {
    const id = layoutIds()[0];
    const info = await api((l) => window.__photoatlas.arrangement(l), id);
    assert.equal(info.current, id);
    assert.ok(info.available.includes('grid'));
    assert.deepEqual(info.available.slice(0, layoutIds().length), layoutIds());
    if (s.atlas.images.some((im) => im.taken_at)) assert.ok(info.available.includes('timeline'), 'timeline offered when dates exist');
    const at = () => api(([l, n]) => Array.from({ length: n }, (_, i) => window.__photoatlas.screenPositionOf(l, i)), [id, s.atlas.count]);
    const start = await at();
    const grid = s.page.locator(`[data-testid="arrange"][data-layout="${id}"][data-arrangement="grid"]`);
    await grid.focus();
    await s.page.keyboard.press('Enter');
    await s.page.waitForTimeout(120);
    const mid = await api((l) => window.__photoatlas.arrangement(l), id);
    assert.equal(mid.current, 'grid');
    assert.equal(mid.transitioning, true, 'the switch is animated');
    await settled(id);
    assert.equal(await grid.getAttribute('aria-pressed'), 'true');
    const g = await at();
    assert.ok(g.every((p) => p.inside), 'grid inside the map');
    const xs = new Set(g.map((p) => Math.round(p.x))), ys = new Set(g.map((p) => Math.round(p.y)));
    const side = Math.ceil(Math.sqrt(s.atlas.count));
    assert.ok(xs.size <= side && ys.size <= Math.ceil(s.atlas.count / side), `grid has ${xs.size} columns, ${ys.size} rows`);
    await s.page.screenshot({ path: path.join(ARTIFACTS, 'viewer-grid.png') });
    // hover on the grid
    await s.page.mouse.move(g[0].x, g[0].y);
    await s.page.waitForFunction(() => window.__photoatlas.hoveredImage() === 0, null, { timeout: 5000 });
    await s.page.mouse.move(3, 3);
    if (info.available.includes('timeline')) {
      await s.page.click(`[data-testid="arrange"][data-layout="${id}"][data-arrangement="timeline"]`);
      await settled(id);
      assert.equal((await api((l) => window.__photoatlas.arrangement(l), id)).current, 'timeline');
      assert.ok((await at()).every((p) => p.inside), 'timeline inside the map');
      await s.page.screenshot({ path: path.join(ARTIFACTS, 'viewer-timeline.png') });
    }
    await s.page.click(`[data-testid="arrange"][data-layout="${id}"][data-arrangement="${id}"]`);
    await settled(id);
    const back = await at();
    back.forEach((p, i) => assert.ok(Math.abs(p.x - start[i].x) < 0.5 && Math.abs(p.y - start[i].y) < 0.5, `point ${i} back in place`));
  });

  it('no console errors, page errors or failed requests', async () => {
    await s.page.waitForTimeout(200);
    const shot = path.join(ARTIFACTS, 'viewer.png');
    await s.page.screenshot({ path: shot });
    log(`screenshot: ${shot}`);
    assert.deepEqual(s.pageErrors, [], 'page errors');
    assert.deepEqual(s.consoleErrors, [], 'console errors');
    assert.deepEqual(s.failedRequests, [], 'failed requests');
  });
});
