/**
 * @tus/s3-store as the tus area uses it (tus-area.ts), with what a site of processes that may
 * be killed at any moment needs on top:
 *
 * - **Outages are not "no such upload"**: the store answers 404 when it cannot read an upload's
 *   `.info` for any reason; asked again here, an outage is 503 (`UnavailableError`).
 * - **A tail is never lost**: bytes past the last whole part (5 MiB) wait in `<id>.part`. The
 *   store's `write` downloads that tail, deletes it, then uploads it again joined to the new
 *   bytes; a process killed in between lost bytes it had acknowledged (a walk of a scaled site
 *   with SIGKILLs: an upload at 196 608 bytes came back at offset 0). Here the tail is deleted
 *   only once the bytes that replace it are stored, and each tail records where it starts
 *   (`mosaic-tail-at`, the bytes in whole parts when it was written): a tail already joined
 *   into a part (the process killed before deleting it) starts before the parts' end and is
 *   ignored, never counted twice.
 * - **No hole**: only the parts numbered from 1 without a gap count (`unbrokenParts`).
 * - **A last part stored but not joined** (killed before the multipart upload was completed)
 *   is completed when the upload is read, rather than taken for bytes gone.
 */
import { stat } from 'node:fs/promises';
import { Transform, pipeline, type Readable } from 'node:stream';
import type { MetadataValue, S3Store } from '@tus/s3-store';
import type { Upload } from '@tus/server';
import type { Logger } from 'pino';
import { UnavailableError } from '../core/errors.js';
import { isStoreOutage } from '../core/network-errors.js';
import type { Faults } from '../faults/faults.js';

/** Where the crash tests stop a process (MOSAIC_FAULTS `crashAt`). */
export const TUS_CRASH_POINTS = ['tus.tail-taken', 'tus.part-stored'] as const;

const TAIL_AT = 'mosaic-tail-at';

/** What a write in progress knows of its upload (one write per upload: tus-lock.ts). */
interface Writing {
  /** Bytes in whole parts when the write began. */
  readonly partsBytes: number;
  /** The tail the write began with (its bytes go first), 0 if none. */
  readonly tailBytes: number;
  /** Bytes of the request read so far. */
  received: number;
  /** The store asked to delete the old tail (done once the write is stored). */
  tailTaken: boolean;
  /** The write stored a new tail (which replaced the old one). */
  wroteTail: boolean;
}

type Part = { Size?: number | undefined; PartNumber?: number | undefined };
type S3StoreClass = typeof S3Store;

export interface TusS3Options {
  readonly bucket: string;
  readonly faults: Faults;
  readonly log: Logger;
}

