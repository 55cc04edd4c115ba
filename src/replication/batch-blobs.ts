/**
 * A blob batch's frames (POST /peer/blobs, blobs/blob-frames.ts) as blobs for the store, read
 * into pooled buffers (BatchFetch.fetchBatch). A new array buffer per blob set off V8's
 * collections every ~17 MB received: a node catching up spent about a third of its CPU in V8's
 * collector threads (docs/benchmarks.md, "Pooled buffers for a batch's blobs"). Here a blob's
 * buffer is reused once the store has written it and its photo facts are read, and only then;
 * a blob the store did not write keeps its buffer (left to the garbage collector).
 */
import type { WholeBlob } from '../blobs/blob-batch.js';
import type { BlobFrame } from '../blobs/blob-frames.js';
import { BufferPool } from '../core/buffer-pool.js';
import type { PhotoFacts } from '../pictures/core/photo-facts.js';

/**
 * Blobs up to this size get a pooled buffer; the pool keeps enough for those in flight (two
 * batches, each writing 8 at a time, and their facts) and lets them go once idle.
 */
const SLOT_BYTES = 512 * 1024;
const SLOTS = 24;

/** Reads a picture's photo facts from its bytes (PictureFactsService). */
export interface FactsOfBytes {
  ofBytes(bytes: Buffer, contentType: string): Promise<PhotoFacts>;
}

export class BatchBlobs {
  private readonly pool = new BufferPool(SLOT_BYTES, SLOTS);

  /** Where the frame reader copies a blob's bytes (PeerClient.blobBatch). */
  readonly allocate = (length: number): Buffer => this.pool.takeView(length);

  /**
   * The frames that carry bytes, as blobs to store (the others are fetched elsewhere). The frame
   * reader has checked each against its hash. Their photo facts are read meanwhile, into `facts`
   * (by blob), when `reader` is given and the blob's content type is known (`types`).
   */
  async *present(
    frames: AsyncIterable<BlobFrame>,
    types: ReadonlyMap<string, string>,
    facts: Map<string, Promise<PhotoFacts | null>>,
    reader: FactsOfBytes | undefined,
  ): AsyncGenerator<WholeBlob> {
    for await (const frame of frames) {
      const { data } = frame;
      if (data === null) continue;
      // The store and the facts reader each let go of the bytes; then their buffer is reused.
      let holders = 1;
      const letGo = (): void => {
        if (--holders === 0) this.pool.giveView(data);
      };
      const type = types.get(frame.hash);
      if (reader !== undefined && type !== undefined) {
        holders++;
        facts.set(
          frame.hash,
          reader
            .ofBytes(data, type)
            .catch(() => null) // derived from the file instead
            .finally(letGo),
        );
      }
      yield { hash: frame.hash, data, verified: true, release: letGo };
    }
  }
}
