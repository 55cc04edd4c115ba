import type { Kysely } from 'kysely';
import type { AlbumCreate, AlbumDelete, AlbumMembers, AlbumUpdate } from '../oplog/op.js';
import type { Schema } from '../storage/metadata/schema.js';
import type { AlbumRepository } from './album.repository.js';
import { applyAlbumOp, emptyAlbum } from './core/album-state.js';

export type AlbumBody = AlbumCreate | AlbumUpdate | AlbumDelete | AlbumMembers;

/** Folds one album operation into the store, inside the transaction that logged it. */
export async function applyAlbum(
  trx: Kysely<Schema>,
  albums: AlbumRepository,
  body: AlbumBody,
  hlc: string,
): Promise<void> {
  if (body.kind === 'album.add' || body.kind === 'album.remove') {
    await albums.setMembers(trx, body.id, body.pictures, body.kind === 'album.add', hlc);
    return;
  }
  const stored = await albums.get(trx, body.id, true);
  await albums.save(trx, applyAlbumOp(stored ?? emptyAlbum(body.id), body, hlc));
}
