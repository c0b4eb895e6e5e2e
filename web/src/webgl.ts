// WebGL 2 renderer: every point is one vertex of a single gl.POINTS draw call, every thumbnail one
// instance of a textured quad (sprite sheets in one TEXTURE_2D_ARRAY, so all thumbnails are one
// instanced draw call too); larger level-of-detail thumbnails are a second, small array texture.
// Positions live on the GPU: pan/zoom change three uniforms, a layout transition one more (t),
// so a frame at 1M points uploads nothing.
//
// Library: twgl.js (https://twgljs.org). Why: it is a thin, maintained (v7, 2025) helper over
// raw WebGL — shader compilation with readable errors, uniform setters, texture creation — that
// adds ~40 kB and no scene graph. deck.gl and three.js are 10x the size and hide the buffers we
// want to own (instancing with per-sheet UVs, partial re-uploads of the emphasis mask); regl is
// no longer released (2.1, 2021). With twgl we keep exactly one draw call per kind of thing.
import * as twgl from 'twgl.js';
import { layoutClusterRgb } from './palette';
import { DIM_ALPHA, NORMAL_ALPHA, positionAt, type Renderer, type Scene } from './renderer';
import type { SpriteInfo } from './types';

const LOC = { corner: 0, from: 1, to: 2, cluster: 3, emph: 4, uv: 5, meta: 6 } as const;

const POINTS_VS = `#version 300 es
layout(location = 1) in vec2 a_from;
layout(location = 2) in vec2 a_to;
layout(location = 3) in uint a_cluster;
layout(location = 4) in float a_emph;
uniform vec3 u_view;      // scale, tx, ty (CSS px)
uniform vec2 u_canvas;    // CSS px
uniform float u_t;
uniform float u_size;     // diameter, device px
uniform float u_alpha;
uniform float u_dim;
uniform float u_on_min;   // while a filter is active: least diameter (device px) of the points it keeps
uniform sampler2D u_palette;
out vec4 v_color;
out float v_size;
void main() {
  vec2 p = mix(a_from, a_to, u_t);
  vec2 s = vec2(u_view.y + p.x * u_view.x, u_view.z - p.y * u_view.x);
  bool on = a_emph > 0.5;
  gl_Position = vec4(s.x / u_canvas.x * 2.0 - 1.0, 1.0 - s.y / u_canvas.y * 2.0, on ? 0.2 : 0.6, 1.0);
  v_size = on ? max(u_size, u_on_min) : u_size;
  gl_PointSize = v_size;
  vec3 c = texelFetch(u_palette, ivec2(int(a_cluster % 256u), int(a_cluster / 256u)), 0).rgb;
  // dimmed points go grey: at 100k+ points they pile up to full opacity, and only colour keeps the kept ones apart
  if (!on) c = vec3(dot(c, vec3(0.3, 0.59, 0.11)) * 0.55);
  float a = on ? u_alpha : u_dim;
  v_color = vec4(c * a, a);
}`;

const POINTS_FS = `#version 300 es
precision highp float;
in vec4 v_color;
in float v_size;
out vec4 o;
void main() {
  float u_size = v_size;
  if (u_size < 3.0) { o = v_color; return; }
  float r = length(gl_PointCoord * 2.0 - 1.0);
  float aa = 2.0 / u_size;
  float inside = 1.0 - smoothstep(1.0 - aa, 1.0, r);
  if (inside <= 0.0) discard;
  vec3 c = v_color.rgb;
  if (u_size >= 8.0) c = mix(c, vec3(0.04, 0.05, 0.06) * v_color.a, 0.5 * smoothstep(1.0 - 3.0 * aa, 1.0 - aa, r));
  o = vec4(c, v_color.a) * inside;
}`;

const QUADS_VS = `#version 300 es
layout(location = 0) in vec2 a_corner;
layout(location = 1) in vec2 a_from;
layout(location = 2) in vec2 a_to;
layout(location = 4) in float a_emph;
layout(location = 5) in vec4 a_uv;    // u0 v0 u1 v1
layout(location = 6) in vec3 a_meta;  // layer, width / cell, height / cell (0 = none)
uniform vec3 u_view;
uniform vec2 u_canvas;
uniform float u_t;
uniform float u_size;   // CSS px of a full cell
uniform float u_dim;
uniform float u_z;
out vec3 v_uv;
out float v_alpha;
void main() {
  if (a_meta.y <= 0.0) { gl_Position = vec4(2.0, 2.0, 2.0, 1.0); return; }
  vec2 p = mix(a_from, a_to, u_t);
  vec2 s = vec2(u_view.y + p.x * u_view.x, u_view.z - p.y * u_view.x);
  vec2 q = s + (a_corner - 0.5) * a_meta.yz * u_size;
  bool on = a_emph > 0.5;
  gl_Position = vec4(q.x / u_canvas.x * 2.0 - 1.0, 1.0 - q.y / u_canvas.y * 2.0, on ? u_z : u_z + 0.4, 1.0);
  v_uv = vec3(mix(a_uv.xy, a_uv.zw, a_corner), a_meta.x);
  v_alpha = on ? 1.0 : u_dim;
}`;

