import type {
  GalleryJsonPage,
  SessionPage,
  GalleryJsonQuery,
  GalleryJsonRepository,
} from './gallery-json.repository.js';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { sha256 } from '../accounts/account.service.js';
import type { AccessCheck, Principal } from '../accounts/principal.js';
import type { BlobStore, StagedBlob } from '../blobs/blob-store.js';
import {
  AccessEndedError,
  ConflictError,
  ForbiddenError,
  NotAnImageError,
  NotFoundError,
  UnavailableError,
} from '../core/errors.js';
import { Limiter } from '../core/limiter.js';
import type { ChangeLog } from '../oplog/change-log.js';
import { readAll, readHead } from '../core/streams.js';
import { probeImage, type ImageInfo, type Thumbnails, type ThumbSize } from './images.js';
import {
  toPicture,
  type Picture,
  type CategoryCount,
  type PictureQuery,
  type PictureRepository,
  type StoredPicture,
} from './picture.repository.js';
import type { Kysely } from 'kysely';
import type { Schema } from '../storage/metadata/schema.js';
import type { PhotoFacts } from './core/photo-facts.js';
import type { PictureWithFacts } from './listed-picture.js';
import type { PictureFactsService } from './picture-facts.service.js';
import { PictureBytes } from './picture-bytes.js';
import { isAlive } from './picture.state.js';

/** How much of an upload is read to probe its header (type, size): enough for any EXIF. */
const PROBE_BYTES = 512 * 1024;

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
  /** Asks for a picture's bytes to be put back where its state says (BlobSync.schedule). */
  readonly repairBytes?: (id: string) => void;
  /** Photo facts: recorded from the probe's metadata blocks before the upload's op commits. */
  readonly facts?: PictureFactsService;
  /** Gallery pages built as JSON by the store (PostgreSQL), for `pageJson`. */
  readonly pages?: GalleryJsonRepository;
}

export interface UploadResult {
  readonly picture: Picture;
  /** False: these bytes were already a picture, which `picture` is. */
  readonly created: boolean;
  /**
   * The photo facts recorded with the picture by this upload; null when it recorded none (a
   * duplicate, or no facts service): read them.
   */
  readonly facts: PhotoFacts | null;
}

/** What commitCreate did: whether it created the picture, and the row it wrote if so. */
interface Committed {
  readonly created: boolean;
  readonly saved: StoredPicture | null;
}

/** Upload, find, edit and delete pictures. Every method opens with its permission check. */
export class PictureService {
  private readonly now: () => number;
  private readonly background = new Limiter(1);

  private readonly bytes: PictureBytes;

  constructor(private readonly deps: PictureServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.bytes = new PictureBytes(deps);
  }

  /**
   * Turns a staged upload into a picture. The staged file is always consumed: committed to the
   * blob store or discarded. Returns `created: false` when these bytes are already a picture.
   *
   * `stillAllowed`: the caller is asked for again just before anything is committed (its bytes
   * were arriving for a while, its thumbnail took a while): one whose access ended meanwhile
   * (disabled, its token revoked or expired, signed out) is refused with AccessEndedError and
   * nothing is stored. A duplicate commits nothing and is not asked about.
   */
  async upload(
    principal: Principal,
    staged: StagedBlob,
    fields: PictureFields,
    stillAllowed?: AccessCheck,
  ): Promise<UploadResult> {
    const { pictures, blobs, thumbs } = this.deps;
    let image: ImageInfo;
    let facts: PhotoFacts | null = null;
    try {
      const stored = await pictures.get(staged.hash);
      const existing = this.visible(stored);
      if (existing) {
        await blobs.discard(staged);
        return { picture: existing, created: false, facts: null };
      }
      assertMayUploadOver(principal, stored);
      // The header first, from the file's head: an image over the pixel limit is refused
      // without its bytes ever being held whole (eight 30 MB "bombs" at once cost 190 MB).
      image = await probeImage(await readHead(blobs.readStaged(staged), PROBE_BYTES)).catch(
        async (error: unknown) => {
          if (!(error instanceof NotAnImageError) || staged.size <= PROBE_BYTES) throw error;
          return probeImage(await readAll(blobs.readStaged(staged))); // a header past the head
        },
      );
      await thumbs.make(staged.hash, blobs.stagedBytes(staged), 'small');
      facts = (await this.deps.facts?.read(image.embedded)) ?? null;
      if (stillAllowed && !(await stillAllowed())) throw new AccessEndedError();
      await blobs.commit(staged);
    } catch (error) {
      await blobs.discard(staged);
      throw error;
    }
    // The same bytes may have been uploaded concurrently and finished while this upload was
    // being probed. Checking again and committing under the picture's lock makes exactly one
    // upload the creator; the others answer 200 with that picture instead of overwriting it
    // (their fields would lose to the first's: an acknowledged write lost). In this process
    // the lock is `exclusive`; across the processes of a site, a database lock. The check is
    // made once, inside the transaction (`commitCreate`'s `unless`).
    let committed: Committed = { created: false, saved: null };
    await this.bytes.exclusive(`create:${staged.hash}`, async () => {
      this.deps.justStored.add(staged.hash);
      try {
        committed = await this.commitCreate(principal, staged, image, fields, facts);
      } finally {
        this.deps.justStored.delete(staged.hash);
      }
    });
    const { created, saved } = committed;
    // The row as this upload's transaction wrote it (no read), else as another upload did.
    const picture = this.visible(saved ?? (await pictures.get(staged.hash)));
    if (!picture) {
      // Merged into a state that is not alive (BlobSync does not settle this site's creates):
      // put the bytes where that state says.
      this.deps.repairBytes?.(staged.hash);
      throw new Error(`Picture ${staged.hash} not visible after upload`);
    }
    // The facts went in with the picture (commitCreate's `alongside`): no read of them either.
    return { picture, created, facts: created && this.deps.facts ? facts : null };
  }

