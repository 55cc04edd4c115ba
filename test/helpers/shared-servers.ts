/**
 * A real PostgreSQL and a real Swift (S3) for the tests of one file that run sites of several
 * processes by hand (test/storage): started before the file's tests, stopped after them.
 */
import { afterAll, beforeAll } from 'vitest';
import { freePort } from './cluster.js';
import { cleanup, startNode, type NodeProcess } from './node-process.js';
import { startPostgres, type PostgresServer } from './postgres.js';
import { startSwift, type SwiftServer } from './swift.js';

export interface SharedServers {
  readonly pg: PostgresServer;
  readonly swift: SwiftServer;
}

/** Registers the start and stop; the returned function gives the servers inside a test. */
export function useSharedServers(): () => SharedServers {
  let servers: SharedServers | undefined;
  beforeAll(async () => {
    const [pg, swift] = await Promise.all([startPostgres(), startSwift()]);
    servers = { pg, swift };
  }, 120_000);
  afterAll(async () => {
    await cleanup();
    await Promise.all([servers?.pg.stop(), servers?.swift.stop()]);
  });
  return () => {
    if (!servers) throw new Error('PostgreSQL or Swift did not start');
    return servers;
  };
}

/**
 * The environment every process of one site gets: a fresh database of its own and `bucket` on
 * the Swift, with its credentials.
 */
export async function siteEnv(
  { pg, swift }: SharedServers,
  bucket: string,
): Promise<Record<string, string>> {
  return {
    MOSAIC_DATABASE: await pg.createDatabase(),
    MOSAIC_BLOBS: `s3://${bucket}?endpoint=${swift.endpoint}&region=${swift.region}`,
    AWS_ACCESS_KEY_ID: swift.accessKeyId,
    AWS_SECRET_ACCESS_KEY: swift.secretAccessKey,
  };
}

/**
 * `count` processes of one site, one after the other (the first makes the site): each on a
 * port of its own with `args` and the site's environment.
 */
export async function startSite(
  count: number,
  env: Readonly<Record<string, string>>,
  args: readonly string[],
): Promise<NodeProcess[]> {
  const site: NodeProcess[] = [];
  for (let i = 0; i < count; i++) {
    const port = await freePort();
    site.push(await startNode({ args: ['--port', String(port), ...args], env }));
  }
  return site;
}
