/**
 * Authentication for the public API: a signed session cookie (from login) or
 * `Authorization: Bearer <token>`. Every /api route needs one unless it is marked public.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountService } from '../accounts/account.service.js';
import type { Principal } from '../accounts/principal.js';
import { UnauthorizedError } from '../core/errors.js';

export const SESSION_COOKIE = 'mosaic_session';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Reachable without signing in. */
    public?: boolean;
  }
}

export function installAuth(app: FastifyInstance, accounts: AccountService): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    request.principal = identify(request, accounts);
    const isApi = request.url.startsWith('/api/') || request.url === '/api';
    if (isApi && request.routeOptions.config.public !== true && !request.principal) {
      throw new UnauthorizedError();
    }
  });
}

function identify(request: FastifyRequest, accounts: AccountService): Principal | null {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    // A wrong token is an error even if a cookie is present: the caller meant the token.
    const principal = match?.[1] ? accounts.fromToken(match[1]) : null;
    if (!principal) throw new UnauthorizedError('The API token is not valid.');
    return principal;
  }
  const raw = request.cookies[SESSION_COOKIE];
  if (raw === undefined) return null;
  const unsigned = request.unsignCookie(raw);
  if (!unsigned.valid) return null;
  return accounts.fromSession(unsigned.value);
}

export function requirePrincipal(request: FastifyRequest): Principal {
  if (!request.principal) throw new UnauthorizedError();
  return request.principal;
}

export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  session: string,
  maxAgeSeconds: number,
): void {
  reply.setCookie(SESSION_COOKIE, session, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: request.protocol === 'https',
    signed: true,
    maxAge: maxAgeSeconds,
  });
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
}
