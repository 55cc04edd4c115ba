/**
 * Authentication for every route, decided in one place on the route the router matched (never
 * on the URL text: `/%61pi/pictures` matches `/api/pictures` and must be refused like it).
 * Deny by default: a route needs a signed session cookie (from login) or
 * `Authorization: Bearer <token>` unless its route config says otherwise:
 *
 * - `public: true`: anyone (login, health, docs, the web app's files, the event routes that
 *   check their own participant cookie);
 * - `peer: true`: no account; the peer guard checks the cluster key's signature instead;
 * - `admin: true`: an admin's session or token; with `metricsToken: true` also the node's
 *   `--metrics-token` (for Prometheus).
 *
 * A request that matched no route reaches the not-found handler, which serves nothing private.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountService } from '../accounts/account.service.js';
import type { Principal } from '../accounts/principal.js';
import { ForbiddenError, type NotFoundError, UnauthorizedError } from '../core/errors.js';
import type { Picture } from '../pictures/picture.repository.js';

export const SESSION_COOKIE = 'mosaic_session';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /** Routes with `sessionWithPicture`: the picture read with the session, if it was. */
    sessionPicture: Picture | NotFoundError | null;
    /** Routes with `sessionWithPage`: the page's JSON text read with the session, if it was. */
    sessionPage: string | null;
  }
  interface FastifyContextConfig {
    /** Reachable without signing in (the handler checks whatever else it needs). */
    public?: boolean;
    /** A /peer route: authenticated by the peer guard's cluster signature, not by an account. */
    peer?: boolean;
    /** Admins only. */
    admin?: boolean;
    /** Also open to the node's metrics token (`--metrics-token`). */
    metricsToken?: boolean;
    /**
     * A route on picture `:id` (its file): a session cookie is checked in the same statement
     * that reads the picture (`AuthOptions.sessionWithPicture`), which the handler then takes
     * from `request.sessionPicture` instead of reading it again.
     */
    sessionWithPicture?: boolean;
    /**
     * The gallery's route: where the store builds pages (PostgreSQL), a session cookie is
     * checked in the same statement that builds the page the query asks for
     * (`AuthOptions.sessionWithPage`), which the handler then takes from `request.sessionPage`.
     */
    sessionWithPage?: boolean;
  }
}

export interface AuthOptions {
  readonly accounts: AccountService;
  /** The bearer token Prometheus may use for /metrics, or null for none. */
  readonly metricsToken: string | null;
  /** A session cookie's principal and picture `id` in one statement; null: not a session. */
  readonly sessionWithPicture?: (
    session: string,
    id: string,
  ) => Promise<{ principal: Principal; picture: Picture | NotFoundError } | null>;
  /**
   * A session cookie's principal and the page the raw `query` asks for (JSON text, or null for
   * the route to read), in one statement; null: not a session; undefined: not read so (the
   * session is then checked alone). Given only where the store builds pages.
   */
  readonly sessionWithPage?: (
    session: string,
    query: unknown,
  ) => Promise<{ principal: Principal; page: string | null } | null | undefined>;
}

/** Who may call a route, from its config: what the route table at start-up shows. */
export type Access = 'public' | 'peer' | 'admin' | 'account';

export function accessOf(config: FastifyContextConfig | undefined): Access {
  if (config?.public === true) return 'public';
  if (config?.peer === true) return 'peer';
  if (config?.admin === true) return 'admin';
  return 'account';
}

const SHA256 = /^[0-9a-f]{64}$/;

/** Methods that change state: a browser must send them from this node's own pages. */
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function installAuth(app: FastifyInstance, options: AuthOptions): void {
  const metricsDigest = options.metricsToken === null ? null : digest(options.metricsToken);
  app.decorateRequest('principal', null);
  app.decorateRequest('sessionPicture', null);
  app.decorateRequest('sessionPage', null);
  app.addHook('onRequest', async (request) => {
    // No route matched: the not-found handler answers (JSON 404 or the web app's page).
    if (request.is404) return;
    const config = request.routeOptions.config;
    if (config.peer === true) return;
    if (config.metricsToken === true && metricsDigest && bearerIs(request, metricsDigest)) return;
    request.principal = await identify(request, options, config);
    refuseCrossSiteWrite(request);
    if (config.public === true) return;
    if (!request.principal) throw new UnauthorizedError();
    if (config.admin === true && request.principal.role !== 'admin') {
      throw new ForbiddenError('Only an admin may do this.');
    }
  });
}