const QUADS_FS = `#version 300 es
precision highp float;
precision highp sampler2DArray;
in vec3 v_uv;
in float v_alpha;
uniform sampler2DArray u_tex;
out vec4 o;
void main() {
  vec4 c = texture(u_tex, v_uv);
  o = vec4(c.rgb * v_alpha, v_alpha);
}`;

const RING_VS = `#version 300 es
layout(location = 0) in vec2 a_corner;
uniform vec2 u_center;   // CSS px
uniform vec2 u_canvas;
uniform float u_size;    // device px
void main() {
  gl_Position = vec4(u_center.x / u_canvas.x * 2.0 - 1.0, 1.0 - u_center.y / u_canvas.y * 2.0, 0.0, 1.0);
  gl_PointSize = u_size + a_corner.x * 0.0;
}`;

const RING_FS = `#version 300 es
precision highp float;
uniform float u_size;
uniform float u_inner;   // radius (device px) of the filled dot / hole
uniform float u_square;
uniform float u_fill;
uniform vec3 u_color;
uniform vec3 u_band;     // the ring's middle band: white (hover), yellow (the photo in the detail panel)
out vec4 o;
void main() {
  vec2 c = (gl_PointCoord * 2.0 - 1.0) * u_size * 0.5;
  float r = u_square > 0.5 ? max(abs(c.x), abs(c.y)) : length(c);
  float R = u_size * 0.5;
  if (r > R) discard;
  if (r < u_inner) { if (u_fill > 0.5) { o = vec4(u_color, 1.0); return; } discard; }
  float band = (r - u_inner) / max(R - u_inner, 1.0);   // 0 inside edge .. 1 outside edge
  vec3 c3 = band > 0.3 && band < 0.75 ? u_band : vec3(0.0);
  o = vec4(c3, band > 0.3 && band < 0.75 ? 1.0 : 0.75);
}`;

const HOVER_BAND = [1, 1, 1] as const;
/** A filter that keeps at most this many points bright draws them at least 5 CSS px wide. */
const FEW_EMPHASISED = 2000;
const SELECTED_BAND = [1, 0.824, 0.247] as const; // --focus, #ffd23f

/** Most images whose larger thumbnails are on the GPU at once (each a 256 x 256 layer). */
export const LOD_SLOTS = 48;
export const LOD_SIDE = 256;
/** Sprite sheets are uploaded only when they fit in this many texels (per map): ~512 MB RGBA. */
export const SPRITE_TEXEL_BUDGET = 128 * 1024 * 1024;

export class WebGLRenderer implements Renderer {
  readonly kind = 'webgl2' as const;
  private readonly gl: WebGL2RenderingContext;
  private readonly points: twgl.ProgramInfo;
  private readonly quads: twgl.ProgramInfo;
  private readonly ring: twgl.ProgramInfo;
  private width = 1;
  private height = 1;
  private dpr = 1;
  private readonly maxPoint: number;

  private readonly bufTo: WebGLBuffer;
  private readonly bufFrom: WebGLBuffer;
  private readonly bufCluster: WebGLBuffer;
  private readonly bufEmph: WebGLBuffer;
  private readonly bufCorner: WebGLBuffer;
  private readonly pointsVao: WebGLVertexArrayObject;
  private readonly ringVao: WebGLVertexArrayObject;
  private uploadedTo: Float32Array | null = null;
  private uploadedFrom: Float32Array | null = null;
  private uploadedCluster: Uint32Array | null = null;
  private uploadedEmph = -1;
  private n = 0;
  private palette: WebGLTexture | null = null;
  private paletteKey = '';  // cluster count and unclustered group of the uploaded palette

