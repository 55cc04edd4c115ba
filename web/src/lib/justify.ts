/**
 * The justified grid's geometry (rows that keep each picture's aspect ratio, as Google Photos
 * and Flickr lay them out), computed by Immich's layout library (@immich/justified-layout-wasm,
 * Rust compiled to WebAssembly, the one Immich's own timeline uses).
 */
import { JustifiedLayout } from '@immich/justified-layout-wasm';

export interface Box {
  readonly top: number;
  readonly left: number;
  readonly width: number;
  readonly height: number;
}

export interface Rows {
  readonly boxes: Box[];
  readonly height: number;
}

export interface RowOptions {
  /** The width to fill. */
  readonly width: number;
  /** The height rows aim for; a row grows by up to `heightTolerance` of it to fill the width. */
  readonly rowHeight: number;
  readonly spacing: number;
  readonly heightTolerance?: number;
}

/** Panoramas and slivers are cropped to these ratios (a 10:1 strip would make a row of one). */
export const MIN_ASPECT = 0.3;
export const MAX_ASPECT = 4;

export function aspectOf(width: number, height: number): number {
  if (!(width > 0) || !(height > 0)) return 1;
  return Math.min(MAX_ASPECT, Math.max(MIN_ASPECT, width / height));
}

export function justify(aspects: readonly number[], options: RowOptions): Rows {
  if (aspects.length === 0 || options.width <= 0) return { boxes: [], height: 0 };
  const layout = new JustifiedLayout(Float32Array.from(aspects), {
    rowWidth: options.width,
    rowHeight: options.rowHeight,
    spacing: options.spacing,
    heightTolerance: options.heightTolerance ?? 0.15,
  });
  const boxes = aspects.map((_, i) => {
    const { top, left, width, height } = layout.getPosition(i);
    return { top: top ?? 0, left: left ?? 0, width: width ?? 0, height: height ?? 0 };
  });
  return { boxes, height: layout.containerHeight ?? 0 };
}

/**
 * Rows for a gallery this wide: lower on a phone, so a row holds two to four pictures. The
 * tolerance lets a row grow until it fills the width: on a phone two portraits need 40 %
 * more than the target height, and a row left short looks broken (Google Photos fills them).
 */
export function rowOptionsFor(width: number): RowOptions {
  if (width < 600) return { width, rowHeight: 120, spacing: 3, heightTolerance: 0.4 };
  return { width, rowHeight: width < 1100 ? 180 : 220, spacing: 6, heightTolerance: 0.25 };
}
