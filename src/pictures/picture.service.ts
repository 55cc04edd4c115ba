import type { Logger } from 'pino';
import type { Principal } from '../accounts/principal.js';
import type { BlobStore, StagedBlob } from '../blobs/blob-store.js';
import { ForbiddenError, NotFoundError, UnavailableError } from '../core/errors.js';
import { Limiter } from '../core/limiter.js';
import type { ChangeLog } from '../oplog/change-log.js';
import { probeImage, type ImageInfo, type Thumbnails, type ThumbSize } from './images.js';
import {
  toPicture,
  type Picture,
  type PictureQuery,
  type PictureRepository,
  type StoredPicture,
} from './picture.repository.js';
import { isAlive } from './picture.state.js';

export interface PictureFields {
  readonly title: string;
  readonly category: string;
  readonly desc: string;
}

export type PicturePatch = Partial<PictureFields>;

export interface PictureServiceDeps {
  readonly pictures: PictureRepository;
  readonly blobs: BlobStore;
  readonly thumbs: Thumbnails;
  readonly changes: ChangeLog;
  readonly nodeName: string;
  readonly log: Logger;
  readonly now?: () => number;
  /** Asks for a picture's bytes to be put back where its state says (BlobSync.schedule). */
  readonly repairBytes?: (id: string) => void;
}

/** Upload, find, edit and delete pictures. Every method opens with its permission check. */
export class PictureService {
  private readonly now: () => number;
  private readonly background = new Limiter(1);

