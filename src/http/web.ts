/**
 * Serves the web app (built by `vite build` into dist/web) from the API's port: hashed files
 * under /assets/ with a year-long cache, index.html for every other browser navigation (the
 * app routes on the client), never for /api/ or /peer/ paths (in any spelling the router might
 * take for them), which keep their JSON 404s.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * dist/web beside the compiled server (dist/src/http/web.js). Running from the TypeScript
 * sources (in-process tests) there is no built app: null, and the node serves the API only.
 */
export function defaultWebRoot(): string | null {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');
  return existsSync(join(root, 'index.html')) && existsSync(join(root, 'assets')) ? root : null;
}

export async function installWeb(app: FastifyInstance, root: string): Promise<void> {
  // Only `reply.sendFile`: the routes are declared below, public on purpose (nothing private).
  await app.register(fastifyStatic, {
    root,
    serve: false,
    index: false,
    cacheControl: false,
    setHeaders(res, path) {
      // Vite puts a content hash in every asset's name: it never changes under that name.
      const hashed = path.startsWith(join(root, 'assets'));
      res.setHeader('Cache-Control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  // `send` refuses `..` and dot-files; a missing file reaches the not-found handler (JSON 404).
  app.get<{ Params: { '*': string } }>(
    '/assets/*',
    { config: { public: true }, schema: { hide: true } },
    (request, reply) => reply.sendFile(`assets/${request.params['*']}`),
  );
}

/** Whether a request that matched no route is a browser navigation the app should answer. */
export function isAppNavigation(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const path = request.url.split('?')[0] ?? '';
  // An app page's path is plain: an encoded, doubled-slash or dot-segment one is a probe.
  if (/%|\/\/|\/\.\.?(\/|$)/.test(path)) return false;
  if (/^\/(api|peer)(\/|$)/i.test(path)) return false;
  // A missing asset or file (anything with an extension) is a real 404, not a page.
  if (path.startsWith('/assets/') || /\.[a-z0-9]+$/i.test(path)) return false;
  return true;
}

export function sendApp(reply: FastifyReply): FastifyReply {
  return reply.header('Cache-Control', 'no-cache').sendFile('index.html');
}