  // sprites
  private sprites: SpriteInfo | null = null;
  private spriteTex: WebGLTexture | null = null;
  private spriteVao: WebGLVertexArrayObject | null = null;
  private sheetsLoaded = 0;
  // level of detail
  private readonly lodTex: WebGLTexture;
  private readonly lodVao: WebGLVertexArrayObject;
  private readonly lodPos: WebGLBuffer;
  private readonly lodUv: WebGLBuffer;
  private readonly lodMeta: WebGLBuffer;
  private readonly lodEmph: WebGLBuffer;
  private readonly lodSlotOf = new Map<TexImageSource, number>();
  private readonly lodSlotUsed: (TexImageSource | null)[] = new Array(LOD_SLOTS).fill(null);

  /** Throws when WebGL 2 is not available (the caller falls back to Canvas2DRenderer). */
  constructor(private readonly canvas: HTMLCanvasElement) {
    // preserveDrawingBuffer: the canvas can be read back (screenshots, tests); costs one copy a frame.
    const gl = canvas.getContext('webgl2', { alpha: true, antialias: false, depth: true, premultipliedAlpha: true, preserveDrawingBuffer: true });
    if (!gl) throw new Error('WebGL 2 is not available');
    this.gl = gl;
    const fail = (msg: string) => {
      throw new Error(`WebGL shader: ${msg}`);
    };
    this.points = twgl.createProgramInfo(gl, [POINTS_VS, POINTS_FS], fail);
    this.quads = twgl.createProgramInfo(gl, [QUADS_VS, QUADS_FS], fail);
    this.ring = twgl.createProgramInfo(gl, [RING_VS, RING_FS], fail);
    this.maxPoint = (gl.getParameter(gl.ALIASED_POINT_SIZE_RANGE) as Float32Array)[1] ?? 64;

    this.bufTo = gl.createBuffer()!;
    this.bufFrom = gl.createBuffer()!;
    this.bufCluster = gl.createBuffer()!;
    this.bufEmph = gl.createBuffer()!;
    this.bufCorner = twgl.createBufferFromTypedArray(gl, new Float32Array([0, 0, 1, 0, 0, 1, 1, 1]));

    this.pointsVao = gl.createVertexArray()!;
    gl.bindVertexArray(this.pointsVao);
    this.attrib(this.bufFrom, LOC.from, 2, gl.FLOAT, 0);
    this.attrib(this.bufTo, LOC.to, 2, gl.FLOAT, 0);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.bufCluster);
    gl.enableVertexAttribArray(LOC.cluster);
    gl.vertexAttribIPointer(LOC.cluster, 1, gl.UNSIGNED_INT, 0, 0);
    this.attrib(this.bufEmph, LOC.emph, 1, gl.UNSIGNED_BYTE, 0);

    this.ringVao = gl.createVertexArray()!;
    gl.bindVertexArray(this.ringVao);
    this.attrib(this.bufCorner, LOC.corner, 2, gl.FLOAT, 0);

