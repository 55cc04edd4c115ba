/** Small helpers over Node streams. */
import type { Readable } from 'node:stream';

/**
 * The first `limit` bytes of a stream (fewer if it is shorter); the rest is never read: the
 * stream is destroyed once enough has arrived.
 */
export async function readHead(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream) {
      const bytes = chunk as Buffer;
      chunks.push(bytes);
      length += bytes.length;
      if (length >= limit) break;
    }
  } finally {
    stream.destroy();
  }
  return joined(chunks, Math.min(length, limit));
}

/**
 * A stream's whole bytes. Unlike `buffer()` of node:stream/consumers, a stream of one chunk (an
 * upload staged in memory on S3: s3-blob-store.ts) gives that chunk itself, not a copy: an
 * upload's bytes were copied three times on their way to sharp, and each copy of a few hundred
 * KB is external memory that brings V8's next full collection nearer.
 */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    const bytes = chunk as Buffer;
    chunks.push(bytes);
    length += bytes.length;
  }
  return joined(chunks, length);
}

/** The first `length` bytes of `chunks`: the first chunk itself when it holds them all. */
function joined(chunks: readonly Buffer[], length: number): Buffer {
  const [first] = chunks;
  if (first !== undefined && first.length >= length) return first.subarray(0, length);
  return Buffer.concat(chunks, length);
}

/** Chunks waiting in `chunksOf` before the stream is paused. */
const CHUNKS_AHEAD = 16;

/**
 * A byte stream's chunks as they were pushed. A `for await` over a Readable takes with `read()`
 * everything buffered at once, and when that is more than one chunk it joins them into a new
 * buffer: a receiver whose main thread is busy finds several socket reads buffered each time, and
 * so copied nearly every byte of a batch fetch once more into fresh memory (docs/benchmarks.md,
 * "A response's chunks back as each is written"). Here each chunk is handed on as it came; the
 * stream is paused while CHUNKS_AHEAD wait. A stream that fails throws here; one closed before
 * its end just ends (the caller checks that it got everything it expected). Left early (or
 * failed), the stream is destroyed, as `for await` does.
 */
export async function* chunksOf(stream: Readable): AsyncGenerator<Buffer> {
  const waiting: Buffer[] = [];
  // Set by the listeners (an object: the loop below reads what they wrote since).
  const seen: { ended: boolean; failure: { error: unknown } | null } = {
    // Read to its end already: its 'end' came before these listeners.
    ended: stream.readableEnded,
    failure: null,
  };
  let wake: (() => void) | null = null;
  const poke = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  const onData = (chunk: Buffer): void => {
    waiting.push(chunk);
    if (waiting.length >= CHUNKS_AHEAD) stream.pause();
    poke();
  };
  const onEnd = (): void => {
    seen.ended = true;
    poke();
  };
  const onError = (error: unknown): void => {
    seen.failure = { error };
    poke();
  };
  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('close', onEnd);
  stream.on('error', onError);
  // Flowing, also when it was paused before (a 'data' listener alone does not resume that).
  stream.resume();
  try {
    for (;;) {
      const chunk = waiting.shift();
      if (chunk !== undefined) {
        if (stream.isPaused() && waiting.length < CHUNKS_AHEAD / 2) stream.resume();
        yield chunk;
        continue;
      }
      if (seen.failure !== null) throw seen.failure.error;
      // Destroyed with an error whose event has not come yet: that error, not an end.
      if (stream.errored !== null) throw stream.errored;
      if (seen.ended || stream.destroyed) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('close', onEnd);
    // Like a `for await` left early: the stream is done with. An error it emits later (its
    // destroy's, or one already on its way) was thrown here or is nobody's: never unhandled.
    stream.off('error', onError);
    stream.on('error', () => {});
    if (!seen.ended) stream.destroy();
  }
}
