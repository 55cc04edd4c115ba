/**
 * The client side of the peer protocol: signed requests to one peer over undici, responses
 * validated with the same schemas the server uses.
 */
import type { Readable } from 'node:stream';
import { Agent, request } from '../http/undici-client.js';
import type { z } from 'zod';
import type { Faults } from '../faults/faults.js';
import { readFrames, type ContentFrame, type FrameAllocator } from '../folders/content-frames.js';
import { readBlobFrames, type BlobFrame } from '../blobs/blob-frames.js';
import type { Op } from '../oplog/op.js';
import type { OpPosition } from '../oplog/oplog.repository.js';
import { ANY_NODE, signRequest } from './peer-auth.js';
import type { LoginEvent } from '../accounts/login-limiter.js';
import { LoginEventsResponse } from './login-fanout.js';
import {
  BlocksResponse,
  HelloResponse,
  PullResponse,
  PushResponse,
  type PeerInfoSchema,
} from './op-schema.js';
import type { BlockList } from '../folders/blocks.js';
import type { VersionVector } from './version-vector.js';

export class PeerError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PeerError';
  }
}

/**
 * What a peer's error answer says: the message of the JSON error shape (`{error: {code,
 * message}}`), which is what a person reads on the cluster page (a refusal's reason: clocks that
 * disagree, another cluster key), else the body's first characters.
 */
export function answerText(text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    const error = (parsed as { error?: { message?: unknown } } | null)?.error;
    if (typeof error?.message === 'string') return error.message.slice(0, 400);
  } catch {
    // Not JSON: shown as it came.
  }
  return text.slice(0, 200);
}

export interface PeerClientOptions {
  readonly key: string;
  readonly self: z.infer<typeof PeerInfoSchema>;
  readonly agent: Agent;
  readonly faults: Faults;
  readonly timeoutMs?: number;
}

export class PeerClient {
  /**
   * The node id behind baseUrl, learned from its answer to hello: every request but hello is
   * signed for it (peer-auth.ts), so none can be replayed to another node.
   */
  private peerId: string | null = null;
  /** Its name, from the same answer (MOSAIC_FAULTS may name the peers it cuts off). */
  private peerName: string | null = null;
  /** Requests under way, each until its answer's body is read or dropped (`abortAll`). */
  private readonly inFlight = new Set<AbortController>();

  constructor(
    readonly baseUrl: string,
    private readonly options: PeerClientOptions,
  ) {}

  /** Signed for any node (the id is not known yet, or may have changed); learns the id. */
  async hello(): Promise<z.infer<typeof HelloResponse>> {
    const info = await this.json('POST', '/peer/hello', this.options.self, HelloResponse);
    this.peerId = info.nodeId;
    this.peerName = info.name;
    return info;
  }

  push(ops: readonly Op[]): Promise<z.infer<typeof PushResponse>> {
    return this.json('POST', '/peer/ops', { ops }, PushResponse);
  }

  pull(
    vv: VersionVector,
    after: OpPosition | null,
    limit: number,
  ): Promise<z.infer<typeof PullResponse>> {
    return this.json('POST', '/peer/pull', { vv, after, limit }, PullResponse);
  }

  /** Sign-in outcomes for the cluster-wide back-off (login-fanout.ts). */
  async loginEvents(events: readonly LoginEvent[]): Promise<void> {
    await this.json('POST', '/peer/auth/events', { events }, LoginEventsResponse);
  }

  /**
   * Streams a blob from `offset`. Resolves with the body and where it starts (0 when the peer
   * ignored the range), or null when the peer does not have the blob.
   */
  async blob(hash: string, offset: number): Promise<{ body: Readable; start: number } | null> {
    return this.stream(`/peer/blobs/${hash}`, offset);
  }

