/**
 * For the attack tier: HTTP requests with the path sent exactly as written (node:http never
 * normalizes it, unlike fetch, which resolves `..` and would re-encode), and the route table a
 * node logs at start (`--log-level debug`), from Fastify's own onRoute hook, and a node started
 * with every route.
 */
import { mkdir } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import type { Backend } from '../helpers/backends.js';
import { newClusterKey } from '../helpers/cluster.js';
import { makeTempDir, startNode, type NodeProcess } from '../helpers/node-process.js';

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export function rawRequest(
  base: string,
  method: string,
  path: string,
  headers: Readonly<Record<string, string>> = {},
  body?: Buffer | string,
): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        agent: false,
        headers: {
          ...headers,
          'content-length': String(body === undefined ? 0 : Buffer.byteLength(body)),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    // An event stream never ends: what matters is its status line.
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${path}: no answer in 5 s`)));
    req.end(body);
  });
}

export type Access = 'public' | 'peer' | 'admin' | 'account';

export interface RouteEntry {
  readonly method: string;
  readonly url: string;
  readonly access: Access;
}

/** The node's route table (it must run with `--log-level debug`). */
export async function routeTable(node: NodeProcess): Promise<RouteEntry[]> {
  const line = await node.waitForLog((l) => l.msg === 'route table');
  return line['routes'] as RouteEntry[];
}

/**
 * A node with every route there is (a synced folder on the local backend; a site on PostgreSQL
 * has none, their routes are there all the same), and its route table.
 */
export async function startWithRoutes(
  backend: Backend,
): Promise<{ node: NodeProcess; routes: RouteEntry[] }> {
  const folder = join(await makeTempDir('mosaic-attack-folder-'), 'f');
  await mkdir(folder);
  const node = await startNode({
    args: [
      '--log-level',
      'debug',
      '--cluster-key',
      newClusterKey(),
      ...(backend.name === 'local' ? ['--folder', folder] : []),
    ],
  });
  return { node, routes: await routeTable(node) };
}

/** A concrete path for a route pattern: every `:param` and `*` filled with a harmless value. */
export function concretePath(pattern: string): string {
  return pattern
    .replace(/:hash/g, 'a'.repeat(64))
    .replace(/:id/g, 'evt_abc')
    .replace(/:[A-Za-z]+/g, 'x1')
    .replace(/\*$/, 'x1');
}

/**
 * Spellings of the same path a router or proxy might take for it: percent-encoded letters,
 * doubled slashes, dot segments, upper case.
 */
export function pathVariants(path: string): { name: string; path: string; sameRoute: boolean }[] {
  const first = path.slice(1, 2);
  const hex = `%${first.charCodeAt(0).toString(16)}`;
  const encodedAll = path.replace(/[a-z]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);
  return [
    { name: 'as is', path, sameRoute: true },
    { name: 'first letter encoded', path: `/${hex}${path.slice(2)}`, sameRoute: true },
    { name: 'every letter encoded', path: encodedAll, sameRoute: true },
    { name: 'upper-case hex', path: `/${hex.toUpperCase()}${path.slice(2)}`, sameRoute: true },
    { name: 'doubled slash', path: `/${path}`, sameRoute: false },
    { name: 'inner doubled slash', path: path.replace(/\/([^/]*)$/, '//$1'), sameRoute: false },
    { name: 'dot segment', path: `/x/..${path}`, sameRoute: false },
    { name: 'encoded dot segment', path: `/x/%2e%2e${path}`, sameRoute: false },
    { name: 'single dot', path: `/.${path}`, sameRoute: false },
    { name: 'upper case', path: path.toUpperCase(), sameRoute: false },
    { name: 'encoded slash', path: path.replace(/^(\/[^/]+)\//, '$1%2f'), sameRoute: false },
    { name: 'trailing slash', path: `${path}/`, sameRoute: false },
  ];
}
