/**
 * Share links. `/api/shares`: the signed-in side (create, list, revoke). `/api/s/:id/…`: the
 * public side a link opens, declared `public: true` and answering only about the shared
 * picture or album: its name, its pictures' public fields, thumbnails and bytes. A link with
 * a password is unlocked once per browser and node (a signed cookie scoped to the link's path).
 */
import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { LoginLimiter } from '../../accounts/login-limiter.js';
import {
  BadRequestError,
  NotFoundError,
  TooManyRequestsError,
  UnauthorizedError,
} from '../../core/errors.js';
import type { BlobStore } from '../../blobs/blob-store.js';
import type { Picture as PictureModel } from '../../pictures/picture.repository.js';
import type { PictureService } from '../../pictures/picture.service.js';
import type { ShareListing, ShareRecord } from '../../shares/share.repository.js';
import type { OpenShare, ShareService } from '../../shares/share.service.js';
import { requirePrincipal } from '../auth.js';
import { ErrorBody, PictureId, ThumbQuery } from '../schemas.js';
import { decodeTakenCursor, encodeTakenCursor } from './cursor.js';

export interface ShareRoutesDeps {
  readonly shares: ShareService;
  readonly pictures: PictureService;
  readonly blobs: BlobStore;
  /** Back-off on wrong link passwords, per link and address (the sign-in limiter). */
  readonly limiter?: LoginLimiter | undefined;
  readonly now?: () => number;
}

const DAY_MS = 24 * 3600 * 1000;
const MAX_DAYS = 3650;
const ShareIdParam = z.string().regex(/^[0-9a-f]{32}$/, 'Not a share link.');

const ShareView = z.object({
  id: z.string(),
  target: z.enum(['picture', 'album']),
  targetId: z.string(),
  owner: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  expired: z.boolean(),
  hasPassword: z.boolean(),
  /** The page to give out, relative to this node. */
  path: z.string(),
  /** The picture's title or the album's name; null once it is gone (deleted, or not here). */
  title: z.string().nullable(),
});

const ShareCreate = z.strictObject({
  target: z.enum(['picture', 'album']),
  targetId: z.string().regex(/^([0-9a-f]{32}|[0-9a-f]{64})$/, 'Not a picture or album id.'),
  expiresInDays: z.number().int().min(1).max(MAX_DAYS).optional(),
  password: z.string().min(1).max(1024).optional(),
});

/** What a link shows of a picture: no owner, category or origin. */
const SharedPicture = z.object({
  id: z.string(),
  title: z.string(),
  desc: z.string(),
  contentType: z.string(),
  size: z.number().int(),
  width: z.number().int(),
  height: z.number().int(),
  createdAt: z.string(),
});

const SharedView = z.object({
  id: z.string(),
  target: z.enum(['picture', 'album']),
  /** Empty while locked. */
  title: z.string(),
  /** Empty while locked. */
  desc: z.string(),
  expiresAt: z.string().nullable(),
  /** A password is needed (POST …/unlock) before the pictures, title and description are shown. */
  locked: z.boolean(),
});

const OpenParams = z.strictObject({ id: ShareIdParam });
const PictureParams = z.strictObject({ id: ShareIdParam, pictureId: PictureId });
const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(100),
  cursor: z.string().max(200).optional(),
});
const FileQuery = z.strictObject({ download: z.enum(['1']).optional() });

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };
const NO_STORE = 'private, no-store';

const cookieName = (id: string) => `mosaic_share_${id}`;

function sharedPicture(p: PictureModel): z.infer<typeof SharedPicture> {
  return {
    id: p.id,
    title: p.title,
    desc: p.desc,
    contentType: p.contentType,
    size: p.size,
    width: p.width,
    height: p.height,
    createdAt: p.createdAt,
  };
}

