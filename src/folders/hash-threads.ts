/**
 * Hashing large folder files on worker threads (./hash-worker.ts). A file's identity (the
 * SHA-256 of all of it) and its block list are two SHA-256 passes over the same bytes; on the
 * main thread they ran one after the other (1.7 s for 1 GiB, a second core idle meanwhile, and
 * the node's requests waiting behind them). Here they go to the threads and the main thread only
 * waits: a scan asks only for the identity (the block list is made when a peer first asks for
 * it, FolderSync.blocksFor); both parts are two threads, each reading the file (the second read
 * comes from the page cache).
 *
 * The threads start with the first large file and end after IDLE_MS without one, so an idle
 * node holds none. Small files, and runs from the sources (tests in-process, no compiled worker
 * beside this file), are hashed here as before (blocks.ts).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { hashFile, NotARegularFileError, type FileHash, type HashFileOptions } from './blocks.js';
import type { HashReply, HashRequest } from './hash-worker.js';

/** Files larger than this are hashed on the threads (a photo of a few MiB is). */
export const THREAD_HASH_MIN_BYTES = 1024 * 1024;
const IDLE_MS = 10_000;

interface Waiting {
  readonly path: string;
  resolve(hash: FileHash): void;
  reject(error: Error): void;
}

class HashThreads {
  private readonly workers: Worker[] = [];
  private readonly idleWorkers: Worker[] = [];
  private readonly queue: HashRequest[] = [];
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private idle: NodeJS.Timeout | undefined;

  constructor(
    private readonly file: string,
    private readonly size: number,
  ) {}

  hash(path: string, blockSize: number, part: 'whole' | 'blocks'): Promise<FileHash> {
    clearTimeout(this.idle);
    const id = this.nextId++;
    return new Promise<FileHash>((resolve, reject) => {
      this.waiting.set(id, { path, resolve, reject });
      this.queue.push({ id, path, blockSize, part });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const worker = this.idleWorkers.pop() ?? this.start();
      if (worker === null) return;
      worker.postMessage(this.queue.shift());
    }
  }

  /** A new thread while there are fewer than `size`, else null (the queue waits). */
  private start(): Worker | null {
    if (this.workers.length >= this.size) return null;
    const worker = new Worker(this.file);
    worker.unref();
    worker.on('message', (reply: HashReply) => {
      this.settle(reply);
      this.idleWorkers.push(worker);
      this.dispatch();
      if (this.waiting.size === 0) this.scheduleStop();
    });
    worker.on('error', (error: Error) => {
      this.failAll(error);
    });
    worker.on('exit', () => {
      this.forget(worker);
      if (this.waiting.size > 0) this.failAll(new Error('A hashing thread stopped.'));
    });
    this.workers.push(worker);
    return worker;
  }

  private settle(reply: HashReply): void {
    const waiting = this.waiting.get(reply.id);
    this.waiting.delete(reply.id);
    if (waiting === undefined) return;
    if ('error' in reply) {
      if (reply.kind === 'NotARegularFileError') {
        waiting.reject(new NotARegularFileError(waiting.path));
        return;
      }
      const error = new Error(reply.error) as NodeJS.ErrnoException;
      if (reply.kind !== null) error.code = reply.kind;
      waiting.reject(error);
      return;
    }
    waiting.resolve({
      hash: reply.hash,
      size: reply.size,
      blockSize: reply.blockSize,
      blocks: Buffer.from(reply.blocks.buffer, reply.blocks.byteOffset, reply.blocks.byteLength),
    });
  }

  private failAll(error: Error): void {
    for (const waiting of this.waiting.values()) waiting.reject(error);
    this.waiting.clear();
    this.queue.length = 0;
  }

  private forget(worker: Worker): void {
    for (const list of [this.workers, this.idleWorkers]) {
      const at = list.indexOf(worker);
      if (at >= 0) list.splice(at, 1);
    }
  }

  private scheduleStop(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      for (const worker of [...this.workers]) {
        this.forget(worker);
        void worker.terminate();
      }
    }, IDLE_MS);
    this.idle.unref();
  }
}

let threads: HashThreads | null | undefined;

/** The process's hashing threads, or null when there is no compiled worker to run. */
function hashThreads(): HashThreads | null {
  if (threads !== undefined) return threads;
  const file = fileURLToPath(new URL('./hash-worker.js', import.meta.url));
  threads = existsSync(file)
    ? new HashThreads(file, Math.min(4, Math.max(2, availableParallelism())))
    : null;
  return threads;
}

/**
 * `hashFile` (blocks.ts) of a large file on the threads: one part (`options.part`) on one
 * thread, or both on two. The two parts must agree on the size they read; when they do not (the
 * file changed between the two reads), the result's size is -1, which no stat matches: the
 * scanner then takes the file as still changing.
 */
export async function hashOnThreads(path: string, options: HashFileOptions): Promise<FileHash> {
  const pool = (options.sizeHint ?? 0) > THREAD_HASH_MIN_BYTES ? hashThreads() : null;
  if (pool === null || options.blockSize === undefined) return hashFile(path, options);
  if (options.part !== undefined) return pool.hash(path, options.blockSize, options.part);
  const [whole, blocks] = await Promise.all([
    pool.hash(path, options.blockSize, 'whole'),
    pool.hash(path, options.blockSize, 'blocks'),
  ]);
  return {
    hash: whole.hash,
    size: whole.size === blocks.size ? whole.size : -1,
    blockSize: blocks.blockSize,
    blocks: blocks.blocks,
  };
}
