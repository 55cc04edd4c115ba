/**
 * Where a picture's bytes are: in the blob store while it lives, in the trash once it is
 * deleted, and the row's `has_blob` flag saying which. Each picture's moves and records run in
 * order (`exclusive`), so no move of its bytes by this process happens between a check and the
 * write that records it.
 */
import type { Logger } from 'pino';
import type { BlobStore } from '../blobs/blob-store.js';
import { UnavailableError } from '../core/errors.js';
import { settleInconsistentBytes } from './byte-flag-check.js';
import type { Thumbnails } from './images.js';
import type { PictureRepository, StoredPicture } from './picture.repository.js';
import { isAlive } from './picture.state.js';

export interface PictureBytesDeps {
  readonly pictures: PictureRepository;
  readonly blobs: BlobStore;
  readonly thumbs: Thumbnails;
  readonly log: Logger;
  /** Asks for a picture's bytes to be put back where its state says (BlobSync.schedule). */
  readonly repairBytes?: (id: string) => void;
}

export class PictureBytes {
  /** Per picture, the tail of its byte moves and records (see exclusive). */
  private readonly tasks = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: PictureBytesDeps) {}

  /**
   * Puts a picture's bytes where its state says: a dead picture's bytes go to the trash, a
   * living one's come back from it. Runs after every picture operation, local or replicated,
   * and at start for anything a crash left half-done. It checks the store, not the row's flag,
   * and records what it finds (see record), so a stale flag is repaired here too. Returns
   * the picture as recorded (null when there is none), so a caller need not read it again.
   */
  async settle(id: string): Promise<StoredPicture | null> {
    return this.exclusive(id, async () => {
      const { pictures, blobs, thumbs } = this.deps;
      const stored = await pictures.get(id);
      if (!stored) return null;
      if (!isAlive(stored.state)) {
        if (await blobs.has(id)) {
          await blobs.trash(id);
          // The small one stays while the bytes are in the trash: the trash page shows it.
          await thumbs.remove(id, ['large']);
          this.deps.log.info({ picture: id }, 'picture bytes moved to trash');
        }
        return this.record(id, false);
      } else if (await blobs.has(id)) {
        return this.record(id, true);
      } else {
        return this.record(id, await blobs.restore(id));
      }
    });
  }

  /**
   * The route could not open the bytes of a picture listed here: records that they are missing,
   * asks for them to be restored or fetched, and returns the error to answer (503).
   */
  missing(id: string): UnavailableError {
    void this.exclusive(id, () => this.record(id)).catch((err: unknown) => {
      this.deps.log.warn({ err, picture: id }, 'could not record missing bytes');
    });
    this.deps.repairBytes?.(id);
    this.deps.log.warn({ picture: id }, 'picture listed without its bytes; repairing');
    return new UnavailableError(
      'The bytes of this picture are not on this node right now; they are being restored. Try again shortly.',
    );
  }

  /**
   * At start: settles every picture whose bytes are not where its state says (byte-flag-check.ts).
   * Returns how many were repaired.
   */
  async repairAll(): Promise<number> {
    const { pictures, blobs } = this.deps;
    const repaired = await settleInconsistentBytes(pictures, blobs, async (id) => {
      await this.settle(id);
    });
    if (repaired > 0) this.deps.log.warn({ repaired }, 'picture byte flags repaired at start');
    return repaired;
  }

  /**
   * Writes whether the bytes are in the store now; only when the row is wrong (each write is a
   * commit). Runs under the picture's lock (`exclusive`), so no move of these bytes by this
   * service happens between the check and the write.
   */
  private async record(id: string, known?: boolean): Promise<StoredPicture | null> {
    const { pictures, blobs } = this.deps;
    // `known`: the caller has just checked or moved the bytes, under the same lock.
    const present = known ?? (await blobs.has(id));
    const stored = await pictures.get(id);
    if (!stored) return null;
    if (stored.hasBlob !== present) await pictures.setHasBlob(id, present);
    return { state: stored.state, hasBlob: present };
  }

  /** Runs `task` after every earlier task for the same picture (moves and records in order). */
  exclusive<T>(id: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tasks.get(id) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.catch(() => undefined);
    this.tasks.set(id, tail);
    void tail.then(() => {
      if (this.tasks.get(id) === tail) this.tasks.delete(id);
    });
    return next;
  }
}
