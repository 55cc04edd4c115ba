/**
 * API tokens: create (shown once, optionally expiring), list (never the secret or its hash) and
 * revoke. A revocation is an operation (`token.revoke`), so the token stops working at every
 * node once it has replicated. Owners manage their own tokens; an admin anyone's.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { TokenRecord } from '../../accounts/credential.repository.js';
import type { AccountService } from '../../accounts/account.service.js';
import { BadRequestError } from '../../core/errors.js';
import { requirePrincipal } from '../auth.js';
import { ErrorBody, TokenCreateBody } from '../schemas.js';

const DAY_MS = 24 * 3600 * 1000;
const MAX_DAYS = 3650;

const TokenCreateRequest = TokenCreateBody.extend({
  /** Valid for this many days from now. */
  expiresInDays: z.number().int().min(1).max(MAX_DAYS).optional(),
  /** Or until this instant (ISO 8601, in the future). */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});

const TokenView = z.object({
  id: z.string(),
  name: z.string(),
  username: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  expired: z.boolean(),
  /** Last accepted at this node (to the minute); null: never here. */
  lastUsed: z.string().nullable(),
});

const TokenCreated = TokenView.extend({ token: z.string() });

const TokenListQuery = z.strictObject({
  /** Admins only: another account's tokens, or `*` for every account's. */
  user: z
    .string()
    .regex(/^(\*|[A-Za-z0-9_.-]{1,64})$/)
    .optional(),
});

const TokenParams = z.strictObject({ id: z.string().regex(/^[0-9a-f]{16}$/) });

export const tokenRoutes =
  (accounts: AccountService, now: () => number = Date.now): FastifyPluginAsyncZod =>
  async (app) => {
    const view = (t: TokenRecord) => ({
      id: t.tokenId,
      name: t.name,
      username: t.username,
      createdAt: new Date(t.createdAt).toISOString(),
      expiresAt: t.expiresAt === null ? null : new Date(t.expiresAt).toISOString(),
      expired: t.expiresAt !== null && t.expiresAt <= now(),
      lastUsed:
        t.lastUsed === undefined || t.lastUsed === null ? null : new Date(t.lastUsed).toISOString(),
    });

    app.post(
      '/api/tokens',
      {
        schema: {
          summary:
            'Create an API token for the CLI or a device (shown once; optional expiry; made with an expiring token, it expires by then too)',
          body: TokenCreateRequest,
          response: { 201: TokenCreated, 400: ErrorBody, 401: ErrorBody },
        },
      },
      async (request, reply) => {
        const { name, expiresInDays, expiresAt } = request.body;
        if (expiresInDays !== undefined && expiresAt !== undefined) {
          throw new BadRequestError('Give expiresInDays or expiresAt, not both.');
        }
        let expires: number | null = null;
        if (expiresInDays !== undefined) expires = now() + expiresInDays * DAY_MS;
        if (expiresAt !== undefined) {
          expires = Date.parse(expiresAt);
          if (expires <= now()) throw new BadRequestError('expiresAt is in the past.');
          if (expires > now() + MAX_DAYS * DAY_MS) {
            throw new BadRequestError(`expiresAt is more than ${MAX_DAYS} days away.`);
          }
        }
        const principal = requirePrincipal(request);
        const made = await accounts.createToken(principal, name, expires);
        const { token, tokenId, createdAt, expiresAt: until } = made;
        return reply.status(201).send({
          token,
          ...view({ tokenId, name, username: principal.username, createdAt, expiresAt: until }),
        });
      },
    );

    app.get(
      '/api/tokens',
      {
        schema: {
          summary: "Your API tokens (admins: ?user=NAME or ?user=* for others'); never the secret",
          querystring: TokenListQuery,
          response: { 200: z.object({ items: z.array(TokenView) }), 401: ErrorBody },
        },
      },
      async (request) => ({
        items: (await accounts.listTokens(requirePrincipal(request), request.query.user)).map(view),
      }),
    );

    app.delete(
      '/api/tokens/:id',
      {
        // A token may revoke itself, and is told it did: never cut for that.
        config: { onAccessLoss: 'none' },
        schema: {
          summary: 'Revoke an API token at every node (yours; admins: anyone’s)',
          params: TokenParams,
          response: { 204: z.null(), 401: ErrorBody, 404: ErrorBody },
        },
      },
      async (request, reply) => {
        await accounts.revokeToken(requirePrincipal(request), request.params.id);
        return reply.status(204).send(null);
      },
    );
  };
