/**
 * Photo facts at one node: derived from the bytes whenever this node stores a picture's bytes
 * (an upload, before its operation commits; a replicated picture, when its bytes arrive), and by
 * a background job for pictures stored before this node read facts. Facts are a function of the
 * bytes (./core/photo-facts.ts), so every node derives the same ones and nothing replicates.
 */
import { buffer } from 'node:stream/consumers';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { BlobStore } from '../blobs/blob-store.js';
import { readHead } from '../core/streams.js';
import type { Schema } from '../storage/metadata/schema.js';
import { NO_FACTS, type PhotoFacts } from './core/photo-facts.js';
import { factsOfImage, readFacts, type EmbeddedMetadata } from './facts-reader.js';
import type { Picture } from './picture.repository.js';
import type { PictureWithFacts } from './listed-picture.js';
import type { PictureFilter } from './picture-filter.js';
import {
  PictureFactsRepository,
  type TakenCursor,
  type TimelineEntry,
  type TimelineQuery,
} from './picture-facts.repository.js';

/**
 * The reader's version, stored with each row: raise it when the reader learns something new
 * (a tag, a fix), and the background job derives every picture's facts again.
 */
export const FACTS_READER = 1;

/** How much of a stored picture is read for its facts: EXIF sits in the first blocks. */
const HEAD_BYTES = 512 * 1024;
const BACKFILL_BATCH = 50;

export type { PictureWithFacts };

export interface PictureFactsDeps {
  readonly facts: PictureFactsRepository;
  readonly blobs: BlobStore;
  readonly log: Logger;
}

export class PictureFactsService {
  private readonly stopping = new AbortController();
  private job: Promise<number> | null = null;

  constructor(private readonly deps: PictureFactsDeps) {}

  /** At upload: the facts of the blocks the probe found (no further read of the bytes). */
  read(embedded: EmbeddedMetadata): Promise<PhotoFacts> {
    return readFacts(embedded);
  }

  /**
   * Records an upload's facts in the transaction of its `picture.create`: no commit (fsync) of
   * their own, and a client told of the picture (live feed) finds them already.
   */
  saveIn(trx: Kysely<Schema>, id: string, facts: PhotoFacts): Promise<void> {
    return this.deps.facts.saveIn(trx, id, facts, FACTS_READER);
  }

  /**
   * For bytes this node stored otherwise (replicated, or before facts existed): reads the head
   * of the blob (the whole of a HEIC/AVIF, whose EXIF item may sit after the pixels).
   */
  async deriveStored(picture: { id: string; contentType: string }): Promise<void> {
    const { blobs, facts } = this.deps;
    let found = await factsOfImage(await readHead(await blobs.read(picture.id), HEAD_BYTES));
    if (found === NO_FACTS && isContainer(picture.contentType)) {
      found = await factsOfImage(await buffer(await blobs.read(picture.id)));
    }
    await facts.save(picture.id, found, FACTS_READER);
  }

  /**
   * The facts `deriveStored` would record, from bytes already in memory (a blob fetched whole
   * in a batch): the caller records them with `saveIn` in the transaction that makes the
   * picture visible, with no read of the stored file and no commit of their own.
   */
  async ofBytes(bytes: Buffer, contentType: string): Promise<PhotoFacts> {
    const found = await factsOfImage(bytes.subarray(0, HEAD_BYTES));
    if (found !== NO_FACTS || !isContainer(contentType) || bytes.length <= HEAD_BYTES) return found;
    return factsOfImage(bytes);
  }

  async attachOne(picture: Picture): Promise<PictureWithFacts> {
    return { ...picture, ...((await this.deps.facts.get(picture.id)) ?? NO_FACTS) };
  }

  timeline(query: TimelineQuery): Promise<TimelineEntry[]> {
    return this.deps.facts.timeline(query);
  }

  /** The month index of what `filter` lists (see PictureFactsRepository.months). */
  async months(filter: PictureFilter = {}): Promise<{ month: string; count: number }[]> {
    return this.deps.facts.months(filter);
  }

  /**
   * Starts the background job that derives the facts of every visible picture without them
   * (or derived by an older reader): one picture at a time, in id order, so a restart resumes
   * where the rows say and a picture done twice gets the same row. Returns how many it did.
   */
  startBackfill(): Promise<number> {
    this.job ??= this.backfill().catch((err: unknown) => {
      this.deps.log.warn({ err }, 'photo facts job stopped');
      return 0;
    });
    return this.job;
  }

  private async backfill(): Promise<number> {
    let done = 0;
    let after = '';
    while (this.running()) {
      const batch = await this.deps.facts.stale(FACTS_READER, BACKFILL_BATCH, after);
      if (batch.length === 0) break;
      for (const row of batch) {
        if (!this.running()) break;
        after = row.id;
        try {
          await this.deriveStored(row);
          done++;
        } catch (err) {
          // Bytes gone meanwhile (deleted) or unreadable: skipped; the next start tries again.
          this.deps.log.debug({ err, picture: row.id }, 'photo facts not derived');
        }
        // Leaves the event loop to requests between pictures.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    if (done > 0) this.deps.log.info({ pictures: done }, 'photo facts derived for stored pictures');
    return done;
  }

  private running(): boolean {
    return !this.stopping.signal.aborted;
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.job;
  }
}

export type { TakenCursor };

/** HEIC and AVIF may keep their EXIF item after the pixels: read whole when the head has none. */
function isContainer(contentType: string): boolean {
  return contentType === 'image/heic' || contentType === 'image/avif';
}
