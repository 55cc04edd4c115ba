import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requirePrincipal } from '../auth.js';
import type { LiveFeed, LiveMessage } from '../live-feed.js';
import { ErrorBody } from '../schemas.js';

/**
 * How often an idle stream says `event: ping`. It keeps proxies and browsers from closing the
 * stream, and lets the web app tell a quiet node from one that stopped answering: EventSource
 * cannot see comment lines, so a named event it is. The app's watchdog (LIVE_SILENCE_MS in
 * web/src/live.tsx, which cannot import this) gives up after a little over two of these.
 */
const HEARTBEAT_MS = 25_000;
/** The heartbeat: a named event (its data must not be empty, or EventSource drops it). */
const PING = 'event: ping\ndata: 1\n\n';

/**
 * `GET /api/stream`: server-sent events for the web app. Each message is
 * `event: pictures` with `data: {"ids": [...]}` when pictures were created, edited or deleted
 * here or at another node (a replicated picture is announced again once its bytes arrived,
 * which is when it becomes visible), or `event: albums` with the ids of albums created,
 * edited or deleted, or whose pictures were added or taken out. `event: ping` (data `1`) comes
 * at once and then every HEARTBEAT_MS. The browser's EventSource reconnects by itself when the
 * connection drops; the web app also reconnects when the pings stop.
 *
 * A stream lasts as long as its caller may: `stillSignedIn` (the token or session read again)
 * is asked at each heartbeat and whenever operations that may take access away arrive
 * (`LiveFeed.onAccessChange`: a disable, a password change, a revoked token, here or from a
 * peer); messages wait while it is asked, and the stream ends when the answer is no. (It went
 * on telling a disabled or signed-out caller what changed, for as long as it stayed open.)
 */
export const streamRoutes =
  (
    feed: LiveFeed,
    stillSignedIn: (request: FastifyRequest) => Promise<boolean>,
  ): FastifyPluginAsyncZod =>
  async (app) => {
    const open = new Set<() => void>();
    // Streams never end by themselves: end them so that closing the server does not wait.
    app.addHook('preClose', async () => {
      for (const end of open) end();
    });

    app.get(
      '/api/stream',
      {
        // It checks its caller itself (above), holding messages meanwhile.
        config: { onAccessLoss: 'none' },
        schema: {
          summary: 'Server-sent events: a message whenever pictures or albums change (at any node)',
          response: { 401: ErrorBody },
        },
      },
      async (request, reply) => {
        requirePrincipal(request);
        const res = reply.raw;
        reply.hijack();
        res.writeHead(200, {
          'Content-Type': 'text/event-stream; charset=utf-8',
          'Cache-Control': 'no-store',
          Connection: 'keep-alive',
          'X-Accel-Buffering': 'no',
        });
        // The first bytes tell the client (and tests) that it is subscribed.
        res.write(`: subscribed\nretry: 2000\n\n${PING}`);
        const write = (message: LiveMessage) =>
          res.write(`event: ${message.type}\ndata: ${JSON.stringify({ ids: message.ids })}\n\n`);
        // Messages held while the caller is being checked again; null when no check runs.
        let held: LiveMessage[] | null = null;
        let again = false;
        let ended = false;
        const recheck = () => {
          if (held !== null) {
            again = true;
            return;
          }
          held = [];
          void stillSignedIn(request)
            .catch((err: unknown) => {
              request.log.warn({ err }, 'live feed: could not check the caller again');
              return false;
            })
            .then((ok) => {
              const waiting = held ?? [];
              held = null;
              if (!ok) {
                end();
                return;
              }
              if (ended) return;
              for (const message of waiting) write(message);
              if (again) {
                again = false;
                recheck();
              }
            });
        };
        const unsubscribe = feed.subscribe((message) => {
          if (held !== null) held.push(message);
          else write(message);
        });
        const unwatch = feed.onAccessChange(recheck);
        const heartbeat = setInterval(() => {
          res.write(PING);
          recheck();
        }, HEARTBEAT_MS);
        const end = () => {
          ended = true;
          clearInterval(heartbeat);
          unsubscribe();
          unwatch();
          open.delete(end);
          if (!res.writableEnded) res.end();
        };
        open.add(end);
        request.raw.once('close', end);
      },
    );
  };
