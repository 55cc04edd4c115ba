/**
 * The replicated state of one picture and the pure merge rules that build it from operations.
 *
 * Every field is a last-writer-wins register keyed by HLC, and the whole state is a join
 * semilattice: applying operations in any order, any number of times, gives the same state.
 *
 * Rules (the same on every node; see docs/architecture.md "Convergence"):
 * - title, category and desc each converge to the value written with the highest HLC, so
 *   concurrent edits of different fields both survive;
 * - the immutable info (type, size, dimensions, owner, origin, creation time) comes from the
 *   create with the lowest HLC: the first upload of those bytes;
 * - delete vs edit: the picture is alive when its newest create/edit HLC is higher than its
 *   newest delete HLC. A delete hides every edit that happened before it (in HLC order); an edit
 *   or a re-upload after it brings the picture back. Ties cannot happen: HLCs carry the node id.
 * - restore (from the trash) is an edit that changes no field: ordered after the delete, it
 *   brings the picture back with the fields it had.
 */
import { compareHlc } from '../core/hlc.js';
import type { PictureCreate, PictureDelete, PictureRestore, PictureUpdate } from '../oplog/op.js';

export interface Register {
  readonly value: string;
  readonly hlc: string;
}

export interface PictureInfo {
  readonly contentType: string;
  readonly size: number;
  readonly width: number;
  readonly height: number;
  readonly owner: string;
  readonly originName: string;
  readonly createdAt: number;
}

export interface PictureState {
  readonly id: string;
  /** Known once a create was applied; null while only edits or deletes arrived. */
  readonly info: PictureInfo | null;
  readonly infoHlc: string | null;
  readonly title: Register | null;
  readonly category: Register | null;
  readonly desc: Register | null;
  /** Highest HLC of any create or edit. */
  readonly liveHlc: string | null;
  /** Highest HLC of any delete. */
  readonly deletedHlc: string | null;
}

export type PictureOp = PictureCreate | PictureUpdate | PictureDelete | PictureRestore;

export function emptyPicture(id: string): PictureState {
  return {
    id,
    info: null,
    infoHlc: null,
    title: null,
    category: null,
    desc: null,
    liveHlc: null,
    deletedHlc: null,
  };
}

export function applyPictureOp(state: PictureState, op: PictureOp, hlc: string): PictureState {
  switch (op.kind) {
    case 'picture.create': {
      const firstUpload = state.infoHlc === null || compareHlc(hlc, state.infoHlc) < 0;
      return {
        ...state,
        info: firstUpload ? infoOf(op) : state.info,
        infoHlc: firstUpload ? hlc : state.infoHlc,
        title: lww(state.title, op.title, hlc),
        category: lww(state.category, op.category, hlc),
        desc: lww(state.desc, op.desc, hlc),
        liveHlc: later(state.liveHlc, hlc),
      };
    }
    case 'picture.update':
      return {
        ...state,
        title: op.title === undefined ? state.title : lww(state.title, op.title, hlc),
        category:
          op.category === undefined ? state.category : lww(state.category, op.category, hlc),
        desc: op.desc === undefined ? state.desc : lww(state.desc, op.desc, hlc),
        liveHlc: later(state.liveHlc, hlc),
      };
    case 'picture.delete':
      return { ...state, deletedHlc: later(state.deletedHlc, hlc) };
    case 'picture.restore':
      return { ...state, liveHlc: later(state.liveHlc, hlc) };
  }
}

export function isAlive(state: PictureState): boolean {
  if (state.info === null || state.liveHlc === null) return false;
  return state.deletedHlc === null || compareHlc(state.liveHlc, state.deletedHlc) > 0;
}

/** The HLC of the newest change of any kind, for `updatedAt`. */
export function lastChangeHlc(state: PictureState): string | null {
  return state.deletedHlc === null ? state.liveHlc : later(state.liveHlc, state.deletedHlc);
}

function infoOf(op: PictureCreate): PictureInfo {
  return {
    contentType: op.contentType,
    size: op.size,
    width: op.width,
    height: op.height,
    owner: op.owner,
    originName: op.originName,
    createdAt: op.createdAt,
  };
}

function lww(current: Register | null, value: string, hlc: string): Register {
  return current !== null && compareHlc(current.hlc, hlc) >= 0 ? current : { value, hlc };
}

function later(a: string | null, b: string): string {
  return a !== null && compareHlc(a, b) >= 0 ? a : b;
}
