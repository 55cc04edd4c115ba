/**
 * Headers every response carries, the JSON API's as much as the web app's: a
 * Content-Security-Policy that allows scripts only from this node's own files (the built app
 * and the API docs have no inline script), no framing by any site (clickjacking), no MIME
 * sniffing (a stored file is never run as a script or page), and no URL leaked in Referer to
 * other sites. Styles may be inline: the docs page sets style attributes.
 */
import type { FastifyInstance } from 'fastify';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  // 'wasm-unsafe-eval' lets the gallery compile its justified-layout WebAssembly (shipped in
  // our own bundle); it allows no JavaScript eval.
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  // data: for the app's icon, blob: for the upload page's previews of local files.
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', async (_request, reply) => {
    // Set first, so that errors, 404s and streamed files carry them too.
    reply.headers(SECURITY_HEADERS);
  });
}