/** The store's class with the changes above (`Base`: @tus/s3-store's, loaded by the caller). */
export function tusS3StoreClass(Base: S3StoreClass, options: TusS3Options) {
  const { bucket, faults, log } = options;
  return class TusS3Store extends Base {
    private readonly writing = new Map<string, Writing>();
    /** The bytes in whole parts of each upload, as last listed (under its lock). */
    private readonly listed = new Map<string, number>();

    override async getUpload(id: string): Promise<Upload> {
      try {
        return await super.getUpload(id);
      } catch (error) {
        if ((error as { status_code?: unknown }).status_code !== 404) throw error;
        const there = await this.client.headObject({ Bucket: bucket, Key: `${id}.info` }).then(
          () => true,
          (headError: unknown) => {
            if (isStoreOutage(headError)) {
              throw new UnavailableError(
                'The object store is not answering right now; the upload resumes once it is back.',
              );
            }
            return false;
          },
        );
        if (!there) throw error;
        return await super.getUpload(id);
      } finally {
        this.listed.delete(id);
      }
    }

    /** The parts that count (see `unbrokenParts`); the store lists the rest through `marker`. */
    protected override async retrieveParts(id: string, marker?: string): Promise<Part[]> {
      const listed = await super.retrieveParts(id, marker);
      if (marker !== undefined) return listed;
      const parts = unbrokenParts(listed);
      this.listed.set(id, sumOf(parts));
      return parts;
    }

    /** The tail's size, if it is one: a tail joined into a part already is not counted. */
    protected override async getIncompletePartSize(id: string): Promise<number | undefined> {
      const tail = await this.tail(id);
      const partsBytes = this.listed.get(id) ?? sumOf(await this.retrieveParts(id));
      return tail === undefined || stale(tail, partsBytes) ? undefined : tail.size;
    }

    /**
     * An upload whose multipart upload is gone is whole to `getUpload` (it was completed), so
     * tus only lets a PATCH of nothing at its end through; the store would fail it for the
     * missing multipart upload (500). There is nothing to write: the finish (`settle`) then
     * makes the picture, or finds the bytes gone.
     */
    override async write(src: Readable, id: string, offset: number): Promise<number> {
      let writing: Writing;
      try {
        const partsBytes = sumOf(await this.retrieveParts(id));
        const tail = await this.tail(id);
        if (tail !== undefined && stale(tail, partsBytes)) {
          // Joined into a part by a write killed before it deleted it: the store would put
          // its bytes first again.
          await super.deleteIncompletePart(id);
        }
        const tailBytes = tail === undefined || stale(tail, partsBytes) ? 0 : tail.size;
        writing = { partsBytes, tailBytes, received: 0, tailTaken: false, wroteTail: false };
      } catch (error) {
        if ((error as { name?: unknown }).name === 'NoSuchUpload') return offset;
        throw error;
      }
      this.writing.set(id, writing);
      const counted = pipeline(
        src,
        new Transform({
          transform(chunk: Buffer, _encoding, done) {
            writing.received += chunk.length;
            done(null, chunk);
          },
        }),
        () => undefined, // the store's own pipeline sees the error
      );
      try {
        const result = await super.write(counted, id, offset);
        if (writing.tailTaken && !writing.wroteTail) {
          // Its bytes are in a part now; if this fails, the tail is seen as joined (`stale`).
          await super.deleteIncompletePart(id).catch((err: unknown) => {
            log.warn({ err, upload: id }, 'tus tail joined into a part not deleted');
          });
        }
        return result;
      } catch (error) {
        if ((error as { name?: unknown }).name === 'NoSuchUpload') return offset;
        throw error;
      } finally {
        this.writing.delete(id);
        this.listed.delete(id);
      }
    }

    /** Called by the store's `write` once it holds the old tail: deleted later (see write). */
    protected override async deleteIncompletePart(id: string): Promise<void> {
      const writing = this.writing.get(id);
      if (writing === undefined) return super.deleteIncompletePart(id);
      writing.tailTaken = true;
      faults.crashPoint('tus.tail-taken');
    }

    /** The new tail, with where it starts. */
    protected override async uploadIncompletePart(
      id: string,
      readStream: Readable & { path?: string | Buffer },
    ): Promise<string> {
      const writing = this.writing.get(id);
      if (writing === undefined || readStream.path === undefined) {
        return super.uploadIncompletePart(id, readStream);
      }
      // The last piece of the write (the request has ended): it starts where the parts end.
      const size = (await stat(readStream.path)).size;
      const at = writing.partsBytes + writing.tailBytes + writing.received - size;
      const data = await this.client.putObject({
        Bucket: bucket,
        Key: this.partKey(id, true),
        Body: readStream,
        ContentLength: size,
        Metadata: { [TAIL_AT]: String(at) },
      });
      writing.wroteTail = true;
      return data.ETag ?? '';
    }

    protected override async uploadPart(
      metadata: MetadataValue,
      readStream: Readable | Buffer,
      partNumber: number,
    ): Promise<string> {
      const etag = await super.uploadPart(metadata, readStream, partNumber);
      faults.crashPoint('tus.part-stored');
      return etag;
    }

    /**
     * Completes the multipart upload of an upload whose parts hold all its bytes (its last
     * PATCH killed before it did); false when there is none to complete.
     */
    async completeIfWhole(id: string): Promise<boolean> {
      const metadata = await this.getMetadata(id);
      const parts = await this.retrieveParts(id).catch((error: unknown) => {
        if ((error as { name?: unknown }).name === 'NoSuchUpload') return null;
        throw error;
      });
      this.listed.delete(id);
      if (parts === null || parts.length === 0) return false;
      if (sumOf(parts) !== metadata.file.size) return false;
      await this.finishMultipartUpload(metadata, parts);
      log.warn({ upload: id }, 'tus upload whole but not joined: completed');
      return true;
    }

    private async tail(id: string): Promise<{ size: number; at: number | undefined } | undefined> {
      try {
        const head = await this.client.headObject({ Bucket: bucket, Key: this.partKey(id, true) });
        const at = head.Metadata?.[TAIL_AT];
        return { size: head.ContentLength ?? 0, at: at === undefined ? undefined : Number(at) };
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
        if (status?.httpStatusCode === 404) return undefined;
        throw error;
      }
    }
  };
}

/**
 * The parts from the first on, up to the first number missing. The store sends a write's
 * parts at once, so a process killed meanwhile may leave part 3 stored and part 2 not: counted,
 * part 3 made the offset skip bytes nobody stored, and the upload resumed past a hole (the
 * store's own listing sums every part). A part past the hole is sent again, under its number.
 */
export function unbrokenParts<P extends Part>(parts: readonly P[]): P[] {
  const unbroken: P[] = [];
  for (const part of parts) {
    if (part.PartNumber !== unbroken.length + 1) break;
    unbroken.push(part);
  }
  return unbroken;
}

function sumOf(parts: readonly Part[]): number {
  return parts.reduce((total, part) => total + (part.Size ?? 0), 0);
}

/**
 * A tail that does not start where the parts end: joined into a part already (before their
 * end), or written by a write killed before its parts were stored (past their end, never
 * acknowledged). A tail of an older version, without `at`, counts.
 */
function stale(tail: { at: number | undefined }, partsBytes: number): boolean {
  return tail.at !== undefined && tail.at !== partsBytes;
}
