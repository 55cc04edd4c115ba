/**
 * Albums: list, create, rename/describe/cover, delete, and their pictures (add and remove by
 * id, from the gallery's multi-select). Every change is an operation (src/albums/).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AlbumSummary } from '../../albums/album.repository.js';
import { MAX_PICTURES_PER_CHANGE, type AlbumService } from '../../albums/album.service.js';
import { requirePrincipal } from '../auth.js';
import { Desc, ErrorBody, Picture, PictureId } from '../schemas.js';
import { decodeTakenCursor, encodeTakenCursor } from './cursor.js';

const NO_CONTROL = /^[^\p{Cc}]*$/u;
const AlbumName = z
  .string()
  .trim()
  .min(1, 'An album needs a name.')
  .max(200, 'An album name has at most 200 characters.')
  .regex(NO_CONTROL, 'An album name may not contain control characters.');

export const AlbumView = z.object({
  id: z.string(),
  name: z.string(),
  desc: z.string(),
  owner: z.string(),
  createdAt: z.string(),
  /** The picture shown for the album (its cover, else its newest); null when empty. */
  coverId: z.string().nullable(),
  count: z.number().int(),
});

export const AlbumId = z.string().regex(/^[0-9a-f]{32}$/, 'An album id is 32 hex characters.');
const AlbumParams = z.strictObject({ id: AlbumId });
const AlbumCreate = z.strictObject({ name: AlbumName, desc: Desc.default('') });
const AlbumPatch = z.strictObject({
  name: AlbumName.optional(),
  desc: Desc.optional(),
  cover: z.union([PictureId, z.literal('')]).optional(),
});
const MembersBody = z.strictObject({
  add: z.array(PictureId).max(MAX_PICTURES_PER_CHANGE).default([]),
  remove: z.array(PictureId).max(MAX_PICTURES_PER_CHANGE).default([]),
});
const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(100),
  cursor: z.string().max(200).optional(),
});

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

export function albumView(a: AlbumSummary): z.infer<typeof AlbumView> {
  return { ...a, createdAt: new Date(a.createdAt).toISOString() };
}

export const albumRoutes =
  (albums: AlbumService): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/api/albums',
      {
        schema: {
          summary: 'Every album, newest first',
          response: { 200: z.object({ items: z.array(AlbumView) }), 401: ErrorBody },
        },
      },
      async () => ({ items: (await albums.list()).map(albumView) }),
    );

    app.post(
      '/api/albums',
      {
        schema: {
          summary: 'Create an album',
          body: AlbumCreate,
          response: { 201: AlbumView, ...errors },
        },
      },
      async (request, reply) =>
        reply
          .status(201)
          .send(albumView(await albums.create(requirePrincipal(request), request.body))),
    );

    app.get(
      '/api/albums/:id',
      {
        schema: {
          summary: 'One album',
          params: AlbumParams,
          response: { 200: AlbumView, ...errors },
        },
      },
      async (request) => albumView(await albums.get(request.params.id)),
    );

    app.patch(
      '/api/albums/:id',
      {
        schema: {
          summary: 'Rename, describe or set the cover of an album (its owner or an admin)',
          params: AlbumParams,
          body: AlbumPatch,
          response: { 200: AlbumView, ...errors },
        },
      },
      async (request) =>
        albumView(await albums.update(requirePrincipal(request), request.params.id, request.body)),
    );

    app.delete(
      '/api/albums/:id',
      {
        schema: {
          summary: 'Delete an album (its pictures stay in the library)',
          params: AlbumParams,
          response: { 204: z.null(), ...errors },
        },
      },
      async (request, reply) => {
        await albums.delete(requirePrincipal(request), request.params.id);
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/api/albums/:id/pictures',
      {
        schema: {
          summary: "The album's pictures, newest taken first (else by upload time)",
          params: AlbumParams,
          querystring: PageQuery,
          response: {
            200: z.object({ items: z.array(Picture), nextCursor: z.string().nullable() }),
            ...errors,
          },
        },
      },
      async (request) => {
        const { limit, cursor } = request.query;
        const page = await albums.pictures(
          request.params.id,
          limit,
          cursor === undefined ? null : decodeTakenCursor(cursor),
        );
        return {
          items: page.items,
          nextCursor: page.next === null ? null : encodeTakenCursor(page.next),
        };
      },
    );

    app.post(
      '/api/albums/:id/pictures',
      {
        schema: {
          summary: 'Add pictures to an album and/or take some out (its owner or an admin)',
          params: AlbumParams,
          body: MembersBody,
          response: { 200: AlbumView, ...errors },
        },
      },
      async (request) => {
        const principal = requirePrincipal(request);
        const { id } = request.params;
        await albums.add(principal, id, request.body.add);
        await albums.remove(principal, id, request.body.remove);
        return albumView(await albums.get(id));
      },
    );
  };
