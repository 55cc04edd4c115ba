/**
 * The picture library's services, for the composition root (node.ts): pictures (with their
 * photo facts and thumbnails), albums, share links and the trash, over one replica state.
 */
import type { Logger } from 'pino';
import { AlbumService } from '../albums/album.service.js';
import type { BlobStore } from '../blobs/blob-store.js';
import type { ReplicaState } from '../oplog/replica-state.js';
import type { DecodeLimiter } from '../pictures/images.js';
import { Thumbnails } from '../pictures/images.js';
import { GalleryJsonRepository } from '../pictures/gallery-json.repository.js';
import { PictureFactsRepository } from '../pictures/picture-facts.repository.js';
import { PictureFactsService } from '../pictures/picture-facts.service.js';
import { PictureService } from '../pictures/picture.service.js';
import { TrashService } from '../pictures/trash.service.js';
import { ShareService } from '../shares/share.service.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';

export interface LibraryDeps {
  readonly store: MetadataStore;
  readonly state: ReplicaState;
  readonly blobs: BlobStore;
  readonly decodes: DecodeLimiter;
  readonly nodeName: string;
  readonly trashRetentionMs: number;
  /** Blobs an upload in this process has just committed (see PictureService). */
  readonly justStored: Set<string>;
  /** A picture whose bytes are missing: restore or fetch them (BlobSync, made later). */
  readonly repairBytes: (id: string) => void;
  readonly log: Logger;
}

export function openLibrary(deps: LibraryDeps) {
  const { state, blobs, log } = deps;
  const { changes } = state;
  const thumbs = new Thumbnails(blobs, deps.decodes);
  // Photo facts: derived from the bytes at each node, never an operation (see there).
  const facts = new PictureFactsService({
    facts: new PictureFactsRepository(deps.store),
    blobs,
    log,
  });
  const pictures = new PictureService({
    facts,
    pictures: state.pictures,
    blobs,
    thumbs,
    changes,
    nodeName: deps.nodeName,
    log,
    justStored: deps.justStored,
    repairBytes: deps.repairBytes,
    pages: new GalleryJsonRepository(deps.store),
  });
  const pictureOf = (id: string) => pictures.get(id);
  const albums = new AlbumService({ albums: state.albums, changes, picture: pictureOf });
  const shares = new ShareService({
    shares: state.shares,
    albums: state.albums,
    changes,
    picture: pictureOf,
  });
  const trash = new TrashService({
    trash: state.trash,
    changes,
    blobs,
    thumbs,
    retentionMs: deps.trashRetentionMs,
    // After a restore it committed: a failure to move the bytes is retried, not answered.
    settleBytes: (id) => pictures.settleAfterCommit(id),
    log,
  });
  return { thumbs, facts, pictures, albums, shares, trash };
}
