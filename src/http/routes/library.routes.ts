import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { PictureFactsService } from '../../pictures/picture-facts.service.js';
import { ErrorBody, Timeline, TimelineQuery } from '../schemas.js';

export interface LibraryRoutesDeps {
  readonly facts: PictureFactsService;
}

const errors = { 400: ErrorBody, 401: ErrorBody };

/** The library's views across pictures: the month index of the timeline. */
export const libraryRoutes =
  (deps: LibraryRoutesDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/api/timeline',
      {
        schema: {
          summary: 'How many pictures each month holds, by date taken (newest first)',
          description:
            'The months of `GET /api/pictures?sort=taken`: a picture counts in the month it ' +
            "was taken in the camera's local time, or, when the file does not say, the month " +
            'it was uploaded (UTC).',
          querystring: TimelineQuery,
          response: { 200: Timeline, ...errors },
        },
      },
      async (request) => ({ months: await deps.facts.months(request.query.category) }),
    );
  };
