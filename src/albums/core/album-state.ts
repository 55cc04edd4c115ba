/**
 * The replicated state of one album and the pure merge rules that build it from operations.
 * Like a picture (pictures/picture.state.ts), the whole state is a join semilattice: applying
 * the same operations in any order, any number of times, gives the same state.
 *
 * Rules (docs/architecture.md, "Convergence rules for albums"):
 * - owner and creation time come from the create with the lowest HLC;
 * - name, description and cover are separate last-writer-wins registers (highest HLC);
 * - delete vs edit, as for pictures: the album is alive when its newest create/edit HLC is
 *   higher than its newest delete HLC;
 * - membership is one last-writer-wins register per (album, picture): the add or remove with
 *   the highest HLC decides whether the picture is in the album. A concurrent add at one node
 *   and remove at another converge to whichever was stamped later (HLCs are total: the node id
 *   breaks ties), at every node. A remove only ever takes out the pictures it names.
 */
import { compareHlc } from '../../core/hlc.js';
import type { AlbumCreate, AlbumDelete, AlbumMembers, AlbumUpdate } from '../../oplog/op.js';

export interface Register {
  readonly value: string;
  readonly hlc: string;
}

export interface AlbumInfo {
  readonly owner: string;
  readonly createdAt: number;
}

export interface AlbumState {
  readonly id: string;
  readonly info: AlbumInfo | null;
  readonly infoHlc: string | null;
  readonly name: Register | null;
  readonly desc: Register | null;
  readonly cover: Register | null;
  readonly liveHlc: string | null;
  readonly deletedHlc: string | null;
}

/** Whether one picture is in one album, and the HLC of the add or remove that says so. */
export interface Membership {
  readonly present: boolean;
  readonly hlc: string;
}

export type AlbumOp = AlbumCreate | AlbumUpdate | AlbumDelete;

export function emptyAlbum(id: string): AlbumState {
  return {
    id,
    info: null,
    infoHlc: null,
    name: null,
    desc: null,
    cover: null,
    liveHlc: null,
    deletedHlc: null,
  };
}

export function applyAlbumOp(state: AlbumState, op: AlbumOp, hlc: string): AlbumState {
  switch (op.kind) {
    case 'album.create': {
      const first = state.infoHlc === null || compareHlc(hlc, state.infoHlc) < 0;
      return {
        ...state,
        info: first ? { owner: op.owner, createdAt: op.createdAt } : state.info,
        infoHlc: first ? hlc : state.infoHlc,
        name: lww(state.name, op.name, hlc),
        desc: lww(state.desc, op.desc, hlc),
        liveHlc: later(state.liveHlc, hlc),
      };
    }
    case 'album.update':
      return {
        ...state,
        name: op.name === undefined ? state.name : lww(state.name, op.name, hlc),
        desc: op.desc === undefined ? state.desc : lww(state.desc, op.desc, hlc),
        cover: op.cover === undefined ? state.cover : lww(state.cover, op.cover, hlc),
        liveHlc: later(state.liveHlc, hlc),
      };
    case 'album.delete':
      return { ...state, deletedHlc: later(state.deletedHlc, hlc) };
  }
}

export function isAlbumAlive(state: AlbumState): boolean {
  if (state.info === null || state.liveHlc === null) return false;
  return state.deletedHlc === null || compareHlc(state.liveHlc, state.deletedHlc) > 0;
}

/**
 * The membership after an add or remove stamped `hlc`: the later of the two. The repository
 * does the same in one conditional upsert (`WHERE excluded.hlc > album_pictures.hlc`).
 */
export function mergeMembership(
  current: Membership | null,
  present: boolean,
  hlc: string,
): Membership {
  return current !== null && compareHlc(current.hlc, hlc) >= 0 ? current : { present, hlc };
}

/** Folds an add or remove into a map of picture id → membership (for one album). */
export function applyMembers(
  members: ReadonlyMap<string, Membership>,
  op: AlbumMembers,
  hlc: string,
): Map<string, Membership> {
  const next = new Map(members);
  for (const picture of op.pictures) {
    next.set(picture, mergeMembership(next.get(picture) ?? null, op.kind === 'album.add', hlc));
  }
  return next;
}

function lww(current: Register | null, value: string, hlc: string): Register {
  return current !== null && compareHlc(current.hlc, hlc) >= 0 ? current : { value, hlc };
}

function later(a: string | null, b: string): string {
  return a !== null && compareHlc(a, b) >= 0 ? a : b;
}
