import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import type { Logger } from 'pino';
import type { Principal } from '../accounts/principal.js';
import type { BlobStore, StagedBlob } from '../blobs/blob-store.js';
import { ForbiddenError, NotFoundError } from '../core/errors.js';
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
  /**
   * Blobs this process has just committed for an upload, until the upload's operation is
   * committed: how the operation's apply (synchronous, inside the transaction) learns that the
   * bytes are here without asking the store (a network call on S3).
   */
  readonly justStored: Set<string>;
  readonly now?: () => number;
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
    const { pictures, blobs, thumbs } = this.deps;
    let image: ImageInfo;
    try {
      const existing = this.visible(pictures.get(staged.hash));
      if (existing) {
        await blobs.discard(staged);
        return { picture: existing, created: false };
      }
      const bytes = await buffer(blobs.readStaged(staged));
      image = await probeImage(bytes);
      await thumbs.make(staged.hash, bytes, 'small');
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
    this.deps.justStored.add(staged.hash);
    try {
      this.commitCreate(principal, staged, image, fields);
    } finally {
      this.deps.justStored.delete(staged.hash);
    }
    const picture = this.visible(pictures.get(staged.hash));
    if (!picture) throw new Error(`Picture ${staged.hash} not visible after upload`);
    return { picture, created: true };
  }

  private commitCreate(
    principal: Principal,
    staged: StagedBlob,
    image: ImageInfo,
    fields: PictureFields,
  ): void {
    this.deps.changes.commit({
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
  }

  get(id: string): Picture {
    const picture = this.visible(this.deps.pictures.get(id));
    if (!picture) throw new NotFoundError('Picture');
    return picture;
  }

  list(query: PictureQuery): Picture[] {
    return this.deps.pictures.list(query);
  }

  /** A thumbnail's bytes, made now if it is not cached (e.g. for a replicated picture). */
  async thumbnail(id: string, size: ThumbSize): Promise<Readable> {
    const { thumbs } = this.deps;
    const cached = await thumbs.read(id, size);
    if (cached) return cached;
    await this.makeThumbnail(id, size);
    const made = await thumbs.read(id, size);
    if (!made) throw new Error(`Thumbnail ${id}.${size} missing right after it was made`);
    return made;
  }

  private async makeThumbnail(id: string, size: ThumbSize): Promise<void> {
    const { thumbs, blobs } = this.deps;
    await thumbs.make(id, await buffer(await blobs.read(id)), size);
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
      .run(async () => {
        if (!(await this.deps.thumbs.has(id, 'small'))) await this.makeThumbnail(id, 'small');
      })
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
   * and at start for anything a crash left half-done.
   */
  async settleBytes(id: string): Promise<void> {
    const { pictures, blobs, thumbs } = this.deps;
    const stored = pictures.get(id);
    if (!stored) return;
    if (!isAlive(stored.state)) {
      if (stored.hasBlob || (await blobs.has(id))) {
        await blobs.trash(id);
        await thumbs.remove(id);
        pictures.setHasBlob(id, false);
        this.deps.log.info({ picture: id }, 'picture bytes moved to trash');
      }
      return;
    }
    if (!stored.hasBlob && ((await blobs.has(id)) || (await blobs.restore(id)))) {
      pictures.setHasBlob(id, true);
    }
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
