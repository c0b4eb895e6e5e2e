import { describe, expect, it } from 'vitest';
import { ViewTransform, dataBounds, fitView, wheelZoomFactor } from '../src/view';

describe('view transform', () => {
  it('fits data bounds into the panel with margins, centred, aspect kept, y up', () => {
    const b = dataBounds([-1, 1, 0], [-0.5, 0.5, 0]);
    const f = fitView(b, 600, 400, 20);
    // x span 2 -> 560 px available; y span 1 -> 360 px: x limits
    expect(f.scale).toBeCloseTo(280);
    const v = new ViewTransform();
    v.set(f);
    expect(v.toScreenX(-1)).toBeCloseTo(20);
    expect(v.toScreenX(1)).toBeCloseTo(580);
    expect(v.toScreenY(0)).toBeCloseTo(200);
    expect(v.toScreenY(0.5)).toBeLessThan(v.toScreenY(-0.5)); // y up
    expect(v.toDataX(v.toScreenX(0.37))).toBeCloseTo(0.37);
    expect(v.toDataY(v.toScreenY(-0.21))).toBeCloseTo(-0.21);
  });

  it('gives a single point a sensible scale', () => {
    const f = fitView(dataBounds([0.2], [0.2]), 400, 300, 10);
    expect(Number.isFinite(f.scale)).toBe(true);
    expect(f.scale).toBeCloseTo(140);
    const v = new ViewTransform();
    v.set(f);
    expect(v.toScreenX(0.2)).toBeCloseTo(200);
    expect(v.toScreenY(0.2)).toBeCloseTo(150);
  });

  it('zooms around the cursor and clamps the zoom', () => {
    const v = new ViewTransform();
    v.set(fitView(dataBounds([-1, 1], [-1, 1]), 500, 500, 0));
    v.fitScale = v.scale;
    const dx = v.toDataX(100), dy = v.toDataY(320);
    v.zoomAt(100, 320, 3);
    expect(v.zoom).toBeCloseTo(3);
    expect(v.toScreenX(dx)).toBeCloseTo(100);
    expect(v.toScreenY(dy)).toBeCloseTo(320);
    v.zoomAt(0, 0, 1e9);
    expect(v.zoom).toBeCloseTo(v.maxZoom);
    v.zoomAt(0, 0, 1e-12);
    expect(v.zoom).toBeCloseTo(v.minZoom);
  });

  it('pans in screen pixels', () => {
    const v = new ViewTransform();
    v.set({ scale: 100, tx: 50, ty: 50 });
    v.panBy(10, -5);
    expect(v.toScreenX(0)).toBe(60);
    expect(v.toScreenY(0)).toBe(45);
  });

  it('keeps the centre and relative zoom on resize', () => {
    const b = dataBounds([-1, 1], [-1, 1]);
    const v = new ViewTransform();
    const f1 = fitView(b, 400, 400, 0);
    v.fitScale = f1.scale;
    v.set(f1);
    v.zoomAt(300, 100, 2);
    const cx = v.toDataX(200), cy = v.toDataY(200);
    const f2 = fitView(b, 800, 600, 0);
    v.resize(400, 400, f2, 800, 600);
    expect(v.zoom).toBeCloseTo(2);
    expect(v.toScreenX(cx)).toBeCloseTo(400);
    expect(v.toScreenY(cy)).toBeCloseTo(300);
  });

  it('maps wheel deltas to zoom factors', () => {
    expect(wheelZoomFactor(-100, 0)).toBeGreaterThan(1.1);
    expect(wheelZoomFactor(100, 0)).toBeLessThan(0.9);
    expect(wheelZoomFactor(-100, 0) * wheelZoomFactor(100, 0)).toBeCloseTo(1);
    expect(wheelZoomFactor(-3, 1)).toBeCloseTo(wheelZoomFactor(-99, 0));
    expect(wheelZoomFactor(-1e6, 0)).toBeLessThan(2); // clamped
  });
});