  /**
   * Fetches many small blobs in one request (POST /peer/blobs, see blob-frames.ts): the frames
   * come in the order asked, each verified by size and SHA-256, or null when the peer does not
   * have that blob. Resolves null when the peer has no batch route (an older node). `allocate`
   * gives the buffers the blobs are copied into (core/frames.ts).
   */
  async blobBatch(
    wanted: readonly { hash: string; size: number }[],
    allocate?: (length: number) => Buffer,
  ): Promise<AsyncGenerator<BlobFrame> | null> {
    const path = '/peer/blobs';
    const body = JSON.stringify({ hashes: wanted.map((w) => w.hash) });
    const headers = await this.sign('POST', path, body);
    headers['content-type'] = 'application/json';
    const res = await this.send('POST', path, headers, body, 120_000);
    if (res.statusCode === 404) {
      await res.body.dump();
      return null;
    }
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      throw new PeerError(
        `POST ${path} answered ${res.statusCode}: ${answerText(text)}`,
        res.statusCode,
      );
    }
    return (async function* () {
      try {
        yield* readBlobFrames(res.body, wanted, allocate);
      } finally {
        // A consumer that stops early must not leave the connection half read.
        if (!res.body.destroyed) res.body.destroy();
      }
    })();
  }

  /** Streams a synced folder's file content by hash from `offset` (null: the peer has none). */
  async folderContent(
    folder: string,
    hash: string,
    offset: number,
    end?: number,
  ): Promise<{ body: Readable; start: number } | null> {
    return this.stream(`/peer/folders/${encodeURIComponent(folder)}/content/${hash}`, offset, end);
  }

  /** The block list of a folder content the peer has indexed (null: it has none). */
  async folderBlocks(folder: string, hash: string): Promise<BlockList | null> {
    const path = `/peer/folders/${encodeURIComponent(folder)}/blocks/${hash}`;
    const headers = await this.sign('GET', path, '');
    const res = await this.send('GET', path, headers, undefined, this.options.timeoutMs ?? 15_000);
    const text = await res.body.text();
    if (res.statusCode === 404) return null;
    if (res.statusCode !== 200) {
      throw new PeerError(
        `GET ${path} answered ${res.statusCode}: ${answerText(text)}`,
        res.statusCode,
      );
    }
    const parsed = BlocksResponse.safeParse(JSON.parse(text));
    if (!parsed.success) throw new PeerError(`GET ${path}: malformed answer`, res.statusCode);
    return { blockSize: parsed.data.blockSize, blocks: Buffer.from(parsed.data.blocks, 'base64') };
  }

  /**
   * Fetches many small files of a synced folder in one request (see content-frames.ts): the
   * frames come in the order asked, each null when the peer does not have that content.
   */
  async *folderContents(
    folder: string,
    wanted: readonly { hash: string; size: number }[],
    allocate?: FrameAllocator,
  ): AsyncGenerator<ContentFrame> {
    const path = `/peer/folders/${encodeURIComponent(folder)}/contents`;
    const body = JSON.stringify({ hashes: wanted.map((w) => w.hash) });
    const headers = await this.sign('POST', path, body);
    headers['content-type'] = 'application/json';
    const res = await this.send('POST', path, headers, body, 120_000);
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      throw new PeerError(
        `POST ${path} answered ${res.statusCode}: ${answerText(text)}`,
        res.statusCode,
      );
    }
    try {
      yield* readFrames(res.body, wanted, allocate);
    } finally {
      // A consumer that stops early must not leave the connection half read.
      if (!res.body.destroyed) res.body.destroy();
    }
  }

  /** GET of bytes from `offset` to the end, or to `end` (inclusive). */
  private async stream(
    path: string,
    offset: number,
    end?: number,
  ): Promise<{ body: Readable; start: number } | null> {
    const headers = await this.sign('GET', path, '');
    if (offset > 0 || end !== undefined) headers['range'] = `bytes=${offset}-${end ?? ''}`;
    const res = await this.send('GET', path, headers, undefined, 120_000);
    if (res.statusCode === 404 || res.statusCode === 416) {
      await res.body.dump();
      return null;
    }
    if (res.statusCode !== 200 && res.statusCode !== 206) {
      await res.body.dump();
      throw new PeerError(`GET ${path} answered ${res.statusCode}`, res.statusCode);
    }
    return { body: res.body, start: res.statusCode === 206 ? offset : 0 };
  }

  private async json<T extends z.ZodType>(
    method: string,
    path: string,
    payload: unknown,
    schema: T,
  ): Promise<z.infer<T>> {
    const body = JSON.stringify(payload);
    const headers = await this.sign(method, path, body);
    headers['content-type'] = 'application/json';
    const res = await this.send(method, path, headers, body, this.options.timeoutMs ?? 15_000);
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      throw new PeerError(
        `${method} ${path} answered ${res.statusCode}: ${answerText(text)}`,
        res.statusCode,
      );
    }
    const parsed = schema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new PeerError(`${method} ${path}: malformed answer`, res.statusCode);
    return parsed.data;
  }

  private async sign(method: string, path: string, body: string): Promise<Record<string, string>> {
    if (!(await this.options.faults.beforePeerSend())) {
      throw new PeerError(`${method} ${path} dropped (MOSAIC_FAULTS)`, null);
    }
    const to = path === '/peer/hello' ? ANY_NODE : this.peerId;
    // A cut link (MOSAIC_FAULTS blockPeers) carries nothing: the link's exchanges check it
    // themselves (PeerLink), and the other requests (blobs, folder contents) stop here.
    if (to !== ANY_NODE && this.options.faults.isBlocked(this.peerId, this.peerName)) {
      throw new PeerError(`${method} ${path}: link cut by MOSAIC_FAULTS`, null);
    }
    if (to === null) {
      throw new PeerError(`${method} ${path}: ${this.baseUrl} has not answered a hello yet`, null);
    }
    const { self, key } = this.options;
    return signRequest(key, { method, path, nodeId: self.nodeId, url: self.url ?? '', to, body });
  }

  /**
   * Gives up every request under way to this peer, the bodies being read included (their
   * readers get the error). For a peer found down: a request sent before the link went (a
   * partition, a peer that lost power, a laptop closed) stays open without an answer until its
   * timeout (two minutes for content) or until TCP's retransmissions get through after the heal
   * (seconds to tens of seconds), and meanwhile the folder pull or blob fetch waiting on it
   * could not ask another peer.
   */
  abortAll(reason: string): void {
    for (const controller of this.inFlight) {
      controller.abort(new PeerError(`${this.baseUrl}: ${reason}`, null));
    }
    this.inFlight.clear();
  }

  private async send(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
    timeoutMs: number,
  ) {
    const controller = new AbortController();
    this.inFlight.add(controller);
    try {
      const res = await request(new URL(path, this.baseUrl), {
        method: method,
        headers,
        body: body ?? null,
        dispatcher: this.options.agent,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: controller.signal,
      });
      // Read to its end or dropped: the request is over.
      res.body.once('close', () => this.inFlight.delete(controller));
      return res;
    } catch (error) {
      this.inFlight.delete(controller);
      throw new PeerError(`${method} ${this.baseUrl}${path}: ${(error as Error).message}`, null, {
        cause: error,
      });
    }
  }
}
