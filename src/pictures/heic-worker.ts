/**
 * Worker thread that decodes HEIC (see ./heic-decoder.ts): libheif's WebAssembly heap grows to
 * the largest image decoded and never shrinks, so it lives here, in a thread that ends when
 * idle and gives that memory back.
 */
import { parentPort } from 'node:worker_threads';
import heicDecode from 'heic-decode';

export interface HeicRequest {
  readonly id: number;
  readonly bytes: Uint8Array;
}

export type HeicReply =
  | {
      readonly id: number;
      readonly width: number;
      readonly height: number;
      readonly rgba: Uint8Array;
    }
  | { readonly id: number; readonly error: string };

parentPort?.on('message', (request: HeicRequest) => {
  heicDecode({ buffer: request.bytes }).then(
    ({ width, height, data }) => {
      const rgba = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const reply: HeicReply = { id: request.id, width, height, rgba };
      parentPort?.postMessage(reply, [rgba.buffer as ArrayBuffer]);
    },
    (error: unknown) => {
      const reply: HeicReply = {
        id: request.id,
        error: error instanceof Error ? error.message : String(error),
      };
      parentPort?.postMessage(reply);
    },
  );
});