export const shareRoutes =
  (deps: ShareRoutesDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const { shares, pictures, blobs } = deps;
    const now = deps.now ?? Date.now;

    const view = (s: ShareListing): z.infer<typeof ShareView> => ({
      id: s.id,
      target: s.target,
      targetId: s.targetId,
      owner: s.owner,
      createdAt: new Date(s.createdAt).toISOString(),
      expiresAt: s.expiresAt === null ? null : new Date(s.expiresAt).toISOString(),
      expired: s.expiresAt !== null && s.expiresAt <= now(),
      hasPassword: s.passwordHash !== null,
      path: `/s/${s.id}`,
      title: s.title,
    });

    const unlocked = (request: FastifyRequest, share: ShareRecord): boolean => {
      if (share.passwordHash === null) return true;
      const raw = request.cookies[cookieName(share.id)];
      if (raw === undefined) return false;
      const unsigned = request.unsignCookie(raw);
      return unsigned.valid && unsigned.value === share.id;
    };

    /** The link, valid and unlocked, or the error to answer. */
    const openUnlocked = async (request: FastifyRequest, id: string): Promise<OpenShare> => {
      const open = await shares.open(id);
      if (!unlocked(request, open.share)) {
        throw new UnauthorizedError('This link needs its password.');
      }
      return open;
    };

    app.get(
      '/api/shares',
      {
        schema: {
          summary: 'Your share links (an admin: everyone’s), not revoked, with what each shows',
          response: { 200: z.object({ items: z.array(ShareView) }), 401: ErrorBody },
        },
      },
      async (request) => ({ items: (await shares.list(requirePrincipal(request))).map(view) }),
    );

    app.post(
      '/api/shares',
      {
        schema: {
          summary: 'Share a picture or an album by link (optional expiry and password)',
          body: ShareCreate,
          response: { 201: ShareView, ...errors },
        },
      },
      async (request, reply) => {
        const { target, targetId, expiresInDays, password } = request.body;
        if ((target === 'album') !== (targetId.length === 32)) {
          throw new BadRequestError(`Not ${target === 'album' ? 'an album' : 'a picture'} id.`);
        }
        const share = await shares.create(requirePrincipal(request), {
          target,
          targetId,
          expiresAt: expiresInDays === undefined ? null : now() + expiresInDays * DAY_MS,
          password: password ?? null,
        });
        return reply.status(201).send(view(share));
      },
    );

    app.delete(
      '/api/shares/:id',
      {
        schema: {
          summary: 'Revoke a share link at every node',
          params: OpenParams,
          response: { 204: z.null(), ...errors },
        },
      },
      async (request, reply) => {
        await shares.revoke(requirePrincipal(request), request.params.id);
        return reply.status(204).send(null);
      },
    );

    // The public side: what a link opens, and nothing else.
    app.get(
      '/api/s/:id',
      {
        config: { public: true },
        schema: {
          summary: 'What a share link shows (public; 404 once revoked or expired)',
          params: OpenParams,
          response: { 200: SharedView, ...errors },
        },
      },
      async (request, reply) => {
        const open = await shares.open(request.params.id);
        void reply.header('Cache-Control', NO_STORE);
        // A locked link tells nothing of what it opens: a title or a description may be as
        // private as the pictures ("Anna's diagnosis"). Both are empty until it is unlocked.
        const locked = !unlocked(request, open.share);
        return {
          id: open.share.id,
          target: open.share.target,
          title: locked ? '' : open.title,
          desc: locked ? '' : open.desc,
          expiresAt:
            open.share.expiresAt === null ? null : new Date(open.share.expiresAt).toISOString(),
          locked,
        };
      },
    );

    app.post(
      '/api/s/:id/unlock',
      {
        config: { public: true },
        schema: {
          summary: 'Unlock a share link with its password (sets a cookie for this link)',
          params: OpenParams,
          body: z.strictObject({ password: z.string().min(1).max(1024) }),
          response: { 204: z.null(), 429: ErrorBody, ...errors },
        },
      },
      async (request, reply) => {
        const open = await shares.open(request.params.id);
        let attempt;
        try {
          attempt = deps.limiter?.begin(`share:${open.share.id}`, request.ip);
        } catch (error) {
          if (error instanceof TooManyRequestsError) {
            void reply.header('Retry-After', String(error.retryAfterSeconds));
          }
          throw error;
        }
        const ok = await shares.checkPassword(open.share, request.body.password);
        if (attempt) deps.limiter?.finish(attempt, ok);
        if (!ok) throw new UnauthorizedError('Wrong password for this link.');
        reply.setCookie(cookieName(open.share.id), open.share.id, {
          path: `/api/s/${open.share.id}`,
          httpOnly: true,
          sameSite: 'lax',
          secure: request.protocol === 'https',
          signed: true,
          maxAge: 24 * 3600,
        });
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/api/s/:id/pictures',
      {
        config: { public: true },
        schema: {
          summary: 'The pictures a share link shows, newest taken first (public)',
          params: OpenParams,
          querystring: PageQuery,
          response: {
            200: z.object({ items: z.array(SharedPicture), nextCursor: z.string().nullable() }),
            ...errors,
          },
        },
      },
      async (request, reply) => {
        const open = await openUnlocked(request, request.params.id);
        const { limit, cursor } = request.query;
        const page = await shares.pictures(
          open.share,
          limit,
          cursor === undefined ? null : decodeTakenCursor(cursor),
        );
        void reply.header('Cache-Control', NO_STORE);
        return {
          items: page.items.map(sharedPicture),
          nextCursor: page.next === null ? null : encodeTakenCursor(page.next),
        };
      },
    );

    app.get(
      '/api/s/:id/pictures/:pictureId/thumb',
      {
        config: { public: true },
        schema: {
          summary: 'A thumbnail of a shared picture (public)',
          params: PictureParams,
          querystring: ThumbQuery,
        },
      },
      async (request, reply) => {
        const open = await openUnlocked(request, request.params.id);
        const picture = await shares.picture(open.share, request.params.pictureId);
        const stream = await pictures.thumbnail(picture.id, request.query.size);
        return reply
          .header('Cache-Control', NO_STORE)
          .header('Content-Type', 'image/webp')
          .send(stream);
      },
    );

    app.get(
      '/api/s/:id/pictures/:pictureId/file',
      {
        config: { public: true },
        schema: {
          summary: 'The bytes of a shared picture; ?download=1 to save it (public)',
          params: PictureParams,
          querystring: FileQuery,
        },
      },
      async (request, reply) => {
        const open = await openUnlocked(request, request.params.id);
        const picture = await shares.picture(open.share, request.params.pictureId);
        const stream = await openBytes(blobs, pictures, picture.id);
        return sendBytes(reply, picture, stream, request.query.download === '1');
      },
    );
  };

async function openBytes(
  blobs: BlobStore,
  pictures: PictureService,
  id: string,
): Promise<Readable> {
  return blobs.read(id).catch((error: unknown) => {
    if (error instanceof NotFoundError) throw pictures.bytesMissing(id);
    throw error;
  });
}

function sendBytes(
  reply: FastifyReply,
  picture: PictureModel,
  stream: Readable,
  download: boolean,
): FastifyReply {
  const extension = picture.contentType.split('/')[1] ?? 'bin';
  const base =
    picture.title
      .replace(/[^\p{L}\p{N} ._-]+/gu, '')
      .trim()
      .slice(0, 80) || 'picture';
  const name = `${base}.${extension === 'jpeg' ? 'jpg' : extension}`;
  if (download) {
    void reply.header(
      'Content-Disposition',
      `attachment; filename="${name.replace(/[^\x20-\x7e]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`,
    );
  }
  return reply
    .header('Cache-Control', NO_STORE)
    .header('Content-Type', picture.contentType)
    .header('X-Content-Type-Options', 'nosniff')
    .header('Content-Length', picture.size)
    .send(stream);
}
