/**
 * The device's side of the device API: requests to its node with the account's bearer token
 * over undici, answers validated with the schemas the node uses. It is also the device's only
 * ContentSource: FolderSync fetches content from the node through it, exactly as from a peer.
 */
import { createReadStream } from 'node:fs';
import { pipeline, Readable, Transform } from 'node:stream';
import { Agent, request, type ResponseData } from '../http/undici-client.js';
import type { z } from 'zod';
import {
  readFrames,
  writeFrames,
  type ContentFrame,
  type FrameAllocator,
} from '../folders/content-frames.js';
import type { ContentSource } from '../folders/content-source.js';
import type { BlockList } from '../folders/blocks.js';
import { BlocksResponse } from '../replication/op-schema.js';
import type { Op } from '../oplog/op.js';
import {
  BatchUploadResponse,
  DevicePullResponse,
  DevicePushResponse,
  RegisterResponse,
  DeviceListResponse,
  UploadCheckResponse,
  UploadResponse,
  WantedResponse,
  type DeviceCursor,
} from './device-schemas.js';

/** The node refused the token (401). */
export class DeviceAuthError extends Error {
  override readonly name = 'DeviceAuthError';
}

/** The folder does not exist at the node, or this account may not use it (403/404). */
export class DeviceAccessError extends Error {
  override readonly name: string = 'DeviceAccessError';
}

/** This device was removed from its folder by its owner or an admin (403 `device_removed`). */
export class DeviceRemovedError extends DeviceAccessError {
  override readonly name = 'DeviceRemovedError';
}

