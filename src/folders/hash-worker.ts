/**
 * Worker thread that hashes a part of a large folder file (see ./hash-threads.ts): the whole
 * file's SHA-256 or its block list, read through this thread's own reused buffer.
 */
import { parentPort } from 'node:worker_threads';
import { hashFile, NotARegularFileError, READ_BUFFER_BYTES } from './blocks.js';

export interface HashRequest {
  readonly id: number;
  readonly path: string;
  readonly blockSize: number;
  readonly part: 'whole' | 'blocks';
}

export type HashReply =
  | {
      readonly id: number;
      readonly hash: string;
      readonly size: number;
      readonly blockSize: number;
      readonly blocks: Uint8Array;
    }
  | {
      readonly id: number;
      /** 'NotARegularFileError', or the error's `code` (ENOENT...) when it has one. */
      readonly kind: string | null;
      readonly error: string;
    };

const buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);

parentPort?.on('message', (request: HashRequest) => {
  hashFile(request.path, { blockSize: request.blockSize, part: request.part, buffer }).then(
    (hashed) => {
      const blocks = new Uint8Array(hashed.blocks);
      const reply: HashReply = {
        id: request.id,
        hash: hashed.hash,
        size: hashed.size,
        blockSize: hashed.blockSize,
        blocks,
      };
      parentPort?.postMessage(reply, [blocks.buffer]);
    },
    (error: unknown) => {
      const kind =
        error instanceof NotARegularFileError
          ? 'NotARegularFileError'
          : ((error as NodeJS.ErrnoException).code ?? null);
      const reply: HashReply = {
        id: request.id,
        kind,
        error: error instanceof Error ? error.message : String(error),
      };
      parentPort?.postMessage(reply);
    },
  );
});