  constructor(private readonly deps: PictureServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Turns a staged upload into a picture. The staged file is always consumed: committed to the
   * blob store or discarded. Returns `created: false` when these bytes are already a picture.
   */
  async upload(
    principal: Principal,
    staged: StagedBlob,
    fields: PictureFields,
  ): Promise<{ picture: Picture; created: boolean }> {
    const { pictures, blobs, thumbs, changes } = this.deps;
    let image: ImageInfo;
    try {
      const existing = this.visible(pictures.get(staged.hash));
      if (existing) {
        await blobs.discard(staged);
        return { picture: existing, created: false };
      }
      image = await probeImage(staged.tempPath);
      await thumbs.make(staged.hash, staged.tempPath, 'small');
      await blobs.commit(staged);
    } catch (error) {
      await blobs.discard(staged);
      throw error;
    }
    // The same bytes may have been uploaded concurrently and finished while this upload was
    // being probed. Checking again right before the synchronous commit makes exactly one of
    // them the creator; the others answer 200 with that picture instead of overwriting it.
    const raced = this.visible(pictures.get(staged.hash));
    if (raced) return { picture: raced, created: false };
    changes.commit({
      kind: 'picture.create',
      id: staged.hash,
      contentType: image.contentType,
      size: staged.size,
      width: image.width,
      height: image.height,
      owner: principal.username,
      originName: this.deps.nodeName,
      createdAt: this.now(),
      ...fields,
    });
    const picture = this.visible(pictures.get(staged.hash));
    if (!picture) throw new Error(`Picture ${staged.hash} not visible after upload`);
    return { picture, created: true };
  }

  get(id: string): Picture {
    const picture = this.visible(this.deps.pictures.get(id));
    if (!picture) throw new NotFoundError('Picture');
    return picture;
  }

  list(query: PictureQuery): Picture[] {
    return this.deps.pictures.list(query);
  }

  /** The path of a thumbnail, made now if it is not cached (e.g. for a replicated picture). */
  async thumbnail(id: string, size: ThumbSize): Promise<string> {
    const { thumbs, blobs } = this.deps;
    if (!(await thumbs.has(id, size))) await thumbs.make(id, blobs.path(id), size);
    return thumbs.path(id, size);
  }

  /**
   * Makes thumbnails in the background, one picture at a time, so that a node catching up on
   * hundreds of pictures does not wait for them (decoding and encoding is nearly all of the CPU
   * a picture costs) and a burst does not starve requests. A thumbnail asked for before its
   * turn is made on demand. The large one is only ever made on demand: it costs about four
   * times the small one, and most pictures are seen in the gallery, not opened.
   */
  prepareSmallThumbnail(id: string): void {
    this.background
      .run(() => this.thumbnail(id, 'small'))
      .catch((err: unknown) => {
        this.deps.log.warn({ picture: id, err }, 'thumbnail failed');
      });
  }

  update(principal: Principal, id: string, patch: PicturePatch): Picture {
    const picture = this.get(id);
    assertMayChange(principal, picture);
    if (Object.keys(patch).length === 0) return picture;
    this.deps.changes.commit({ kind: 'picture.update', id, ...patch });
    return this.get(id);
  }

  async delete(principal: Principal, id: string): Promise<void> {
    assertMayChange(principal, this.get(id));
    this.deps.changes.commit({ kind: 'picture.delete', id });
    await this.settleBytes(id);
  }

  /**
   * Puts a picture's bytes where its state says: a dead picture's bytes go to the trash, a
   * living one's come back from it. Runs after every picture operation, local or replicated,
   * and at start for anything a crash left half-done. It checks the store, not the row's flag,
   * and records what it finds (see recordBytes), so a stale flag is repaired here too.
   */
  async settleBytes(id: string): Promise<void> {
    const { pictures, blobs, thumbs } = this.deps;
    const stored = pictures.get(id);
    if (!stored) return;
    if (!isAlive(stored.state)) {
      if (await blobs.has(id)) {
        await blobs.trash(id);
        await thumbs.remove(id);
        this.deps.log.info({ picture: id }, 'picture bytes moved to trash');
      }
      this.recordBytes(id);
      return;
    }
    if (!(await blobs.has(id))) await blobs.restore(id);
    this.recordBytes(id);
  }

  /**
   * The route could not open the bytes of a picture listed here: records that they are missing,
   * asks for them to be restored or fetched, and returns the error to answer (503).
   */
  bytesMissing(id: string): UnavailableError {
    this.recordBytes(id);
    this.deps.repairBytes?.(id);
    this.deps.log.warn({ picture: id }, 'picture listed without its bytes; repairing');
    return new UnavailableError(
      'The bytes of this picture are not on this node right now; they are being restored. Try again shortly.',
    );
  }

  /**
   * At start: settles every picture whose flag disagrees with the store or whose bytes are not
   * where its state says (a crash between a move and its record, or an older version's race).
   * Returns how many were repaired.
   */
  async repairAllBytes(): Promise<number> {
    const { pictures, blobs } = this.deps;
    let repaired = 0;
    for (const row of pictures.byteFlags()) {
      const present = blobs.hasNow(row.id);
      const consistent = row.alive ? row.hasBlob === present : !row.hasBlob && !present;
      if (consistent) continue;
      await this.settleBytes(row.id);
      repaired++;
    }
    if (repaired > 0) this.deps.log.warn({ repaired }, 'picture byte flags repaired at start');
    return repaired;
  }

  /**
   * Writes whether the bytes are in the store now. The check and the write are synchronous,
   * so no other task moves the bytes between them; a move that finishes later is followed by
   * its own call. Writes only when the row is wrong (each write is a commit).
   */
  private recordBytes(id: string): boolean {
    const { pictures, blobs } = this.deps;
    const present = blobs.hasNow(id);
    const stored = pictures.get(id);
    if (stored && stored.hasBlob !== present) pictures.setHasBlob(id, present);
    return present;
  }

  private visible(stored: StoredPicture | null): Picture | null {
    if (!stored?.hasBlob || !isAlive(stored.state)) return null;
    return toPicture(stored.state);
  }
}

function assertMayChange(principal: Principal, picture: Picture): void {
  if (principal.role !== 'admin' && principal.username !== picture.owner) {
    throw new ForbiddenError('Only the owner of a picture or an admin may change it.');
  }
}
