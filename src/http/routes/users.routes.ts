/**
 * Accounts, for admins: list them, add one, reset a password, change a role or disable one.
 * Each change is an operation, so it holds at every node (the web app's "People").
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AccountService } from '../../accounts/account.service.js';
import { requirePrincipal } from '../auth.js';
import { ErrorBody, NewPassword, UserView, Username } from '../schemas.js';

const UserCreateBody = z.strictObject({
  username: Username,
  password: NewPassword,
  /** An administrator; a plain account when absent. */
  admin: z.boolean().optional(),
});

/** An account as an admin's list shows it. */
const Person = UserView.extend({ disabled: z.boolean() });

const AccessBody = z
  .strictObject({
    role: z.enum(['admin', 'user']).optional(),
    disabled: z.boolean().optional(),
  })
  .refine((b) => b.role !== undefined || b.disabled !== undefined, {
    message: 'Give a role ("admin" or "user"), disabled (true or false), or both.',
  });

export const userRoutes =
  (accounts: AccountService): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/api/users',
      {
        config: { admin: true },
        schema: {
          summary: 'Every account: name, role and whether it is disabled, by name (admins)',
          response: {
            200: z.object({ items: z.array(Person) }),
            401: ErrorBody,
            403: ErrorBody,
          },
        },
      },
      async (request) => ({ items: await accounts.listUsers(requirePrincipal(request)) }),
    );

    app.post(
      '/api/users',
      {
        config: { admin: true },
        schema: {
          summary: 'Add an account (admins); it replicates to every node, like `mosaic user add`',
          body: UserCreateBody,
          response: {
            201: UserView,
            400: ErrorBody,
            401: ErrorBody,
            403: ErrorBody,
            409: ErrorBody,
          },
        },
      },
      async (request, reply) => {
        const { username, password, admin } = request.body;
        const user = await accounts.createUser(
          requirePrincipal(request),
          username,
          password,
          admin === true ? 'admin' : 'user',
        );
        return reply.status(201).send(user);
      },
    );

    app.put(
      '/api/users/:username/password',
      {
        config: { admin: true },
        schema: {
          summary:
            "Reset another account's password (admins; one's own: POST /api/auth/password); at every node",
          params: z.strictObject({ username: Username }),
          body: z.strictObject({ password: NewPassword }),
          response: {
            204: z.null(),
            400: ErrorBody,
            401: ErrorBody,
            403: ErrorBody,
            404: ErrorBody,
          },
        },
      },
      async (request, reply) => {
        await accounts.resetPassword(
          requirePrincipal(request),
          request.params.username,
          request.body.password,
        );
        return reply.status(204).send(null);
      },
    );

    app.patch(
      '/api/users/:username',
      {
        config: { admin: true },
        schema: {
          summary:
            'Make an account an admin or not, disable or enable it (admins); at every node. Disabling signs it out everywhere and refuses its tokens',
          params: z.strictObject({ username: Username }),
          body: AccessBody,
          response: {
            200: Person,
            400: ErrorBody,
            401: ErrorBody,
            403: ErrorBody,
            404: ErrorBody,
            409: ErrorBody,
          },
        },
      },
      async (request) =>
        accounts.setAccess(requirePrincipal(request), request.params.username, request.body),
    );
  };