    this.lodTex = gl.createTexture()!;
    gl.bindTexture(gl.TEXTURE_2D_ARRAY, this.lodTex);
    gl.texStorage3D(gl.TEXTURE_2D_ARRAY, 1, gl.RGBA8, LOD_SIDE, LOD_SIDE, LOD_SLOTS);
    this.texParams(gl.TEXTURE_2D_ARRAY);
    this.lodPos = gl.createBuffer()!;
    this.lodUv = gl.createBuffer()!;
    this.lodMeta = gl.createBuffer()!;
    this.lodEmph = gl.createBuffer()!;
    this.lodVao = gl.createVertexArray()!;
    gl.bindVertexArray(this.lodVao);
    this.attrib(this.bufCorner, LOC.corner, 2, gl.FLOAT, 0);
    this.attrib(this.lodPos, LOC.from, 2, gl.FLOAT, 1, 16, 0);
    this.attrib(this.lodPos, LOC.to, 2, gl.FLOAT, 1, 16, 8);
    this.attrib(this.lodEmph, LOC.emph, 1, gl.UNSIGNED_BYTE, 1);
    this.attrib(this.lodUv, LOC.uv, 4, gl.FLOAT, 1);
    this.attrib(this.lodMeta, LOC.meta, 3, gl.FLOAT, 1);
    gl.bindVertexArray(null);
  }

  get spriteSheetsLoaded(): number {
    return this.sheetsLoaded;
  }

  private attrib(buf: WebGLBuffer, loc: number, size: number, type: number, divisor: number, stride = 0, offset = 0): void {
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, buf);
    gl.enableVertexAttribArray(loc);
    gl.vertexAttribPointer(loc, size, type, false, stride, offset);
    gl.vertexAttribDivisor(loc, divisor);
  }

  private texParams(target: number): void {
    const gl = this.gl;
    gl.texParameteri(target, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
    gl.texParameteri(target, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
    gl.texParameteri(target, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(target, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  }

  resize(cssWidth: number, cssHeight: number, dpr: number): void {
    this.width = Math.max(1, cssWidth);
    this.height = Math.max(1, cssHeight);
    this.dpr = dpr;
    const w = Math.max(1, Math.round(cssWidth * dpr));
    const h = Math.max(1, Math.round(cssHeight * dpr));
    if (this.canvas.width !== w) this.canvas.width = w;
    if (this.canvas.height !== h) this.canvas.height = h;
  }

  setSpriteLayout(info: SpriteInfo): void {
    const gl = this.gl;
    const n = info.sizes.length / 2;
    const W = Math.max(1, ...info.sheets.map((s) => s.width));
    const H = Math.max(1, ...info.sheets.map((s) => s.height));
    if (info.sheets.length === 0 || W * H * info.sheets.length > SPRITE_TEXEL_BUDGET) return; // points + LOD only
    if (W > gl.getParameter(gl.MAX_TEXTURE_SIZE) || info.sheets.length > gl.getParameter(gl.MAX_ARRAY_TEXTURE_LAYERS)) return;
    this.sprites = info;
    this.spriteTex = gl.createTexture()!;
    gl.bindTexture(gl.TEXTURE_2D_ARRAY, this.spriteTex);
    gl.texStorage3D(gl.TEXTURE_2D_ARRAY, 1, gl.RGBA8, W, H, info.sheets.length);
    this.texParams(gl.TEXTURE_2D_ARRAY);
    // per image: uv rect (inset by half a texel) in the sheet, then layer and size in cells
    const uv = new Float32Array(4 * n);
    const meta = new Float32Array(3 * n);
    const { cell, columns } = info;
    info.sheets.forEach((sheet, layer) => {
      for (let k = 0; k < sheet.count && sheet.first + k < n; k++) {
        const i = sheet.first + k;
        const w = info.sizes[2 * i]!, h = info.sizes[2 * i + 1]!;
        if (!w || !h) continue;
        const x0 = (k % columns) * cell + Math.floor((cell - w) / 2);
        const y0 = Math.floor(k / columns) * cell + Math.floor((cell - h) / 2);
        uv[4 * i] = (x0 + 0.5) / W;
        uv[4 * i + 1] = (y0 + 0.5) / H;
        uv[4 * i + 2] = (x0 + w - 0.5) / W;
        uv[4 * i + 3] = (y0 + h - 0.5) / H;
        meta[3 * i] = layer;
        meta[3 * i + 1] = w / cell;
        meta[3 * i + 2] = h / cell;
      }
    });
    const bufUv = twgl.createBufferFromTypedArray(gl, uv);
    const bufMeta = twgl.createBufferFromTypedArray(gl, meta);
    this.spriteVao = gl.createVertexArray()!;
    gl.bindVertexArray(this.spriteVao);
    this.attrib(this.bufCorner, LOC.corner, 2, gl.FLOAT, 0);
    this.attrib(this.bufFrom, LOC.from, 2, gl.FLOAT, 1);
    this.attrib(this.bufTo, LOC.to, 2, gl.FLOAT, 1);
    this.attrib(this.bufEmph, LOC.emph, 1, gl.UNSIGNED_BYTE, 1);
    this.attrib(bufUv, LOC.uv, 4, gl.FLOAT, 1);
    this.attrib(bufMeta, LOC.meta, 3, gl.FLOAT, 1);
    gl.bindVertexArray(null);
  }

  /** Whether sprite sheets will be drawn (false: the atlas has none or they exceed the budget). */
  get usesSprites(): boolean {
    return this.sprites !== null;
  }

  addSpriteSheet(sheet: number, image: TexImageSource): void {
    if (!this.sprites || !this.spriteTex) return;
    const gl = this.gl;
    const s = this.sprites.sheets[sheet];
    if (!s) return;
    gl.bindTexture(gl.TEXTURE_2D_ARRAY, this.spriteTex);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.texSubImage3D(gl.TEXTURE_2D_ARRAY, 0, 0, 0, sheet, s.width, s.height, 1, gl.RGBA, gl.UNSIGNED_BYTE, image);
    this.sheetsLoaded++;
  }

  private upload(s: Scene): void {
    const gl = this.gl;
    const n = s.layout.x.length;
    if (n !== this.n) {
      this.n = n;
      this.uploadedTo = this.uploadedFrom = this.uploadedCluster = null;
      this.uploadedEmph = -1;
    }
    if (this.uploadedTo !== s.positions) {
      gl.bindBuffer(gl.ARRAY_BUFFER, this.bufTo);
      gl.bufferData(gl.ARRAY_BUFFER, s.positions, gl.DYNAMIC_DRAW);
      this.uploadedTo = s.positions;
    }
    if (this.uploadedFrom !== s.from) {
      gl.bindBuffer(gl.ARRAY_BUFFER, this.bufFrom);
      gl.bufferData(gl.ARRAY_BUFFER, s.from, gl.DYNAMIC_DRAW);
      this.uploadedFrom = s.from;
    }
    if (this.uploadedCluster !== s.layout.cluster) {
      gl.bindBuffer(gl.ARRAY_BUFFER, this.bufCluster);
      gl.bufferData(gl.ARRAY_BUFFER, s.layout.cluster, gl.STATIC_DRAW);
      this.uploadedCluster = s.layout.cluster;
    }
    if (this.uploadedEmph !== s.emphasisVersion) {
      gl.bindBuffer(gl.ARRAY_BUFFER, this.bufEmph);
      gl.bufferData(gl.ARRAY_BUFFER, s.emphasis ?? new Uint8Array(n).fill(1), gl.DYNAMIC_DRAW);
      this.uploadedEmph = s.emphasisVersion;
    }
    const k = s.layout.clusters.length;
    const paletteKey = `${k}:${s.layout.clusters.findIndex((c) => c.unclustered)}`;
    if (!this.palette || this.paletteKey !== paletteKey) {
      const rows = Math.max(1, Math.ceil(k / 256));
      const data = new Uint8Array(256 * rows * 4);
      for (let c = 0; c < k; c++) {
        const [r, g, b] = layoutClusterRgb(s.layout.clusters, c);
        data.set([r, g, b, 255], 4 * c);
      }
      if (this.palette) gl.deleteTexture(this.palette);
      this.palette = twgl.createTexture(gl, {
        width: 256,
        height: rows,
        src: data,
        min: gl.NEAREST,
        mag: gl.NEAREST,
        wrap: gl.CLAMP_TO_EDGE,
        auto: false,
      });
      this.paletteKey = paletteKey;
    }
  }

  draw(s: Scene): void {
    const gl = this.gl;
    this.upload(s);
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(0, 0, 0, 0);
    gl.clearDepth(1);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.enable(gl.DEPTH_TEST);
    gl.depthFunc(gl.LEQUAL);
    const common = {
      u_view: [s.view.scale, s.view.tx, s.view.ty],
      u_canvas: [this.width, this.height],
      u_t: s.t,
    };
    const n = this.n;
    const pointSize = Math.min(this.maxPoint, 2 * s.radius * this.dpr);
    if (n > 0) {
      gl.useProgram(this.points.program);
      twgl.setUniforms(this.points, {
        ...common,
        u_size: pointSize,
        u_alpha: s.emphasis ? 1 : NORMAL_ALPHA,
        u_dim: DIM_ALPHA,
        u_on_min: s.emphasis && s.emphasisCount <= FEW_EMPHASISED ? Math.min(this.maxPoint, 5 * this.dpr) : 0,
        u_palette: this.palette!,
      });
      gl.bindVertexArray(this.pointsVao);
      gl.drawArrays(gl.POINTS, 0, n);
    }
    const spritesOn = s.spriteSize > 0 && this.sprites !== null && this.sheetsLoaded > 0;
    if (spritesOn && n > 0) {
      gl.useProgram(this.quads.program);
      twgl.setUniforms(this.quads, { ...common, u_size: s.spriteSize, u_dim: 0.2, u_z: 0.1, u_tex: this.spriteTex! });
      gl.bindVertexArray(this.spriteVao);
      gl.drawArraysInstanced(gl.TRIANGLE_STRIP, 0, 4, n);
    }
    if (s.spriteSize > 0 && s.lod.length > 0) this.drawLod(s, common);
    gl.bindVertexArray(null);
    if (s.selected !== null && s.selected >= 0 && s.selected < n && s.selected !== s.hovered) {
      this.drawRing(s, s.selected, pointSize, spritesOn, SELECTED_BAND);
    }
    if (s.hovered !== null && s.hovered >= 0 && s.hovered < n) this.drawRing(s, s.hovered, pointSize, spritesOn, HOVER_BAND);
  }

  private lodSlot(image: TexImageSource, w: number, h: number): number {
    let slot = this.lodSlotOf.get(image);
    if (slot !== undefined) return slot;
    slot = this.lodSlotUsed.indexOf(null);
    if (slot < 0) return -1;
    const gl = this.gl;
    gl.bindTexture(gl.TEXTURE_2D_ARRAY, this.lodTex);
    gl.texSubImage3D(gl.TEXTURE_2D_ARRAY, 0, 0, 0, slot, Math.min(w, LOD_SIDE), Math.min(h, LOD_SIDE), 1, gl.RGBA, gl.UNSIGNED_BYTE, image);
    this.lodSlotOf.set(image, slot);
    this.lodSlotUsed[slot] = image;
    return slot;
  }

  /** Frees the GPU slots of LOD images no longer wanted. */
  private releaseLod(keep: ReadonlySet<TexImageSource>): void {
    for (const [img, slot] of this.lodSlotOf) {
      if (!keep.has(img)) {
        this.lodSlotOf.delete(img);
        this.lodSlotUsed[slot] = null;
      }
    }
  }

  /** Number of LOD thumbnails resident on the GPU. */
  get lodResident(): number {
    return this.lodSlotOf.size;
  }

  private drawLod(s: Scene, common: Record<string, unknown>): void {
    const gl = this.gl;
    const entries = s.lod.filter((e) => e.width > 0 && e.height > 0 && e.width <= LOD_SIDE && e.height <= LOD_SIDE).slice(0, LOD_SLOTS);
    this.releaseLod(new Set(entries.map((e) => e.image)));
    const m = entries.length;
    const pos = new Float32Array(4 * m), uv = new Float32Array(4 * m), meta = new Float32Array(3 * m);
    const emph = new Uint8Array(m);
    entries.forEach((e, k) => {
      const slot = this.lodSlot(e.image, e.width, e.height);
      const i = e.index;
      pos.set([s.from[2 * i]!, s.from[2 * i + 1]!, s.positions[2 * i]!, s.positions[2 * i + 1]!], 4 * k);
      uv.set([0.5 / LOD_SIDE, 0.5 / LOD_SIDE, (e.width - 0.5) / LOD_SIDE, (e.height - 0.5) / LOD_SIDE], 4 * k);
      const big = Math.max(e.width, e.height);
      meta.set([slot, slot < 0 ? 0 : e.width / big, e.height / big], 3 * k);
      emph[k] = s.emphasis ? s.emphasis[i]! : 1;
    });
    const put = (b: WebGLBuffer, d: ArrayBufferView) => {
      gl.bindBuffer(gl.ARRAY_BUFFER, b);
      gl.bufferData(gl.ARRAY_BUFFER, d, gl.DYNAMIC_DRAW);
    };
    put(this.lodPos, pos);
    put(this.lodUv, uv);
    put(this.lodMeta, meta);
    put(this.lodEmph, emph);
    gl.useProgram(this.quads.program);
    twgl.setUniforms(this.quads, { ...common, u_size: s.spriteSize, u_dim: 0.2, u_z: 0.05, u_tex: this.lodTex });
    gl.bindVertexArray(this.lodVao);
    gl.drawArraysInstanced(gl.TRIANGLE_STRIP, 0, 4, m);
  }

  private drawRing(s: Scene, i: number, pointSize: number, sprites: boolean, band: readonly number[]): void {
    const gl = this.gl;
    const [x, y] = positionAt(s, i);
    const cx = s.view.tx + x * s.view.scale, cy = s.view.ty - y * s.view.scale;
    const dot = Math.max(pointSize, 4 * this.dpr);
    const inner = sprites ? (s.spriteSize * this.dpr) / 2 : dot / 2;
    const size = Math.min(this.maxPoint, 2 * inner + 12 * this.dpr);
    gl.disable(gl.DEPTH_TEST);
    gl.useProgram(this.ring.program);
    twgl.setUniforms(this.ring, {
      u_center: [cx, cy],
      u_canvas: [this.width, this.height],
      u_size: size,
      u_inner: Math.min(inner, size / 2 - 4 * this.dpr),
      u_square: sprites ? 1 : 0,
      u_fill: sprites ? 0 : 1,
      u_color: layoutClusterRgb(s.layout.clusters, s.layout.cluster[i]!).map((v) => v / 255),
      u_band: band,
    });
    gl.bindVertexArray(this.ringVao);
    gl.drawArrays(gl.POINTS, 0, 1);
    gl.bindVertexArray(null);
  }
}
