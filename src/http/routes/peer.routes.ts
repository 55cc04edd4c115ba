/**
 * The peer API (/peer/*), spoken only between nodes of one cluster. Every request must carry a
 * valid HMAC signature made with the cluster key for this node (src/replication/peer-auth.ts),
 * checked before the body is read (src/http/peer-guard.ts); anything else gets 401, is logged,
 * and changes nothing. Each route reads at most its own `bodyLimit`. Bodies are validated like
 * any other input, and operations are checked one by one (ChangeLog.receive): a refused one is
 * reported in the answer and the rest of the batch is applied.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { MAX_BATCH_BLOBS, writeBlobFrames } from '../../blobs/blob-frames.js';
import type { BlobStore } from '../../blobs/blob-store.js';
import { BadRequestError } from '../../core/errors.js';
import { readStreamNoFollow, regularFileSize } from '../../core/read-no-follow.js';
import {
  MAX_FRAMED_FILES,
  type OpenFile,
  type Scratch,
  writeFrames,
} from '../../folders/content-frames.js';
import type { BlockList } from '../../folders/blocks.js';
import type { Faults } from '../../faults/faults.js';
import type { ChangeLog } from '../../oplog/change-log.js';
import type { OpLogRepository } from '../../oplog/oplog.repository.js';
import {
  BlobParams,
  BlocksResponse,
  HelloRequest,
  HelloResponse,
  PullRequest,
  PullResponse,
  PushRequest,
  PushResponse,
} from '../../replication/op-schema.js';
import type { PeerVerifier } from '../../replication/peer-auth.js';
import { ErrorBody } from '../schemas.js';
import { installPeerGuard } from '../peer-guard.js';
import { sendFile, sendFrames, sendRange, throttled } from './send-range.js';

export interface PeerRoutesDeps {
  readonly verifier: PeerVerifier;
  readonly self: () => { nodeId: string; name: string; url: string | null; version: string };
  readonly oplog: OpLogRepository;
  readonly changes: ChangeLog;
  readonly blobs: BlobStore;
  readonly faults: Faults;
  readonly pendingBlobBytes: () => Promise<number>;
  /** A file of a synced folder with this content, on disk here now (null: none). */
  readonly folderContent: (folder: string, hash: string) => Promise<string | null>;
  /**
   * For a batch of small files: per content of `hashes`, the bytes when at hand, else a file as
   * above (default: that), all looked up at once.
   */
  readonly folderSmallContents?: (
    folder: string,
    hashes: readonly string[],
  ) => (hash: string, scratch?: Scratch) => Promise<string | Buffer | OpenFile | null>;
  /** The block list of a content a synced folder here has indexed (null: none). */
  readonly folderBlocks: (folder: string, hash: string) => Promise<BlockList | null>;
  /** A verified peer contacted us (with the URL it can be reached at, possibly empty). */
  readonly contacted: (nodeId: string, url: string) => void;
}

/**
 * What each route needs at most. A push is a batch of 500 operations (peer-link.ts); the
 * largest legitimate ones (long descriptions, deep paths, wide file version vectors) stay far
 * under 16 MiB. A pull request is a version vector (one entry per node and device: 1 MiB is
 * ~20 000 origins); a hello is the sender's id, name and URL; GETs have no body.
 */
const LIMITS = {
  hello: 16 * 1024,
  ops: 16 * 1024 * 1024,
  pull: 1024 * 1024,
  contents: 256 * 1024,
  blobs: 32 * 1024, // MAX_BATCH_BLOBS hashes of 64 hex digits in JSON: ~17 KiB
  none: 1, // Fastify wants a positive limit; these routes take no body
} as const;