  private async commitCreate(
    principal: Principal,
    staged: StagedBlob,
    image: ImageInfo,
    fields: PictureFields,
    facts: PhotoFacts | null,
  ): Promise<Committed> {
    const { pictures, facts: factsService } = this.deps;
    let saved: StoredPicture | null = null;
    const alongside = async (trx: Kysely<Schema>) => {
      // The photo facts go in the same transaction (one fsync; never seen without them).
      if (factsService && facts) await factsService.saveIn(trx, staged.hash, facts);
      // What applying the create wrote, as the row stands at commit.
      saved = pictures.savedIn(trx, staged.hash);
    };
    const ops = await this.deps.changes.commitMany(
      [
        {
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
        },
      ],
      alongside,
      {
        // Another process of the site created it first: nothing to commit.
        unless: async (trx) => {
          await pictures.lockCreate(trx, staged.hash);
          return this.visible(await pictures.get(staged.hash, trx)) !== null;
        },
      },
    );
    return ops.length > 0 ? { created: true, saved } : { created: false, saved: null };
  }

  async get(id: string): Promise<Picture> {
    const picture = this.visible(await this.deps.pictures.get(id));
    if (!picture) throw new NotFoundError('Picture');
    return picture;
  }

  /**
   * The principal of a session cookie's value and picture `id` as `get` answers it (NotFound
   * unless visible), in one statement; null when the session is not valid.
   */
  async getForSession(
    session: string,
    id: string,
  ): Promise<{ principal: Principal; picture: Picture | NotFoundError } | null> {
    const found = await this.deps.pictures.getForSession(sha256(session), this.now(), id);
    if (!found) return null;
    return {
      principal: found.principal,
      picture: this.visible(found.picture) ?? new NotFoundError('Picture'),
    };
  }

  /**
   * The visible pictures among `ids`, with their facts, in the order asked (one statement), and
   * the ids that are not visible (deleted, not arrived, unknown).
   */
  async lookup(ids: readonly string[]): Promise<{ items: PictureWithFacts[]; missing: string[] }> {
    const unique = [...new Set(ids)];
    const found = new Map((await this.deps.pictures.listed(unique)).map((p) => [p.id, p]));
    return {
      items: unique.flatMap((id) => {
        const picture = found.get(id);
        return picture ? [picture] : [];
      }),
      missing: unique.filter((id) => !found.has(id)),
    };
  }

  /** A page of visible pictures with their facts, in one statement. */
  list(query: PictureQuery): Promise<PictureWithFacts[]> {
    return this.deps.pictures.list(query);
  }

  /** The library's categories (visible pictures), with how many pictures each holds. */
  categories(): Promise<CategoryCount[]> {
    return this.deps.pictures.categories();
  }

  /** A gallery page as JSON text built by the store; null: take `list` or the timeline. */
  async pageJson(query: GalleryJsonQuery): Promise<GalleryJsonPage | null> {
    return (await this.deps.pages?.page(query)) ?? null;
  }

