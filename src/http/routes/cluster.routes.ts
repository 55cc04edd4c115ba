import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PeerStatus } from '../../replication/replicator.js';
import { ErrorBody } from '../schemas.js';

export interface ClusterRoutesDeps {
  readonly self: () => { id: string; name: string; url: string | null };
  readonly peers: () => Promise<PeerStatus[]>;
}

const PeerView = z.object({
  id: z.string().nullable(),
  name: z.string().nullable(),
  url: z.string(),
  source: z.enum(['static', 'discovered', 'inbound']),
  state: z.enum(['unknown', 'up', 'down']),
  lastSeen: z.string().nullable(),
  error: z.string().nullable(),
  lag: z.object({
    ops: z.number().int().describe('operations this node has that the peer lacks'),
    bytes: z.number().int().describe('bytes of pictures the peer still has to fetch'),
  }),
});

export const ClusterView = z.object({
  self: z.object({ id: z.string(), name: z.string(), url: z.string().nullable() }),
  peers: z.array(PeerView),
});

export const clusterRoutes =
  (deps: ClusterRoutesDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/api/cluster',
      {
        schema: {
          summary: 'This node and every peer: state, last contact, replication lag',
          response: { 200: ClusterView, 401: ErrorBody },
        },
      },
      async () => ({ self: deps.self(), peers: await deps.peers() }),
    );
  };
