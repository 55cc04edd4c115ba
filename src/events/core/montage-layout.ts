/**
 * The montage grid, pure: version v is photos 1..v (commit order) in a grid of
 * ceil(sqrt(v)) columns, each cell the same size, filled left to right, top to bottom.
 * Same input, same layout — so every site builds the same image for version v.
 */
export interface Cell {
  readonly index: number;
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

export interface Layout {
  readonly width: number;
  readonly height: number;
  readonly cells: readonly Cell[];
}

export const CELL_WIDTH = 480;
export const CELL_HEIGHT = 360;
export const GAP = 8;

export function montageLayout(count: number): Layout {
  if (count <= 0) return { width: 0, height: 0, cells: [] };
  const columns = Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / columns);
  const cells: Cell[] = [];
  for (let index = 0; index < count; index++) {
    const col = index % columns;
    const row = Math.floor(index / columns);
    cells.push({
      index,
      left: GAP + col * (CELL_WIDTH + GAP),
      top: GAP + row * (CELL_HEIGHT + GAP),
      width: CELL_WIDTH,
      height: CELL_HEIGHT,
    });
  }
  return {
    width: GAP + columns * (CELL_WIDTH + GAP),
    height: GAP + rows * (CELL_HEIGHT + GAP),
    cells,
  };
}
