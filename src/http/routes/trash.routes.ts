/**
 * The trash: deleted pictures still within the retention, restored (`picture.restore`) or
 * emptied (`picture.purge`) at every node by their owner or an admin.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { TrashService } from '../../pictures/trash.service.js';
import { requirePrincipal } from '../auth.js';
import { ErrorBody, PictureIdParams } from '../schemas.js';
import { decodeTrashCursor, encodeTrashCursor } from './cursor.js';

const TrashView = z.object({
  id: z.string(),
  title: z.string(),
  category: z.string(),
  contentType: z.string(),
  size: z.number().int(),
  width: z.number().int(),
  height: z.number().int(),
  owner: z.string(),
  createdAt: z.string(),
  deletedAt: z.string(),
  /** When its bytes leave the trash for good (at this node's retention). */
  purgeAt: z.string(),
});

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

const TrashQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(300).optional().describe('`nextCursor` of the page before'),
});

export const trashRoutes =
  (trash: TrashService, retentionMs: number): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/api/trash',
      {
        schema: {
          summary:
            'Deleted pictures still in the trash, most recently deleted first, a page at a time',
          querystring: TrashQuery,
          response: {
            200: z.object({
              items: z.array(TrashView),
              retentionDays: z.number(),
              nextCursor: z
                .string()
                .nullable()
                .describe('The cursor of the next page; null: this is the last'),
              total: z.number().int().describe('Pictures in the trash, all pages'),
              yours: z
                .number()
                .int()
                .describe('Of those, the ones the caller may restore or empty (all, for an admin)'),
            }),
            400: ErrorBody,
            401: ErrorBody,
          },
        },
      },
      async (request) => {
        const { limit, cursor } = request.query;
        const view = await trash.list(requirePrincipal(request), {
          limit,
          after: cursor === undefined ? undefined : decodeTrashCursor(cursor),
        });
        return {
          items: view.items.map((t) => ({
            ...t,
            createdAt: new Date(t.createdAt).toISOString(),
            deletedAt: new Date(t.deletedAt).toISOString(),
            purgeAt: new Date(t.deletedAt + retentionMs).toISOString(),
          })),
          retentionDays: retentionMs / (24 * 3600 * 1000),
          nextCursor: view.next === null ? null : encodeTrashCursor(view.next),
          total: view.total,
          yours: view.yours,
        };
      },
    );

    app.get(
      '/api/trash/:id/thumb',
      {
        schema: {
          summary: 'The small thumbnail of a picture in the trash (404 when none is kept)',
          params: PictureIdParams,
        },
      },
      async (request, reply) =>
        reply
          .header('Cache-Control', 'private, no-cache')
          .header('Content-Type', 'image/webp')
          .send(await trash.thumbnail(request.params.id)),
    );

    app.post(
      '/api/trash/:id/restore',
      {
        schema: {
          summary: 'Bring a deleted picture back, at every node',
          params: PictureIdParams,
          response: { 204: z.null(), ...errors },
        },
      },
      async (request, reply) => {
        await trash.restore(requirePrincipal(request), request.params.id);
        return reply.status(204).send(null);
      },
    );

    app.delete(
      '/api/trash/:id',
      {
        schema: {
          summary: 'Empty one picture out of the trash now, at every node',
          params: PictureIdParams,
          response: { 204: z.null(), ...errors },
        },
      },
      async (request, reply) => {
        await trash.purge(requirePrincipal(request), request.params.id);
        return reply.status(204).send(null);
      },
    );

    app.delete(
      '/api/trash',
      {
        schema: {
          summary: 'Empty the trash (the pictures you may change; an admin: all)',
          response: { 200: z.object({ purged: z.number().int() }), 401: ErrorBody },
        },
      },
      async (request) => ({ purged: await trash.empty(requirePrincipal(request)) }),
    );
  };