async function identify(
  request: FastifyRequest,
  options: AuthOptions,
  config: FastifyContextConfig,
): Promise<Principal | null> {
  const { accounts } = options;
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    // A wrong token is an error even if a cookie is present: the caller meant the token.
    const principal = match?.[1] ? await accounts.fromToken(match[1]) : null;
    if (!principal) throw new UnauthorizedError('The API token is not valid.');
    return principal;
  }
  const raw = request.cookies[SESSION_COOKIE];
  if (raw === undefined) return null;
  const unsigned = request.unsignCookie(raw);
  if (!unsigned.valid) return null;
  // Before the route's own validation: only an id of the right shape goes to the database.
  const id = (request.params as { id?: unknown } | undefined)?.id;
  if (
    config.sessionWithPicture === true &&
    options.sessionWithPicture &&
    typeof id === 'string' &&
    SHA256.test(id)
  ) {
    const found = await options.sessionWithPicture(unsigned.value, id);
    request.sessionPicture = found?.picture ?? null;
    return found?.principal ?? null;
  }
  if (config.sessionWithPage === true && options.sessionWithPage) {
    const found = await options.sessionWithPage(unsigned.value, request.query);
    if (found !== undefined) {
      request.sessionPage = found?.page ?? null;
      return found?.principal ?? null;
    }
  }
  return accounts.fromSession(unsigned.value);
}

/** Whether the caller of a request still in progress would be let in now (`stillSignedIn`). */
export type StillSignedIn = (request: FastifyRequest) => Promise<boolean>;

/**
 * Whether the caller of an answer still being sent (the live feed's stream, a download, a long
 * poll) or of an upload about to be committed would be let in now: its token or session cookie
 * read again, with the checks of a new request (a revoked or expired token, a signed-out or
 * expired session, a disabled account, a changed password).
 */
export async function stillSignedIn(
  request: FastifyRequest,
  accounts: AccountService,
): Promise<boolean> {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  if (request.headers.authorization !== undefined) {
    return match?.[1] !== undefined && (await accounts.fromToken(match[1])) !== null;
  }
  const raw = request.cookies[SESSION_COOKIE];
  const unsigned = raw === undefined ? null : request.unsignCookie(raw);
  return unsigned?.valid === true && (await accounts.fromSession(unsigned.value)) !== null;
}

/**
 * The credential a request came with, as `identify` reads it: its Authorization header, else
 * its session cookie as sent; null: none. Requests with one credential share one caller.
 */
export function credentialOf(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header !== undefined) return `authorization:${header}`;
  const raw = request.cookies[SESSION_COOKIE];
  return raw === undefined ? null : `cookie:${raw}`;
}

/**
 * Cookies go along with requests another site makes the browser send (a form posted to this
 * node): a write from a foreign Origin, or that the browser says is cross-site, is refused.
 * A bearer token is never sent by the browser on its own, and clients that are not browsers
 * (the CLI, curl, peers) send neither header.
 */
function refuseCrossSiteWrite(request: FastifyRequest): void {
  if (!UNSAFE_METHODS.has(request.method)) return;
  if (request.headers.authorization !== undefined) return;
  const origin = request.headers.origin;
  if (origin !== undefined) {
    if (hostOf(origin) !== request.host.toLowerCase()) {
      throw new ForbiddenError('Cross-origin requests that change data are refused.');
    }
    return;
  }
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new ForbiddenError('Cross-site requests that change data are refused.');
  }
}

/** `host[:port]` of an Origin header, or null for `null` and anything that is not a URL. */
function hostOf(origin: string): string | null {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return null;
  }
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

function bearerIs(request: FastifyRequest, expected: Buffer): boolean {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected);
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
    // Behind a TLS proxy this needs --trust-proxy (X-Forwarded-Proto).
    secure: request.protocol === 'https',
    signed: true,
    maxAge: maxAgeSeconds,
  });
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
}
