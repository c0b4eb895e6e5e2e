// The data contract: docs/atlas-format.md, data/atlas.json version 1.
// Keep these types in step with that document.

export interface AtlasImage {
  id: string;
  name: string;
  path: string;
  /** Relative URL (to the atlas root) of a small JPEG. */
  thumb: string;
  width: number;
  height: number;
  taken_at?: string;
  /** Untrusted text: render with textContent only. */
  caption?: string;
}

export interface AtlasCluster {
  /** Equals its index in `clusters` (the value used in `cluster`). */
  id: number;
  name: string;
  size: number;
}

export interface AtlasLayout {
  id: string;
  name: string;
  features: string;
  /** Coordinates scaled into [-1, 1], aspect kept. */
  x: number[];
  y: number[];
  /** Label per image, an index into `clusters`. */
  cluster: number[];
  clusters: AtlasCluster[];
}

export interface Atlas {
  format: 'photoatlas';
  version: number;
  title: string;
  created?: string;
  count: number;
  images: AtlasImage[];
  layouts: AtlasLayout[];
}

/** A layout in the form the viewer draws from: typed arrays, one entry per image. */
export interface LayoutData {
  id: string;
  name: string;
  features: string;
  x: Float32Array;
  y: Float32Array;
  cluster: Uint32Array;
  clusters: AtlasCluster[];
}