/** Any other failed request; `status` null when the node could not be reached. */
export class DeviceRequestError extends Error {
  override readonly name = 'DeviceRequestError';
  constructor(
    message: string,
    readonly status: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Told about bytes moving, for a progress bar: `label` (a hash), bytes so far, total. */
export type TransferProgress = (
  direction: 'up' | 'down',
  label: string,
  done: number,
  total: number,
) => void;

export interface DeviceClientOptions {
  readonly token: string;
  readonly folder: string;
  readonly progress?: TransferProgress;
}

/** A transfer at least this large reports progress. */
const PROGRESS_MIN_BYTES = 8 * 1024 * 1024;

export class DeviceClient implements ContentSource {
  private readonly agent = new Agent({ keepAliveTimeout: 10_000, connections: 8 });
  private readonly base: string;

  constructor(
    readonly baseUrl: string,
    private readonly options: DeviceClientOptions,
  ) {
    this.base = `/api/folders/${encodeURIComponent(options.folder)}`;
  }

  /** Ends every request in flight (a long poll included) and the connections. */
  close(): Promise<void> {
    return this.agent.destroy();
  }

  register(
    deviceId: string,
    name: string,
    nonce: string | null,
  ): Promise<z.infer<typeof RegisterResponse>> {
    const body = nonce === null ? { deviceId, name } : { deviceId, name, nonce };
    return this.json('POST', `${this.base}/devices`, body, RegisterResponse);
  }

  /** The folder's devices this account sees (its own; every account's for an admin). */
  async devices(): Promise<z.infer<typeof DeviceListResponse>> {
    const res = await this.send('GET', `${this.base}/devices`, {}, null, 30_000);
    return this.parse(res, DeviceListResponse);
  }

  async push(deviceId: string, ops: readonly Op[]): Promise<number> {
    const res = await this.json(
      'POST',
      `${this.base}/devices/${deviceId}/ops`,
      { ops },
      DevicePushResponse,
    );
    return res.acked;
  }

  /** `wantedSeen`: the `wanted` tag of the last answer ('' at first; pull-stalls.ts). */
  pull(
    deviceId: string,
    cursor: DeviceCursor,
    limit: number,
    waitMs: number,
    wantedSeen: string,
  ): Promise<z.infer<typeof DevicePullResponse>> {
    return this.json(
      'POST',
      `${this.base}/devices/${deviceId}/pull`,
      { cursor, limit, waitMs, wantedSeen },
      DevicePullResponse,
      waitMs + 30_000,
    );
  }

  async missing(hashes: readonly string[]): Promise<{ hash: string; received: number }[]> {
    const res = await this.json(
      'POST',
      `${this.base}/uploads/missing`,
      { hashes },
      UploadCheckResponse,
    );
    return res.missing;
  }

  /** Contents the node needs and no peer of it could send (a node without the route: none). */
  async wanted(): Promise<string[]> {
    const res = await this.send('GET', `${this.base}/wanted`, {}, null, 30_000);
    if (res.statusCode === 404) {
      await res.body.dump();
      return [];
    }
    return (await this.parse(res, WantedResponse)).hashes;
  }

  /** Of the node's wanted contents, those this device holds nowhere (an older node: ignored). */
  async lacking(deviceId: string, hashes: readonly string[]): Promise<void> {
    const res = await this.send(
      'POST',
      `${this.base}/devices/${deviceId}/lacking`,
      { 'content-type': 'application/json' },
      JSON.stringify({ hashes }),
      30_000,
    );
    if (res.statusCode === 204 || res.statusCode === 404) {
      await res.body.dump();
      return;
    }
    await this.fail(res, 'lacking');
  }

  /** Sends small files in one request (frames); `locate` finds each on disk. */
  async uploadBatch(
    hashes: readonly string[],
    locate: (hash: string) => Promise<string | null>,
  ): Promise<number> {
    const body = Readable.from(writeFrames(hashes, locate), { objectMode: false });
    const res = await this.send(
      'POST',
      `${this.base}/uploads`,
      { 'content-type': 'application/octet-stream' },
      body,
      120_000,
    );
    return (await this.parse(res, BatchUploadResponse)).stored;
  }

  /** Streams `file` (`size` bytes) from `offset`; the node verifies the whole against `hash`. */
  async upload(hash: string, file: string, size: number, offset: number): Promise<boolean> {
    const progress = this.options.progress;
    let body: Readable = createReadStream(file, { start: offset });
    if (progress && size >= PROGRESS_MIN_BYTES) {
      body = withCounter(body, offset, (done) => {
        progress('up', hash, done, size);
      });
    }
    const res = await this.send(
      'PUT',
      `${this.base}/uploads/${hash}?size=${size}&offset=${offset}`,
      { 'content-type': 'application/octet-stream', 'content-length': String(size - offset) },
      body,
      120_000,
    );
    return (await this.parse(res, UploadResponse)).complete;
  }

  async folderBlocks(_folder: string, hash: string): Promise<BlockList | null> {
    const res = await this.send('GET', `${this.base}/blocks/${hash}`, {}, null, 30_000);
    if (res.statusCode === 404) {
      await res.body.dump();
      return null;
    }
    const list = await this.parse(res, BlocksResponse);
    return { blockSize: list.blockSize, blocks: Buffer.from(list.blocks, 'base64') };
  }

  async folderContent(
    _folder: string,
    hash: string,
    offset: number,
    end?: number,
  ): Promise<{ body: Readable; start: number } | null> {
    const headers: Record<string, string> = {};
    if (offset > 0 || end !== undefined) headers['range'] = `bytes=${offset}-${end ?? ''}`;
    const res = await this.send('GET', `${this.base}/content/${hash}`, headers, null, 120_000);
    if (res.statusCode === 404 || res.statusCode === 416) {
      await res.body.dump();
      return null;
    }
    if (res.statusCode !== 200 && res.statusCode !== 206) await this.fail(res, 'GET content');
    const start = res.statusCode === 206 ? offset : 0;
    const total = start + Number(res.headers['content-length'] ?? 0);
    const progress = this.options.progress;
    const body =
      progress && total >= PROGRESS_MIN_BYTES
        ? withCounter(res.body, start, (done) => {
            progress('down', hash, done, total);
          })
        : res.body;
    return { body, start };
  }

  async *folderContents(
    _folder: string,
    wanted: readonly { hash: string; size: number }[],
    allocate?: FrameAllocator,
  ): AsyncGenerator<ContentFrame> {
    const res = await this.send(
      'POST',
      `${this.base}/contents`,
      { 'content-type': 'application/json' },
      JSON.stringify({ hashes: wanted.map((w) => w.hash) }),
      120_000,
    );
    if (res.statusCode !== 200) await this.fail(res, 'POST contents');
    try {
      yield* readFrames(res.body, wanted, allocate);
    } finally {
      if (!res.body.destroyed) res.body.destroy();
    }
  }

  private async json<T extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    payload: unknown,
    schema: T,
    timeoutMs = 30_000,
  ): Promise<z.infer<T>> {
    const res = await this.send(
      method,
      path,
      { 'content-type': 'application/json' },
      JSON.stringify(payload),
      timeoutMs,
    );
    return this.parse(res, schema);
  }

  private async parse<T extends z.ZodType>(res: ResponseData, schema: T): Promise<z.infer<T>> {
    if (res.statusCode !== 200) await this.fail(res, 'request');
    const parsed = schema.safeParse(await res.body.json());
    if (!parsed.success) throw new DeviceRequestError('The node sent a malformed answer.', 200);
    return parsed.data;
  }

  /** Turns an error answer into the matching error (reads the node's JSON error message). */
  private async fail(res: ResponseData, what: string): Promise<never> {
    const text = await res.body.text().catch(() => '');
    let message = text.slice(0, 300);
    let code: string | undefined;
    try {
      const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
      message = parsed.error?.message ?? message;
      code = parsed.error?.code;
    } catch {
      // not JSON: keep the text
    }
    if (res.statusCode === 401) throw new DeviceAuthError(message);
    if (res.statusCode === 403 && code === 'device_removed') throw new DeviceRemovedError(message);
    if (res.statusCode === 403 || res.statusCode === 404) throw new DeviceAccessError(message);
    throw new DeviceRequestError(`${what} answered ${res.statusCode}: ${message}`, res.statusCode);
  }

  private async send(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    headers: Record<string, string>,
    body: string | Readable | null,
    timeoutMs: number,
  ): Promise<ResponseData> {
    try {
      return await request(new URL(path, this.baseUrl), {
        method,
        headers: { ...headers, authorization: `Bearer ${this.options.token}` },
        body,
        dispatcher: this.agent,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (error) {
      throw new DeviceRequestError(
        `${method} ${this.baseUrl}${path}: ${(error as Error).message}`,
        null,
        { cause: error },
      );
    }
  }
}

/**
 * `source` passed through a counter that tells `report` the running total (from `start`); an
 * error of the source destroys the result too (a plain pipe() would leave it hanging).
 */
function withCounter(source: Readable, start: number, report: (done: number) => void): Readable {
  let done = start;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      done += chunk.length;
      report(done);
      callback(null, chunk);
    },
  });
  return pipeline(source, counter, () => undefined);
}
