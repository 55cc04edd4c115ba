import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Registry } from 'prom-client';
import { SaidAgain } from '../../core/said-again.js';
import type { HealthCheck, HealthReport } from '../../storage/health.js';
import { ErrorBody } from '../schemas.js';

export interface SystemInfo {
  readonly nodeId: string;
  readonly nodeName: string;
  readonly version: string;
}

const Part = z.object({ ok: z.boolean(), ms: z.number() });
const Checks = z.object({ database: Part.optional(), blobs: Part.optional() });

/** Every part answers: nothing to check is healthy too (an app built without storage). */
const NOTHING_TO_CHECK: HealthCheck = { check: () => Promise.resolve({ ok: true, parts: {} }) };

export const systemRoutes =
  (
    info: SystemInfo,
    registry: Registry,
    health: HealthCheck = NOTHING_TO_CHECK,
    /** The health check's own log level (`quietRequests`: a load balancer asks every few seconds). */
    healthLog: { logLevel?: 'warn' } = {},
  ): FastifyPluginAsyncZod =>
  async (app) => {
    // A balancer asks every few seconds: an outage is said as it starts, changes and ends, and
    // once a minute while it lasts, not at every probe.
    const trouble = new SaidAgain();
    app.get(
      '/healthz',
      {
        ...healthLog,
        config: { public: true },
        schema: {
          summary:
            'Health: 200 when the database and the object store answer, else 503 naming the part',
          response: {
            200: z.object({
              status: z.literal('ok'),
              node: z.string(),
              name: z.string(),
              version: z.string(),
              checks: Checks,
            }),
            // The report, or the plain error shape when the answer came before the check: a
            // caller with a cookie or a token is looked up first (auth.ts), and that lookup
            // fails as 503 when the database does not answer.
            503: z.union([
              z.object({
                status: z.literal('unavailable'),
                node: z.string(),
                name: z.string(),
                version: z.string(),
                checks: Checks,
                error: z.object({ code: z.literal('unavailable'), message: z.string() }),
              }),
              ErrorBody,
            ]),
          },
        },
      },
      async (_request, reply) => {
        const report = await health.check();
        const body = {
          node: info.nodeId,
          name: info.nodeName,
          version: info.version,
          checks: publicChecks(report),
        };
        if (report.ok) {
          if (trouble.say(null))
            app.log.info({ health: report.parts }, 'health check passes again');
          return { status: 'ok' as const, ...body };
        }
        // The details (addresses, driver errors) go to the log, not to an anonymous caller.
        const failing = Object.entries(report.parts).filter(([, part]) => !part.ok);
        if (trouble.say(JSON.stringify(failing.map(([name, part]) => [name, part.error])))) {
          app.log.warn({ health: report.parts }, 'health check failed');
        }
        const failed = failing.map(([name]) => name);
        return reply.code(503).send({
          status: 'unavailable' as const,
          ...body,
          error: {
            code: 'unavailable' as const,
            message: `Not answering: ${failed.join(', ')}`,
          },
        });
      },
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

function publicChecks(report: HealthReport): z.infer<typeof Checks> {
  const out: z.infer<typeof Checks> = {};
  for (const name of ['database', 'blobs'] as const) {
    const part = report.parts[name];
    if (part !== undefined) out[name] = { ok: part.ok, ms: part.ms };
  }
  return out;
}
