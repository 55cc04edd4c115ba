import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Principal } from '../../accounts/principal.js';
import type { FolderStatus } from '../../folders/folder-sync.js';
import { requirePrincipal } from '../auth.js';
import { ErrorBody } from '../schemas.js';

const FolderView = z.object({
  id: z.string(),
  path: z.string(),
  state: z.enum(['idle', 'scanning', 'syncing', 'paused']),
  files: z.number().int().describe('files (directories not counted)'),
  bytes: z.number().int(),
  needFiles: z.number().int().describe('items whose current version is not on disk here yet'),
  conflicts: z.number().int().describe('conflict copies present'),
});

export const folderRoutes =
  (folders: (principal: Principal) => FolderStatus[]): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/api/folders',
      {
        schema: {
          summary: "This node's synced folders this account may use, and their state",
          response: { 200: z.array(FolderView), 401: ErrorBody },
        },
      },
      async (request) => folders(requirePrincipal(request)),
    );
  };
