/**
 * Writes bytes [start, end) of a file to an HTTP response from a ring of reused buffers.
 *
 * `createReadStream` allocates a new buffer for every 64 KiB read; in a large transfer that is
 * 1 GiB of short-lived external memory per GiB sent, and V8 answered it with a full (mark-compact)
 * collection every ~100 ms: a third of the sender's main thread (docs/benchmarks.md, "One large
 * file"). Here a buffer is filled again only once the socket has taken what it held (the write's
 * callback), so a transfer allocates its ring once. The ring bounds what waits for the socket
 * (SLOTS x SLOT_BYTES): a reader that stops reading stops the reads here too.
 *
 * The headers are the caller's (already written). A file shorter than announced, a read error or
 * a response closed early ends the response abruptly (the client sees a short body), never with
 * other bytes.
 */
import type { ServerResponse } from 'node:http';
import { open } from 'node:fs/promises';
import { BufferPool } from '../../core/buffer-pool.js';
import { READ_NO_FOLLOW } from '../../core/read-no-follow.js';

/** Each read fills one buffer of this size (four 64 KiB socket writes' worth). */
export const SLOT_BYTES = 256 * 1024;
/** Buffers in the ring: one being read while the others are written. */
export const SLOTS = 4;

/** Ring buffers shared by the responses of a process (four at once use all of them). */
const buffers = new BufferPool(SLOT_BYTES, 4 * SLOTS);

interface Slot {
  readonly buffer: Buffer;
  /** Settles once the socket no longer holds this buffer's bytes. */
  written: Promise<void>;
}

/** Writes the bytes, or none with `body` null (a HEAD), and ends the response. */
export async function writeFileRange(
  res: ServerResponse,
  body: { readonly file: string; readonly start: number; readonly end: number } | null,
): Promise<void> {
  if (body === null) {
    res.end();
    return;
  }
  // A link put at the path since it was located is not followed (core/read-no-follow.ts).
  const handle = await open(body.file, READ_NO_FOLLOW).catch(() => null);
  const slots: Slot[] = [];
  try {
    if (handle === null) throw new Error('the file is gone');
    const count = Math.min(SLOTS, Math.ceil((body.end - body.start) / SLOT_BYTES));
    for (let i = 0; i < count; i++)
      slots.push({ buffer: buffers.take(), written: Promise.resolve() });
    let position = body.start;
    for (let i = 0; position < body.end; i = (i + 1) % slots.length) {
      const slot = slots[i] as Slot;
      await slot.written;
      if (res.destroyed) return;
      const want = Math.min(slot.buffer.length, body.end - position);
      const { bytesRead } = await handle.read(slot.buffer, 0, want, position);
      if (bytesRead === 0) throw new Error('the file is shorter than announced');
      position += bytesRead;
      slot.written = new Promise<void>((resolve) => {
        // Called with an error too when the response is destroyed (the client left, the node
        // stops): the loop then sees `res.destroyed`.
        res.write(slot.buffer.subarray(0, bytesRead), () => {
          resolve();
        });
      });
    }
    res.end();
    // Back to the pool once the socket has taken every byte (a cut response's are left to GC).
    await Promise.all(slots.map((s) => s.written));
    for (const slot of slots) buffers.give(slot.buffer);
  } catch {
    res.destroy();
  } finally {
    await handle?.close();
  }
}
