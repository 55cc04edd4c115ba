/**
 * Serves the web app (built by `vite build` into dist/web) from the API's port: hashed files
 * under /assets/ with a year-long cache, index.html for every other browser navigation (the
 * app routes on the client), never for /api/ or /peer/ paths (in any spelling the router might
 * take for them), which keep their JSON 404s.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * dist/web beside the compiled server (dist/src/http/web.js). Running from the TypeScript
 * sources (in-process tests) there is no built app: null, and the node serves the API only.
 */
export function defaultWebRoot(): string | null {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');
  return existsSync(join(root, 'index.html')) && existsSync(join(root, 'assets')) ? root : null;
}

export function installWeb(app: FastifyInstance, root: string): void {
  // Public on purpose (nothing private). `send` refuses `..` and dot-files; a missing file
  // reaches the not-found handler (JSON 404).
  app.get<{ Params: { '*': string } }>(
    '/assets/*',
    { config: { public: true }, schema: { hide: true } },
    (request, reply) => sendFile(reply, root, `assets/${request.params['*']}`),
  );
}

/**
 * @fastify/send (what @fastify/static's `reply.sendFile` runs), loaded at the first file served:
 * loading it, its MIME table and @fastify/static's glob at start cost every node CPU for a page
 * maybe never asked (docs/benchmarks.md, "Start-up, profiled").
 */
const loadSend = () => import('@fastify/send');
let sendLib: ReturnType<typeof loadSend> | null = null;

/** `path` (relative to `root`, not URI-encoded) as @fastify/static's `reply.sendFile` sends it. */
async function sendFile(reply: FastifyReply, root: string, path: string): Promise<FastifyReply> {
  const { default: send } = await (sendLib ??= loadSend());
  const found = await send(reply.request.raw, encodeURI(path), {
    root,
    index: false,
    cacheControl: false,
  });
  if (found.type === 'file') {
    reply.code(reply.statusCode !== 200 ? reply.statusCode : found.statusCode);
    reply.headers(found.headers);
    // Vite puts a content hash in every asset's name: it never changes under that name.
    reply.header(
      'Cache-Control',
      path.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    );
    return reply.send(found.stream);
  }
  const error =
    found.type === 'error'
      ? (found.metadata.error as Error & { code?: string; status?: number })
      : null;
  // A directory, a missing file, or a dot-file `send` ignores: not found, like any other path.
  if (error === null || error.code === 'ENOENT' || error.status === 404) {
    reply.callNotFound();
    return reply;
  }
  return reply.send(error);
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

/** The app's page (index.html of `root`), never cached: it names the current assets. */
export function sendApp(reply: FastifyReply, root: string): Promise<FastifyReply> {
  return sendFile(reply, root, 'index.html');
}
