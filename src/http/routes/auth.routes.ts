import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SESSION_TTL_MS, type AccountService } from '../../accounts/account.service.js';
import { SESSION_COOKIE, clearSessionCookie, requirePrincipal, setSessionCookie } from '../auth.js';
import { TooManyRequestsError } from '../../core/errors.js';
import { ErrorBody, LoginBody, NewPassword, UserView } from '../schemas.js';

const PasswordChangeBody = z.strictObject({
  oldPassword: z.string().min(1).max(1024),
  newPassword: NewPassword,
});
import { tokenRoutes } from './tokens.routes.js';
import { userRoutes } from './users.routes.js';

export const authRoutes =
  (accounts: AccountService): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/api/auth/login',
      {
        config: { public: true },
        schema: {
          summary:
            'Sign in; sets an HttpOnly, signed session cookie (429 + Retry-After while backing off)',
          body: LoginBody,
          response: {
            200: z.object({ user: UserView }),
            400: ErrorBody,
            401: ErrorBody,
            403: ErrorBody,
            429: ErrorBody,
          },
        },
      },
      async (request, reply) => {
        const { principal, session } = await accounts
          .login(request.body.username, request.body.password, request.ip)
          .catch((error: unknown) => {
            if (error instanceof TooManyRequestsError) {
              void reply.header('Retry-After', String(error.retryAfterSeconds));
            }
            throw error;
          });
        setSessionCookie(request, reply, session, SESSION_TTL_MS / 1000);
        return { user: principal };
      },
    );

    app.post(
      '/api/auth/logout',
      {
        // It ends its own session: never cut for that, and the session's other requests in
        // flight are (access-cut.ts).
        config: { onAccessLoss: 'none', endsAccess: true },
        schema: { summary: 'Sign out', response: { 204: z.null(), 401: ErrorBody } },
      },
      async (request, reply) => {
        const raw = request.cookies[SESSION_COOKIE];
        const unsigned = raw === undefined ? null : request.unsignCookie(raw);
        if (unsigned?.valid) await accounts.logout(unsigned.value);
        clearSessionCookie(reply);
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/api/auth/me',
      {
        schema: {
          summary: 'Who am I',
          response: { 200: z.object({ user: UserView }), 401: ErrorBody },
        },
      },
      async (request) => ({ user: requirePrincipal(request) }),
    );

    // The web app's question on loading: signed out is an answer here, not an error (a 401
    // would be logged by the browser on every signed-out page). Every other route, /me
    // included, still refuses a request without credentials.
    app.get(
      '/api/auth/session',
      {
        config: { public: true },
        schema: {
          summary: 'Who am I, if anyone: the signed-in user, or null (never 401 for no session)',
          response: { 200: z.object({ user: UserView.nullable() }), 401: ErrorBody },
        },
      },
      async (request) => ({ user: request.principal }),
    );

    app.post(
      '/api/auth/password',
      {
        // It ends its own session and answers with the new one: never cut for that.
        config: { onAccessLoss: 'none' },
        schema: {
          summary: 'Change your own password (the current one is required); at every node',
          body: PasswordChangeBody,
          response: {
            204: z.null(),
            400: ErrorBody,
            401: ErrorBody,
            403: ErrorBody,
            429: ErrorBody,
          },
        },
      },
      async (request, reply) => {
        const { oldPassword, newPassword } = request.body;
        const session = await accounts
          .changePassword(requirePrincipal(request), oldPassword, newPassword, request.ip)
          .catch((error: unknown) => {
            if (error instanceof TooManyRequestsError) {
              void reply.header('Retry-After', String(error.retryAfterSeconds));
            }
            throw error;
          });
        // The old sessions ended with the old password: this browser keeps going on a new one.
        if (request.headers.authorization === undefined) {
          setSessionCookie(request, reply, session, SESSION_TTL_MS / 1000);
        }
        return reply.status(204).send(null);
      },
    );

    await app.register(userRoutes(accounts));
    await app.register(tokenRoutes(accounts));
  };
