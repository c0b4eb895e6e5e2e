// The data contract: docs/atlas-format.md, data/atlas.json version 1 and 2.
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
  /** Optional labels (version 2): ImageNet class, ontology category, hashtags. Searched, shown as text. */
  class?: string;
  category?: string;
  tags?: string[];
  /** Optional (docs/atlas-format.md "Images: more optional fields"): post id, camera, [lat, lon], top-5 classes. */
  post?: string;
  camera?: string;
  gps?: [number, number];
  top_classes?: [string, number][];
  /** COCO object tags (docs/atlas-format.md "Object tags"): [label, count, best score], best first. */
  objects?: [string, number, number][];
}

export interface AtlasCluster {
  /** Equals its index in `clusters` (the value used in `cluster`). */
  id: number;
  name: string;
  size: number;
  /** Index of the cluster's most central image (a representative photo), when written. */
  medoid?: number;
  /** The group of images in no cluster (density clustering's noise); drawn grey. */
  unclustered?: boolean;
}

/** Version 2: a typed array in a binary file under data/ (little-endian, `count` entries). */
export interface ArrayRef {
  file: string;
  dtype: 'float32' | 'uint8' | 'uint16' | 'uint32';
  count: number;
}

export interface AtlasLayout {
  id: string;
  name: string;
  features: string;
  /** Coordinates scaled into [-1, 1], aspect kept (version 1: arrays; version 2: arrays or ArrayRef). */
  x: number[] | ArrayRef;
  y: number[] | ArrayRef;
  /** Label per image, an index into `clusters`. */
  cluster: number[] | ArrayRef;
  clusters: AtlasCluster[];
}

/** Thumbnails packed into sprite sheets (version 2, optional). */
export interface SpriteInfo {
  /** Cell side in px; image i's thumbnail is sizes[2i] x sizes[2i+1] px, centred in its cell. */
  cell: number;
  columns: number;
  perSheet: number;
  sheets: { url: string; width: number; height: number; first: number; count: number }[];
  /** count x (w, h); 0 x 0 = no thumbnail. */
  sizes: Uint8Array;
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

/** "No neighbour" in similar.neighbors (pads the rows of collections smaller than k + 1). */
export const NO_NEIGHBOR = 0xffffffff;

/** The k most similar images of every image (docs/atlas-format.md "Similar images"). */
export interface SimilarInfo {
  features: string;
  k: number;
  /** count * k image indices, row i = image i's neighbours nearest first; NO_NEIGHBOR pads. */
  neighbors: Uint32Array;
}

/** Near-duplicate groups (docs/atlas-format.md "Near-duplicates"), indexed both ways. */
export interface DuplicateInfo {
  /** Each group's image indices, ascending. */
  groups: Uint32Array[];
  /** Per image: its group's index in `groups`, or -1. */
  groupOf: Int32Array;
  /** Number of images in some group. */
  members: number;
}

/** The distinct `category` values of the images, most frequent first, and each image's index into them. */
export interface CategoryInfo {
  names: string[];
  sizes: number[];
  /** Per image: index into `names`, or NO_CATEGORY. */
  of: Uint32Array;
}

export const NO_CATEGORY = 0xffffffff;