  /** Whether the store builds gallery pages (PostgreSQL): `pageForSession` is for those. */
  get buildsPages(): boolean {
    return this.deps.pages?.available === true;
  }

  /**
   * The principal of a session cookie's value and `pageJson(query)`, in one statement (only
   * where `buildsPages`); null when the session is not valid (then no page was built).
   */
  async pageForSession(session: string, query: GalleryJsonQuery): Promise<SessionPage | null> {
    const pages = this.deps.pages;
    if (!pages?.available) throw new Error('this store does not build gallery pages');
    return pages.pageForSession({ idHash: sha256(session), now: this.now() }, query);
  }

  /** A thumbnail's bytes, made now if it is not cached (e.g. for a replicated picture). */
  async thumbnail(id: string, size: ThumbSize): Promise<Readable> {
    const { thumbs } = this.deps;
    const cached = await thumbs.read(id, size);
    if (cached) return cached;
    await thumbs.makeFromStore(id, size);
    const made = await thumbs.read(id, size);
    if (!made) throw new Error(`Thumbnail ${id}.${size} missing right after it was made`);
    return made;
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
        if (!(await this.deps.thumbs.has(id, 'small')))
          await this.deps.thumbs.makeFromStore(id, 'small');
      })
      .catch((err: unknown) => {
        this.deps.log.warn({ picture: id, err }, 'thumbnail failed');
      });
  }

  async update(principal: Principal, id: string, patch: PicturePatch): Promise<Picture> {
    const picture = await this.get(id);
    assertMayChange(principal, picture);
    if (Object.keys(patch).length === 0) return picture;
    await this.deps.changes.commit({ kind: 'picture.update', id, ...patch });
    return this.get(id);
  }

  async delete(principal: Principal, id: string): Promise<void> {
    assertMayChange(principal, await this.get(id));
    await this.deps.changes.commit({ kind: 'picture.delete', id });
    await this.settleAfterCommit(id);
  }

  /**
   * Moves a picture's bytes after an operation this request committed. The operation stands
   * whatever happens here, so a failure (the store or the database gone just after the commit)
   * is not the request's: it is logged and the move tried again (BlobSync). Answered 503 before,
   * a deletion done looked undone, and its retry got 404.
   */
  async settleAfterCommit(id: string): Promise<void> {
    try {
      await this.settleBytes(id);
    } catch (err) {
      this.deps.log.warn({ picture: id, err }, 'bytes not moved after the change: retrying');
      this.deps.repairBytes?.(id);
    }
  }

  /** Puts a picture's bytes where its state says (PictureBytes.settle). */
  settleBytes(id: string): Promise<StoredPicture | null> {
    return this.bytes.settle(id);
  }

  /** The error to answer for bytes listed here but not found (PictureBytes.missing). */
  bytesMissing(id: string): UnavailableError {
    return this.bytes.missing(id);
  }

  /** At start: settles every picture whose bytes are not where its state says. */
  repairAllBytes(): Promise<number> {
    return this.bytes.repairAll();
  }

  private visible(stored: StoredPicture | null): Picture | null {
    if (!stored?.hasBlob || !isAlive(stored.state)) return null;
    return toPicture(stored.state);
  }
}

/**
 * Bytes that are already a picture of another account's that is not visible here: deleted (in
 * the trash, or emptied out of it), or alive elsewhere with its bytes not here yet. An upload
 * would commit a `picture.create` ordered after everything known, which brings the picture
 * back and sets its title, category and description at every node (the owner stays the first
 * uploader's): a restore and an edit that only its owner or an admin may make. Refused then;
 * the owner and admins upload as before. (Two accounts uploading the same bytes at two nodes
 * before either knows of the other's is not caught here: the first upload's owner, the later
 * upload's fields, as the convergence rules say.)
 */
function assertMayUploadOver(principal: Principal, stored: StoredPicture | null): void {
  const owner = stored?.state.info?.owner;
  if (owner === undefined || owner === principal.username || principal.role === 'admin') return;
  if (stored !== null && isAlive(stored.state)) {
    throw new ConflictError(
      'These bytes are already a picture, which is still arriving at this node; try again shortly.',
    );
  }
  throw new ForbiddenError(
    'These bytes are a picture another account deleted; only its owner or an admin may bring it back.',
  );
}

function assertMayChange(principal: Principal, picture: Picture): void {
  if (principal.role !== 'admin' && principal.username !== picture.owner) {
    throw new ForbiddenError('Only the owner of a picture or an admin may change it.');
  }
}
