import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { requirePrincipal, type StillSignedIn } from '../auth.js';
import { ownsUpload, TUS_PATH, type TusUploads } from '../tus-uploads.js';

const TUS_METHODS = ['POST', 'HEAD', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * Mounts the tus server (see ../tus-uploads.ts) under /api/uploads/tus: Fastify authenticates
 * (its auth hook and origin check run first), checks what @tus/server would refuse in plain
 * text (no `Tus-Resumable`, a PATCH that is not `application/offset+octet-stream`) and that an
 * upload named in the URL is the caller's, then hands the raw request to @tus/server.
 */
export const tusRoutes =
  (tus: TusUploads, stillSignedIn: StillSignedIn): FastifyPluginAsync =>
  async (app) => {
    // Upload bodies stream to the tus file store untouched (never parsed or buffered here).
    app.addContentTypeParser('application/offset+octet-stream', (_request, _payload, done) => {
      done(null);
    });
    const refuse = (reply: FastifyReply, status: number, code: string, message: string) =>
      reply.status(status).send({ error: { code, message } });
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const principal = requirePrincipal(request);
      if (request.method !== 'OPTIONS' && request.headers['tus-resumable'] !== '1.0.0') {
        return refuse(reply, 412, 'precondition_failed', 'Send Tus-Resumable: 1.0.0 (tus.io).');
      }
      const type = request.headers['content-type'];
      if (request.method === 'PATCH' && type !== 'application/offset+octet-stream') {
        return refuse(
          reply,
          415,
          'unsupported_media_type',
          'A PATCH sends Content-Type: application/offset+octet-stream.',
        );
      }
      const id = (request.params as { '*'?: string })['*'];
      if (id !== undefined && id !== '' && !ownsUpload(id, principal.username)) {
        return refuse(reply, 404, 'not_found', 'No such upload.');
      }
      reply.hijack();
      const stillAllowed = () => stillSignedIn(request);
      await tus.handle({ principal, stillAllowed }, request.raw, reply.raw, id);
      return reply;
    };
    app.route({ method: [...TUS_METHODS], url: TUS_PATH, handler });
    app.route({ method: [...TUS_METHODS], url: `${TUS_PATH}/*`, handler });
  };
