/**
 * The API's OpenAPI document and its Swagger UI at /api/docs, built on first use. Loading
 * @fastify/swagger, @fastify/swagger-ui and yaml at start cost every node ~40 ms of CPU (a tenth
 * of its start-up) for a page few people open (docs/benchmarks.md, "Start-up, profiled").
 *
 * The node's app has the docs' routes (the same paths as @fastify/swagger-ui's, public); the
 * first request to one of them builds a second, private Fastify instance holding the two plugins
 * and a copy of every route of the app (paths and schemas: what the document describes, never
 * called), and each request is answered from it through `inject()`, so that the app's hooks
 * (security headers, metrics) apply as to any other response.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type RouteOptions } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { frameworkErrors, installErrorHandler } from './error-handler.js';

export const DOCS_PREFIX = '/api/docs';

/** @fastify/swagger-ui's routes under the prefix (its theme and baseDir ones are not used). */
const PATHS = [
  '/',
  '/json',
  '/yaml',
  '/static/index.html',
  '/static/swagger-initializer.js',
  '/static/*',
];

/** What the docs instance answers that is about the connection, not the content. */
const NOT_FORWARDED = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'date',
]);

/** The request headers a static file's answer depends on (caching, ranges). */
const REQUEST_HEADERS = ['accept', 'if-none-match', 'if-modified-since', 'range', 'if-range'];

export interface ApiDocsOptions {
  readonly version: string;
  /** Every route of the app, complete by the time the first docs request comes. */
  readonly routes: readonly RouteOptions[];
}

/** Adds the docs' routes to `app` (their hooks make them public: app.ts). */
export async function installApiDocs(app: FastifyInstance, options: ApiDocsOptions): Promise<void> {
  let docs: Promise<FastifyInstance> | null = null;
  const serve = async (
    request: { method: string; url: string; headers: Record<string, unknown> },
    reply: FastifyReply,
  ) => {
    docs ??= buildDocs(options).catch((error: unknown) => {
      docs = null;
      throw error;
    });
    const headers: Record<string, string> = {};
    for (const name of REQUEST_HEADERS) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const answer = await (
      await docs
    ).inject({ method: request.method as 'GET' | 'HEAD', url: request.url, headers });
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && !NOT_FORWARDED.has(name)) reply.header(name, value);
    }
    return reply.code(answer.statusCode).send(answer.rawPayload);
  };
  await app.register(
    async (scope) => {
      for (const path of PATHS) {
        scope.get(path, { schema: { hide: true } }, serve);
      }
    },
    { prefix: DOCS_PREFIX },
  );
}

/** A Fastify instance with the docs plugins and a stand-in of each of the app's routes. */
async function buildDocs(options: ApiDocsOptions): Promise<FastifyInstance> {
  const [{ default: swagger }, { default: swaggerUi }] = await Promise.all([
    import('@fastify/swagger'),
    import('@fastify/swagger-ui'),
  ]);
  const docs = Fastify({ logger: false, frameworkErrors });
  // Its answers are the node's (a file that is not there: the node's 404, in the error shape).
  installErrorHandler(docs);
  // The stand-ins are never called: their schemas are only read, for the document.
  docs.setValidatorCompiler(() => () => ({ value: undefined }));
  docs.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await docs.register(swagger, {
    openapi: {
      info: { title: 'Mosaic', version: options.version, description: 'Mosaic node API' },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'mosaic_session' },
          token: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ session: [] }, { token: [] }],
    },
    transform: jsonSchemaTransform,
  });
  const notServed = () => {
    throw new Error('a stand-in route of the API docs');
  };
  for (const route of options.routes) {
    // The docs' own routes come from the plugin; HEAD twins are made again from their GET.
    if (route.url.startsWith(DOCS_PREFIX) || route.method === 'HEAD') continue;
    docs.route({
      method: route.method,
      url: route.url,
      ...(route.schema === undefined ? {} : { schema: route.schema }),
      ...(route.config === undefined ? {} : { config: route.config }),
      handler: notServed,
    });
  }
  await docs.register(swaggerUi, {
    routePrefix: DOCS_PREFIX,
    uiConfig: { deepLinking: false },
  });
  await docs.ready();
  return docs;
}
