import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Registry } from 'prom-client';

export interface SystemInfo {
  readonly nodeId: string;
  readonly nodeName: string;
  readonly version: string;
}

export const systemRoutes =
  (info: SystemInfo, registry: Registry): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/healthz',
      {
        config: { public: true },
        schema: {
          summary: 'Liveness',
          response: {
            200: z.object({
              status: z.literal('ok'),
              node: z.string(),
              name: z.string(),
              version: z.string(),
            }),
          },
        },
      },
      async () => ({
        status: 'ok' as const,
        node: info.nodeId,
        name: info.nodeName,
        version: info.version,
      }),
    );

    app.get(
      '/metrics',
      {
        // It names peers and folders: an admin's session or token, or the metrics token.
        config: { admin: true, metricsToken: true },
        schema: {
          summary: 'Prometheus metrics (admins, or `Authorization: Bearer <--metrics-token>`)',
        },
      },
      async (_request, reply) =>
        reply.header('Content-Type', registry.contentType).send(await registry.metrics()),
    );
  };
