// Helpers shared by the browser test and the fixture maker: Debian's chromium via
// playwright-core, test photos drawn on a canvas, free ports, and child-process servers.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..');
export const CHROMIUM = process.env.PHOTOATLAS_CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches chromium (playwright gives it a fresh temporary --user-data-dir and removes it on close). */
export async function launchChromium() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`chromium not found at ${CHROMIUM} (apt-get install chromium, or set PHOTOATLAS_CHROMIUM)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

export const FAMILIES = ['red', 'green', 'blue'];

/**
 * Draws `n` small photos in three colour families (reds, greens, blues with noise and shapes)
 * on a canvas in the browser and returns them as [{name, family, format, bytes, width, height}].
 * Deterministic for a given seed.
 */
export async function drawPhotos(page, { n = 30, seed = 1, formats = ['jpeg', 'png'] } = {}) {
  const list = await page.evaluate(
    ({ n, seed, formats }) => {
      let s = seed >>> 0;
      const rnd = () => {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        return s / 4294967296;
      };
      const hues = [2, 125, 218]; // red, green, blue
      const sizes = [
        [160, 120],
        [120, 160],
        [144, 144],
        [180, 120],
      ];
      const out = [];
      for (let i = 0; i < n; i++) {
        const fam = i % 3;
        const [w, h] = sizes[Math.floor(rnd() * sizes.length)];
        const c = document.createElement('canvas');
        c.width = w;
        c.height = h;
        const g = c.getContext('2d');
        const hue = hues[fam] + (rnd() - 0.5) * 24;
        const grad = g.createLinearGradient(0, 0, w * rnd(), h);
        grad.addColorStop(0, `hsl(${hue} ${65 + rnd() * 25}% ${30 + rnd() * 20}%)`);
        grad.addColorStop(1, `hsl(${hue + (rnd() - 0.5) * 20} ${55 + rnd() * 30}% ${45 + rnd() * 20}%)`);
        g.fillStyle = grad;
        g.fillRect(0, 0, w, h);
        const shapes = 3 + Math.floor(rnd() * 5);
        for (let k = 0; k < shapes; k++) {
          g.fillStyle = `hsla(${hue + (rnd() - 0.5) * 30} ${50 + rnd() * 50}% ${20 + rnd() * 60}% / ${0.4 + rnd() * 0.5})`;
          if (rnd() < 0.5) {
            g.beginPath();
            g.arc(rnd() * w, rnd() * h, 6 + rnd() * w * 0.3, 0, Math.PI * 2);
            g.fill();
          } else {
            g.fillRect(rnd() * w, rnd() * h, 10 + rnd() * w * 0.4, 10 + rnd() * h * 0.4);
          }
        }
        const img = g.getImageData(0, 0, w, h);
        const d = img.data;
        for (let p = 0; p < d.length; p += 4) {
          const e = (rnd() - 0.5) * 30;
          d[p] = Math.max(0, Math.min(255, d[p] + e));
          d[p + 1] = Math.max(0, Math.min(255, d[p + 1] + e));
          d[p + 2] = Math.max(0, Math.min(255, d[p + 2] + e));
        }
        g.putImageData(img, 0, 0);
        const format = formats[i % formats.length];
        const url = c.toDataURL(`image/${format}`, 0.9);
        out.push({ i, fam, format, w, h, url });
      }
      return out;
    },
    { n, seed, formats },
  );
  return list.map(({ i, fam, format, w, h, url }) => {
    const family = FAMILIES[fam];
    const ext = format === 'jpeg' ? 'jpg' : 'png';
    const name = `${family}-${String(Math.floor(i / 3) + 1).padStart(2, '0')}.${ext}`;
    const bytes = Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
    return { name, family, format, bytes, width: w, height: h };
  });
}

export function writePhotos(dir, photos) {
  fs.mkdirSync(dir, { recursive: true });
  for (const p of photos) fs.writeFileSync(path.join(dir, p.name), p.bytes);
}

export function contentId(bytes) {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
    sock.setTimeout(1000, () => {
      sock.destroy();
      resolve(false);
    });
  });
}

/**
 * Starts a server process and waits until `port` accepts connections (or the process exits,
 * or `timeoutMs` passes). Returns {proc, output(): string, url: string|null}.
 */
export async function startServer(cmd, args, port, { timeoutMs = 20_000, cwd } = {}) {
  const proc = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let url = null;
  const onData = (d) => {
    out += d.toString();
    if (!url) {
      const m = out.match(/https?:\/\/[^\s"'<>]+/);
      if (m) url = m[0];
    }
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  let exited = null;
  proc.on('exit', (code, signal) => (exited = { code, signal }));
  proc.on('error', (e) => (exited = { error: e }));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      throw new Error(`${cmd} ${args.join(' ')} exited before serving (${JSON.stringify(exited)}):\n${out}`);
    }
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      await stopProcess(proc);
      throw new Error(`${cmd} ${args.join(' ')}: port ${port} not accepting connections after ${timeoutMs / 1000} s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proc, output: () => out, get url() { return url; } };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
export function stopProcess(proc, graceMs = 3000) {
  return new Promise((resolve) => {
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return resolve();
    const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    proc.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

/** Copies a directory tree (used for web/dist -> atlas folder). */
export function copyDir(src, dst) {
  fs.cpSync(src, dst, { recursive: true });
}
