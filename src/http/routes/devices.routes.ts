/**
 * The device API (`mosaic sync`), under /api/folders/:folder/...: authenticated like the rest of
 * /api (bearer token or session), every route checks that the account may use the folder.
 * Handlers parse, authorize and delegate to DeviceService; content is served with the same
 * framed batches and Range support as between peers.
 */
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DeviceService } from '../../devices/device.service.js';
import {
  BatchUploadResponse,
  ContentParams,
  DeviceParams,
  DevicePullRequest,
  DevicePullResponse,
  DeviceListResponse,
  DevicePushRequest,
  DevicePushResponse,
  FolderParams,
  LackingRequest,
  RegisterRequest,
  RegisterResponse,
  Sha256,
  UploadCheckRequest,
  UploadCheckResponse,
  UploadQuery,
  UploadResponse,
  WantedResponse,
} from '../../devices/device-schemas.js';
import type { Faults } from '../../faults/faults.js';
import { MAX_FRAMED_FILES, writeFrames } from '../../folders/content-frames.js';
import type { Op } from '../../oplog/op.js';
import { AccessEndedError, BadRequestError } from '../../core/errors.js';
import { readStreamNoFollow, regularFileSize } from '../../core/read-no-follow.js';
import { requirePrincipal } from '../auth.js';
import { ErrorBody } from '../schemas.js';
import { BlocksResponse } from '../../replication/op-schema.js';
import { sendFile, sendFrames } from './send-range.js';

export interface DeviceRoutesDeps {
  readonly devices: DeviceService;
  readonly faults: Faults;
}

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

