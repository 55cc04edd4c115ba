import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import type { BlobStore } from '../../blobs/blob-store.js';
import { NotFoundError } from '../../core/errors.js';
import { zipEntryNames } from '../../pictures/core/zip-names.js';
import type { PictureFactsService } from '../../pictures/picture-facts.service.js';
import { zipPictures } from '../../pictures/picture-zip.js';
import type { PictureService } from '../../pictures/picture.service.js';
import { requirePrincipal } from '../auth.js';
import {
  Categories,
  CategoriesQuery,
  ErrorBody,
  Picture,
  PictureId,
  PictureLookupBody,
  Timeline,
  TimelineQuery,
  ZipBody,
  ZipQuery,
} from '../schemas.js';

export interface LibraryRoutesDeps {
  readonly facts: PictureFactsService;
  readonly pictures: PictureService;
  readonly blobs: BlobStore;
}

const errors = { 400: ErrorBody, 401: ErrorBody };

/**
 * The library's views across pictures: the month index of the timeline, the categories,
 * several pictures at once (a live refresh), zips of a selection.
 */
export const libraryRoutes =
  (deps: LibraryRoutesDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const { pictures, blobs } = deps;

    app.get(
      '/api/timeline',
      {
        schema: {
          summary: 'How many pictures each month holds, by date taken (newest first)',
          description:
            'The months of `GET /api/pictures?sort=taken` with the same `category` and `q`: a ' +
            "picture counts in the month it was taken in the camera's local time, or, when the " +
            'file does not say, the month it was uploaded (UTC).',
          querystring: TimelineQuery,
          response: { 200: Timeline, ...errors },
        },
      },
      async (request) => ({ months: await deps.facts.months(request.query) }),
    );

    app.get(
      '/api/categories',
      {
        schema: {
          summary: "The library's categories, with how many pictures each holds",
          description:
            'Every category of a listed picture (not in the trash), the fullest first, then by ' +
            'name (code point order). Pictures without a category are not counted.',
          querystring: CategoriesQuery,
          response: { 200: Categories, ...errors },
        },
      },
      async () => ({ categories: await pictures.categories() }),
    );

    app.post(
      '/api/pictures/lookup',
      {
        schema: {
          summary: 'Several pictures at once, as `GET /api/pictures/:id` gives each',
          description:
            'The visible pictures among `ids`, in that order, and the ids that are not (or no ' +
            'longer) visible: deleted, not yet arrived, or unknown. The web app asks this for the ' +
            'pictures the live feed names.',
          body: PictureLookupBody,
          response: {
            200: z.object({ items: z.array(Picture), missing: z.array(PictureId) }),
            ...errors,
          },
        },
      },
      async (request) => pictures.lookup(request.body.ids),
    );

    /**
     * Streams the zip of the visible pictures among `ids` (any signed-in account may read every
     * picture). Ids that are not (or no longer) pictures are left out; none at all is a 404.
     */
    const sendZip = async (ids: readonly string[], reply: FastifyReply) => {
      const chosen = (await pictures.lookup(ids)).items;
      if (chosen.length === 0) throw new NotFoundError('Picture');
      // Every original is checked before the first byte goes out: a missing one is a clean
      // 503 (and a repair), not a download that breaks half-way.
      for (const picture of chosen) {
        if ((await blobs.size(picture.id)) === null) throw pictures.bytesMissing(picture.id);
      }
      const names = zipEntryNames(chosen);
      const zip = await zipPictures(
        chosen.map((picture, i) => ({
          name: names[i] ?? picture.id,
          size: picture.size,
          mtime: new Date(picture.createdAt),
          open: (): Promise<Readable> => blobs.read(picture.id),
        })),
      );
      const day = new Date().toISOString().slice(0, 10);
      return reply
        .header('Content-Type', 'application/zip')
        .header('Content-Length', zip.size)
        .header(
          'Content-Disposition',
          `attachment; filename="mosaic-${day}-${chosen.length}-pictures.zip"`,
        )
        .header('Cache-Control', 'no-store')
        .send(zip.stream);
    };

    app.post(
      '/api/pictures/zip',
      {
        schema: {
          summary: 'Download pictures as one zip (streamed)',
          description:
            'The originals, stored (not recompressed), named by their titles. Ids that are not ' +
            'pictures are left out.',
          body: ZipBody,
          response: { 404: ErrorBody, 503: ErrorBody, ...errors },
        },
      },
      async (request, reply) => {
        requirePrincipal(request);
        return sendZip(request.body.ids, reply);
      },
    );

    app.get(
      '/api/pictures/zip',
      {
        schema: {
          summary: 'Download pictures as one zip (ids in the query, for a plain link)',
          querystring: ZipQuery,
          response: { 404: ErrorBody, 503: ErrorBody, ...errors },
        },
      },
      async (request, reply) => {
        requirePrincipal(request);
        return sendZip(request.query.ids, reply);
      },
    );
  };
