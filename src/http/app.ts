/**
 * The HTTP server of one node: the public JSON API, health, metrics and OpenAPI docs.
 * Handlers only parse, authorize and delegate to services.
 */
import Fastify, {
  type FastifyBaseLogger,
  type FastifyServerOptions,
  type FastifyInstance,
  type RouteOptions,
} from 'fastify';
import cookie from '@fastify/cookie';
import multipart from '@fastify/multipart';
import {
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { AccountService } from '../accounts/account.service.js';
import type { LoginLimiter } from '../accounts/login-limiter.js';
import type { Principal } from '../accounts/principal.js';
import type { BlobStore } from '../blobs/blob-store.js';
import type { Thumbnails } from '../pictures/images.js';
import type { PictureService } from '../pictures/picture.service.js';
import { installAccessCut } from './access-cut.js';
import { accessOf, installAuth, stillSignedIn, type StillSignedIn } from './auth.js';
import { clientErrorHandler, frameworkErrors, installErrorHandler } from './error-handler.js';
import { installSecurityHeaders } from './security-headers.js';
import { installRequestMetrics, type Metrics } from './metrics.js';
import { authRoutes } from './routes/auth.routes.js';
import { clusterRoutes, type ClusterRoutesDeps } from './routes/cluster.routes.js';
import { peerRoutes, type PeerRoutesDeps } from './routes/peer.routes.js';
import { loginPeerRoutes } from './routes/login.peer.routes.js';
import { folderRoutes } from './routes/folders.routes.js';
import { deviceRoutes, type DeviceRoutesDeps } from './routes/devices.routes.js';
import type { FolderStatus } from '../folders/folder-sync.js';
import { readSessionPage } from './routes/picture-page.js';
import { pictureRoutes } from './routes/pictures.routes.js';
import { libraryRoutes } from './routes/library.routes.js';
import { tusRoutes } from './routes/tus.routes.js';
import type { TusUploads } from './tus-uploads.js';
import type { PictureFactsService } from '../pictures/picture-facts.service.js';
import { systemRoutes, type SystemInfo } from './routes/system.routes.js';
import type { HealthCheck } from '../storage/health.js';
import { eventRoutes, type EventRoutesDeps } from './routes/events.routes.js';
import { eventPeerRoutes, type EventPeerRoutesDeps } from './routes/events.peer.routes.js';
import { streamRoutes } from './routes/stream.routes.js';
import { albumRoutes } from './routes/albums.routes.js';
import { shareRoutes } from './routes/shares.routes.js';
import { trashRoutes } from './routes/trash.routes.js';
import type { AlbumService } from '../albums/album.service.js';
import type { ShareService } from '../shares/share.service.js';
import type { TrashService } from '../pictures/trash.service.js';
import type { LiveFeed } from './live-feed.js';
import { installWeb, isAppNavigation, sendApp } from './web.js';
import { DOCS_PREFIX, installApiDocs } from './api-docs.js';

export interface AppDeps {
  readonly log: FastifyBaseLogger;
  readonly info: SystemInfo;
  readonly cookieSecret: string;
  /** Fastify's trustProxy: which proxies' X-Forwarded-* to believe (false: none). */
  readonly trustProxy: boolean | string;
  /** A bearer token that may read /metrics (for Prometheus), or null. */
  readonly metricsToken: string | null;
  readonly maxUploadBytes: number;
  readonly accounts: AccountService;
  /** Sign-in back-off; with a peer API, other nodes report their sign-in outcomes to it. */
  readonly loginLimiter?: LoginLimiter;
  readonly pictures: PictureService;
  readonly facts: PictureFactsService;
  /** Resumable uploads (tus); none on an app built without them. */
  readonly tus?: TusUploads;
  readonly blobs: BlobStore;
  readonly thumbs: Thumbnails;
  readonly metrics: Metrics;
  /** What `/healthz` checks (the database, the object store); default: nothing. */
  readonly health?: HealthCheck;
  readonly cluster: ClusterRoutesDeps;
  /** The synced folders this account may use (see devices/folder-access.ts). */
  readonly folders: (principal: Principal) => FolderStatus[];
  /** The device API (mosaic sync). */
  readonly devices: DeviceRoutesDeps;
  /** Picture changes for the web app's live updates (`GET /api/stream`). */
  readonly live: LiveFeed;
  /** Albums, share links and the trash (issue 15). */
  readonly library?: {
    readonly albums: AlbumService;
    readonly shares: ShareService;
    readonly trash: TrashService;
    readonly trashRetentionMs: number;
  };
  /** The built web app (dist/web) served at `/`, or null to serve the API only. */
  readonly webRoot: string | null;
  /** The peer API, present when the node has a cluster key. */
  readonly peer: PeerRoutesDeps | null;
  /** Group photo events: the public API, and its peer side when the node has a cluster key. */
  readonly events?: { api: EventRoutesDeps; peer: EventPeerRoutesDeps | null };
}

/** Fastify's compiler factories, typed for ajv's schemas: zod's compilers, whatever the route. */
const ZOD_COMPILERS = {
  buildValidator: () => validatorCompiler,
  buildSerializer: () => serializerCompiler,
} as unknown as NonNullable<
  NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']
>;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log,
    bodyLimit: 1024 * 1024,
    trustProxy: deps.trustProxy,
    frameworkErrors,
    clientErrorHandler,
    // Every route is validated and serialized by zod (below): Fastify's default compilers (ajv,
    // fast-json-stringify and ajv-formats) would be loaded at start for nothing, ~30 ms of CPU
    // (docs/benchmarks.md, "Start-up, profiled").
    schemaController: { compilersFactory: ZOD_COMPILERS },
  }).withTypeProvider<ZodTypeProvider>();
  // The route table with who may call each route, logged at start (debug) for operators and
  // for the attack tests, which sweep every route of it. The options objects are kept, not
  // copied: hooks that run after this one (the docs, the /peer scope) set their config.
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  app.addHook('onReady', async () => {
    const table = routes.flatMap((route) =>
      (Array.isArray(route.method) ? route.method : [route.method]).map((method) => ({
        method,
        url: route.url,
        access: accessOf(route.config),
      })),
    );
    deps.log.debug({ routes: table }, 'route table');
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const webRoot = deps.webRoot;
  installErrorHandler(
    app,
    webRoot === null
      ? undefined
      : { matches: isAppNavigation, send: (reply) => sendApp(reply, webRoot) },
  );

  await app.register(cookie, { secret: deps.cookieSecret });
  await app.register(multipart, {
    limits: {
      fileSize: deps.maxUploadBytes,
      files: 1,
      fields: 10,
      fieldSize: 64 * 1024,
      parts: 12,
    },
  });
  // The docs are readable without signing in (they describe the API, they expose no data).
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith(DOCS_PREFIX)) route.config = { ...route.config, public: true };
  });
  // Built at their first request, from the routes as the app has them then (api-docs.ts).
  await installApiDocs(app, { version: deps.info.version, routes });

  installSecurityHeaders(app);
  installAuth(app, {
    accounts: deps.accounts,
    metricsToken: deps.metricsToken,
    sessionWithPicture: (session, id) => deps.pictures.getForSession(session, id),
    ...(deps.pictures.buildsPages && {
      sessionWithPage: (session: string, query: unknown) =>
        readSessionPage((s, q) => deps.pictures.pageForSession(s, q), session, query),
    }),
  });
  installRequestMetrics(app, deps.metrics.registry);
  const signedIn: StillSignedIn = (request) => stillSignedIn(request, deps.accounts);
  // Requests in flight end when their caller loses access (after the auth hook: its principal).
  installAccessCut(app, {
    stillSignedIn: signedIn,
    onAccessChange: (listener) => deps.live.onAccessChange(listener),
  });

  await app.register(
    systemRoutes(deps.info, deps.metrics.registry, deps.health, quietRequests(deps.log)),
  );
  await app.register(authRoutes(deps.accounts));
  await app.register(
    pictureRoutes({
      pictures: deps.pictures,
      facts: deps.facts,
      blobs: deps.blobs,
      thumbs: deps.thumbs,
      metrics: deps.metrics,
      maxUploadBytes: deps.maxUploadBytes,
      stillSignedIn: signedIn,
    }),
  );
  await app.register(
    libraryRoutes({ facts: deps.facts, pictures: deps.pictures, blobs: deps.blobs }),
  );
  if (deps.tus) await app.register(tusRoutes(deps.tus, signedIn));
  if (deps.library) {
    const { albums, shares, trash, trashRetentionMs } = deps.library;
    await app.register(albumRoutes(albums));
    await app.register(
      shareRoutes({
        shares,
        pictures: deps.pictures,
        blobs: deps.blobs,
        limiter: deps.loginLimiter,
      }),
    );
    await app.register(trashRoutes(trash, trashRetentionMs));
  }
  await app.register(clusterRoutes(deps.cluster));
  await app.register(folderRoutes(deps.folders));
  await app.register(streamRoutes(deps.live, signedIn));
  if (webRoot !== null) installWeb(app, webRoot);
  await app.register(deviceRoutes(deps.devices));
  if (deps.events) await app.register(eventRoutes(deps.events.api));
  // The /peer routes answer to the cluster key's signature (their peer guard), not to accounts.
  // Their requests (anti-entropy pulls every few seconds from each peer) are not logged at info:
  // an idle cluster wrote ~100 lines a minute of them. At debug they are; refusals and failures
  // are warnings either way.
  await app.register(async (peers) => {
    peers.addHook('onRoute', (route) => {
      route.config = { ...route.config, peer: true };
    });
    if (deps.peer) await peers.register(peerRoutes(deps.peer));
    if (deps.peer && deps.loginLimiter) {
      const { verifier, faults } = deps.peer;
      await peers.register(loginPeerRoutes({ verifier, faults, limiter: deps.loginLimiter }));
    }
    if (deps.events?.peer) await peers.register(eventPeerRoutes(deps.events.peer));
  }, quietRequests(deps.log));
  return app;
}

/**
 * Route options that log a route's requests only when the node logs at debug (health checks,
 * peers' exchanges): at info they were most of an idle node's log.
 */
export function quietRequests(log: { readonly level: string }): { logLevel?: 'warn' } {
  return log.level === 'debug' || log.level === 'trace' ? {} : { logLevel: 'warn' };
}
