/**
 * HEIC decoding off the main thread: one worker thread (./heic-worker.ts) started on the first
 * HEIC and ended after IDLE_MS without one, so the WebAssembly heap libheif grows (+190 MB for a
 * 12-megapixel photo) is given back instead of held for the life of the process. Requests are
 * answered in order; concurrency is bounded by the node's decode limiter upstream.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { HeicReply, HeicRequest } from './heic-worker.js';

const IDLE_MS = 30_000;

export interface DecodedHeic {
  readonly width: number;
  readonly height: number;
  readonly rgba: Buffer;
}

export class HeicDecoder {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (d: DecodedHeic) => void; reject: (e: Error) => void }
  >();
  private idle: NodeJS.Timeout | undefined;

  async decode(bytes: Buffer): Promise<DecodedHeic> {
    const worker = this.start();
    if (worker === null) return decodeHere(bytes);
    clearTimeout(this.idle);
    const id = this.nextId++;
    const copy = new Uint8Array(bytes); // its own buffer, transferred to the worker
    return new Promise<DecodedHeic>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: HeicRequest = { id, bytes: copy };
      worker.postMessage(request, [copy.buffer]);
    });
  }

  private start(): Worker | null {
    if (this.worker) return this.worker;
    const file = workerFile();
    if (file === null) return null;
    const worker = new Worker(file);
    worker.unref();
    worker.on('message', (reply: HeicReply) => {
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if ('error' in reply) waiting?.reject(new Error(reply.error));
      else {
        const rgba = Buffer.from(reply.rgba.buffer, reply.rgba.byteOffset, reply.rgba.byteLength);
        waiting?.resolve({ width: reply.width, height: reply.height, rgba });
      }
      if (this.pending.size === 0) this.scheduleStop();
    });
    worker.on('error', (error: Error) => {
      this.fail(error);
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = null;
      this.fail(new Error('The HEIC decoder stopped.'));
    });
    this.worker = worker;
    return worker;
  }

  private scheduleStop(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      void this.close();
    }, IDLE_MS);
    this.idle.unref();
  }

  private fail(error: Error): void {
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }

  async close(): Promise<void> {
    clearTimeout(this.idle);
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }
}

/** The compiled worker beside this file; null when running from sources (tests in-process). */
function workerFile(): string | null {
  const file = fileURLToPath(new URL('./heic-worker.js', import.meta.url));
  return existsSync(file) ? file : null;
}

async function decodeHere(bytes: Buffer): Promise<DecodedHeic> {
  const { default: heicDecode } = await import('heic-decode');
  const { width, height, data } = await heicDecode({ buffer: bytes });
  return { width, height, rgba: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
}