export const deviceRoutes =
  ({ devices, faults }: DeviceRoutesDeps): FastifyPluginAsyncZod =>
  async (app) => {
    // Uploads are streamed to disk as they arrive, never buffered (this plugin's scope only).
    app.addContentTypeParser('application/octet-stream', (_request, payload, done) => {
      done(null, payload);
    });

    app.post(
      '/api/folders/:folder/devices',
      {
        schema: {
          summary:
            'Register a device (mosaic sync) for a folder; says how far its changes are here',
          params: FolderParams,
          body: RegisterRequest,
          response: { 200: RegisterResponse, ...errors },
        },
      },
      async (request) =>
        devices.register(
          requirePrincipal(request),
          request.params.folder,
          request.body.deviceId,
          request.body.name,
          request.body.nonce,
        ),
    );

    app.get(
      '/api/folders/:folder/devices',
      {
        schema: {
          summary:
            "A folder's devices (mosaic sync): yours, or everyone's for an admin, with when each was last seen here",
          params: FolderParams,
          response: { 200: DeviceListResponse, ...errors },
        },
      },
      async (request) =>
        (await devices.list(requirePrincipal(request), request.params.folder)).map((d) => ({
          id: d.deviceId,
          name: d.name,
          owner: d.username,
          lastSeen: d.lastSeen === null ? null : new Date(d.lastSeen).toISOString(),
        })),
    );

    app.delete(
      '/api/folders/:folder/devices/:device',
      {
        schema: {
          summary:
            'Remove a device from the folder, at every node: it is refused from then on (its owner or an admin)',
          params: DeviceParams,
          response: { 204: z.null(), ...errors },
        },
      },
      async (request, reply) => {
        const { folder, device } = request.params;
        await devices.remove(requirePrincipal(request), folder, device);
        return reply.status(204).send(null);
      },
    );

    app.post(
      '/api/folders/:folder/devices/:device/ops',
      {
        bodyLimit: 16 * 1024 * 1024,
        schema: {
          summary: "Push a device's own file changes (file.put operations)",
          params: DeviceParams,
          body: DevicePushRequest,
          response: { 200: DevicePushResponse, 422: ErrorBody, ...errors },
        },
      },
      async (request) => ({
        acked: await devices.push(
          requirePrincipal(request),
          request.params.folder,
          request.params.device,
          request.body.ops as Op[],
        ),
      }),
    );

    app.post(
      '/api/folders/:folder/devices/:device/pull',
      {
        // A long poll: its caller losing access ends the wait with a 401 (access-cut.ts).
        config: { onAccessLoss: 'answer' },
        schema: {
          summary: "The folder's changes the device has not seen (long poll with waitMs)",
          params: DeviceParams,
          body: DevicePullRequest,
          response: { 200: DevicePullResponse, ...errors },
        },
      },
      async (request, reply) => {
        // The response closes before it is sent only when the device hangs up. (Not the
        // request's `destroyed`: the request stream ends, destroyed, once its body is read,
        // which ended every long poll at once: a device asked a thousand times a second.)
        const hungUp = new AbortController();
        const onClose = () => {
          if (!reply.raw.writableFinished) hungUp.abort();
        };
        reply.raw.once('close', onClose);
        const lost = request.accessLost;
        try {
          const page = await devices.pull(
            requirePrincipal(request),
            request.params.folder,
            request.params.device,
            request.body,
            lost === null ? hungUp.signal : AbortSignal.any([hungUp.signal, lost]),
          );
          if (lost?.aborted === true) throw new AccessEndedError();
          return page;
        } finally {
          reply.raw.off('close', onClose);
        }
      },
    );

    app.get(
      '/api/folders/:folder/wanted',
      {
        schema: {
          summary: 'Contents the node needs and no peer could send (a device uploads its own)',
          params: FolderParams,
          response: { 200: WantedResponse, ...errors },
        },
      },
      async (request) => ({
        hashes: devices.wanted(requirePrincipal(request), request.params.folder),
      }),
    );

    app.post(
      '/api/folders/:folder/devices/:device/lacking',
      {
        schema: {
          summary: 'Of the wanted contents, those the device holds nowhere (its lost versions)',
          params: DeviceParams,
          body: LackingRequest,
          response: { 204: z.null(), ...errors },
        },
      },
      async (request, reply) => {
        const { folder, device } = request.params;
        await devices.lacking(requirePrincipal(request), folder, device, request.body.hashes);
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/api/folders/:folder/content/:hash',
      { schema: { summary: 'One file of the folder by content (Range)', params: ContentParams } },
      async (request, reply) => {
        const folder = devices.folderFor(requirePrincipal(request), request.params.folder);
        const file = await folder.contentFor(request.params.hash);
        const size = file === null ? null : await regularFileSize(file);
        if (file === null || size === null) {
          return reply
            .status(404)
            .send({ error: { code: 'not_found', message: 'No such content here.' } });
        }
        return sendFile(reply, request.headers.range, file, size, faults, (range) =>
          readStreamNoFollow(file, range),
        );
      },
    );

    app.get(
      '/api/folders/:folder/blocks/:hash',
      {
        schema: {
          summary: 'The block list of a content (to download only the changed blocks)',
          params: ContentParams,
          response: { 200: BlocksResponse, ...errors },
        },
      },
      async (request, reply) => {
        const folder = devices.folderFor(requirePrincipal(request), request.params.folder);
        const list = await folder.blocksFor(request.params.hash);
        if (list === null) {
          return reply.status(404).send({
            error: { code: 'not_found', message: 'No block list for that content here.' },
          });
        }
        return { blockSize: list.blockSize, blocks: list.blocks.toString('base64') };
      },
    );

    app.post(
      '/api/folders/:folder/contents',
      {
        schema: {
          summary: 'Many small files of the folder by content, as frames (content-frames.ts)',
          params: FolderParams,
          body: z.strictObject({ hashes: z.array(Sha256).min(1).max(MAX_FRAMED_FILES) }),
        },
      },
      async (request, reply) => {
        const folder = devices.folderFor(requirePrincipal(request), request.params.folder);
        return sendFrames(reply, faults, (chunks) =>
          writeFrames(request.body.hashes, (hash) => folder.contentFor(hash), { chunks }),
        );
      },
    );

    app.post(
      '/api/folders/:folder/uploads/missing',
      {
        schema: {
          summary: 'Which of these contents the node lacks, and how much of each it has',
          params: FolderParams,
          body: UploadCheckRequest,
          response: { 200: UploadCheckResponse, ...errors },
        },
      },
      async (request) => ({
        missing: await devices.missing(
          requirePrincipal(request),
          request.params.folder,
          request.body.hashes,
        ),
      }),
    );

    app.post(
      '/api/folders/:folder/uploads',
      {
        schema: {
          summary: 'Upload many small files at once (frames of content-frames.ts)',
          params: FolderParams,
          response: { 200: BatchUploadResponse, ...errors },
        },
      },
      async (request) => ({
        stored: await devices.uploadBatch(
          requirePrincipal(request),
          request.params.folder,
          streamOf(request.body),
        ),
      }),
    );

    app.put(
      '/api/folders/:folder/uploads/:hash',
      {
        schema: {
          summary: 'Upload one file by content, from `offset` (resumable; verified by SHA-256)',
          params: ContentParams,
          querystring: UploadQuery,
          response: { 200: UploadResponse, ...errors },
        },
      },
      async (request) =>
        devices.upload(
          requirePrincipal(request),
          request.params.folder,
          request.params.hash,
          request.query.size,
          request.query.offset,
          streamOf(request.body),
        ),
    );
  };

function streamOf(body: unknown): Readable {
  if (body instanceof Readable) return body;
  throw new BadRequestError('Send the bytes as application/octet-stream.');
}