export const peerRoutes =
  (deps: PeerRoutesDeps): FastifyPluginAsyncZod =>
  async (app) => {
    installPeerGuard(app, {
      verifier: deps.verifier,
      faults: deps.faults,
      contacted: deps.contacted,
    });

    const errors = { 400: ErrorBody, 401: ErrorBody, 413: ErrorBody };

    app.post(
      '/peer/hello',
      {
        bodyLimit: LIMITS.hello,
        schema: { hide: true, body: HelloRequest, response: { 200: HelloResponse, ...errors } },
      },
      async (request) => {
        if (request.body.nodeId !== request.peerId) {
          throw new BadRequestError('The hello names another node than the one that signed it.');
        }
        return {
          ...deps.self(),
          vv: await deps.oplog.versionVector(),
          pendingBlobBytes: await deps.pendingBlobBytes(),
        };
      },
    );

    app.post(
      '/peer/ops',
      {
        bodyLimit: LIMITS.ops,
        schema: { hide: true, body: PushRequest, response: { 200: PushResponse, ...errors } },
      },
      async (request) => {
        // A node pushes only its own operations; others' travel by pull.
        const sender = request.peerId;
        const { applied, rejected } = await deps.changes.receive(request.body.ops, {
          ...(sender === undefined ? {} : { sender }),
        });
        if (rejected.length > 0) {
          request.log.warn(
            { peer: sender, rejected: rejected.slice(0, 10), count: rejected.length },
            'pushed operations refused',
          );
        }
        return { applied: applied.length, rejected, vv: await deps.oplog.versionVector() };
      },
    );

    app.post(
      '/peer/pull',
      {
        bodyLimit: LIMITS.pull,
        schema: { hide: true, body: PullRequest, response: { 200: PullResponse, ...errors } },
      },
      async (request) => {
        const { vv, after, limit } = request.body;
        return deps.oplog.missingFor(vv, after, limit);
      },
    );

    app.get(
      '/peer/folders/:folder/content/:hash',
      { bodyLimit: LIMITS.none, schema: { hide: true, params: FolderContentParams } },
      async (request, reply) => {
        const file = await deps.folderContent(request.params.folder, request.params.hash);
        const size = file === null ? null : await regularFileSize(file);
        if (file === null || size === null) {
          return reply
            .status(404)
            .send({ error: { code: 'not_found', message: 'No such content here.' } });
        }
        return sendFile(reply, request.headers.range, file, size, deps.faults, (range) =>
          readStreamNoFollow(file, range),
        );
      },
    );

    app.get(
      '/peer/folders/:folder/blocks/:hash',
      {
        bodyLimit: LIMITS.none,
        schema: {
          hide: true,
          params: FolderContentParams,
          response: { 200: BlocksResponse, 404: ErrorBody },
        },
      },
      async (request, reply) => {
        const list = await deps.folderBlocks(request.params.folder, request.params.hash);
        if (list === null) {
          return reply.status(404).send({
            error: { code: 'not_found', message: 'No block list for that content here.' },
          });
        }
        return { blockSize: list.blockSize, blocks: list.blocks.toString('base64') };
      },
    );

    app.post(
      '/peer/folders/:folder/contents',
      {
        bodyLimit: LIMITS.contents,
        schema: {
          hide: true,
          params: FolderParams,
          body: z.strictObject({ hashes: z.array(Sha256).min(1).max(MAX_FRAMED_FILES) }),
        },
      },
      async (request, reply) => {
        const { folder } = request.params;
        const { hashes } = request.body;
        const locate =
          deps.folderSmallContents?.(folder, hashes) ??
          ((hash: string) => deps.folderContent(folder, hash));
        return sendFrames(reply, deps.faults, (chunks) =>
          writeFrames(hashes, (hash, scratch) => locate(hash, scratch), { chunks }),
        );
      },
    );

    // Many small blobs in one answer (blob-frames.ts), for a node catching up: each frame is
    // verified by the receiver as it arrives; a blob missing here is framed as not available.
    app.post(
      '/peer/blobs',
      {
        bodyLimit: LIMITS.blobs,
        schema: {
          hide: true,
          body: z.strictObject({ hashes: z.array(Sha256).min(1).max(MAX_BATCH_BLOBS) }),
        },
      },
      async (request, reply) => {
        const frames = writeBlobFrames(request.body.hashes, deps.blobs);
        return reply
          .header('Content-Type', 'application/octet-stream')
          .send(throttled(deps.faults, Readable.from(frames, { objectMode: false })));
      },
    );

    app.get(
      '/peer/blobs/:hash',
      { bodyLimit: LIMITS.none, schema: { hide: true, params: BlobParams } },
      async (request, reply) => {
        const { hash } = request.params;
        const size = await deps.blobs.size(hash);
        if (size === null) {
          return reply
            .status(404)
            .send({ error: { code: 'not_found', message: 'No such blob here.' } });
        }
        return sendRange(reply, request.headers.range, size, async (range) =>
          throttled(deps.faults, await deps.blobs.read(hash, range ?? undefined)),
        );
      },
    );
  };

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const FolderParams = z.strictObject({ folder: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/) });
const FolderContentParams = FolderParams.extend({ hash: Sha256 });
