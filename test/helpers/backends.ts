/**
 * Runs a process-tier suite on both storage backends (issue 13): `describeEachBackend(name,
 * suite)` makes one `describe` per backend:
 *
 * - `local`: nodes as `startNode` makes them, SQLite and files under --data;
 * - `shared`: every node started inside the suite (by `startNode`, `TestCluster`...) runs with
 *   `--database` on its own fresh PostgreSQL database and `--blobs` on its own prefix of one
 *   bucket, both servers real and started once for the suite (./postgres.ts, ./swift.ts).
 *   `addUser` then writes to the node's database.
 *
 * What a test checks of the stored bytes goes through the `Backend` it is given (`stored`,
 * `read`, `trashBehindItsBack`, `scratch`), which looks in the right place for either.
 * MOSAIC_TEST_BACKENDS=local (or shared) narrows the list; without it both run, and missing
 * PostgreSQL or Swift fails the suite.
 */
import { readdir, readFile, rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe } from 'vitest';
import { cleanup, setNodePlacement, type NodeProcess } from './node-process.js';
import { startPostgres, type PostgresServer } from './postgres.js';
import { startSwift, type SwiftServer } from './swift.js';

export type BackendName = 'local' | 'shared';

export const BACKENDS: readonly BackendName[] = (() => {
  const wanted = process.env.MOSAIC_TEST_BACKENDS;
  if (!wanted) return ['local', 'shared'];
  const names = wanted.split(',').map((s) => s.trim());
  for (const name of names) {
    if (name !== 'local' && name !== 'shared') {
      throw new Error(`MOSAIC_TEST_BACKENDS: unknown backend ${JSON.stringify(name)}`);
    }
  }
  return names as BackendName[];
})();

/** The bytes' areas a test looks at: picture blobs, their trash, thumbnails. */
export type StoredArea = 'blobs' | 'trash' | 'thumbs';

export interface Backend {
  readonly name: BackendName;
  /** The names in an area, sorted: blob ids for blobs and trash, file names for thumbs. */
  stored(node: NodeProcess, area: StoredArea): Promise<string[]>;
  /** The bytes of one entry of an area, or null when there is none. */
  read(node: NodeProcess, area: StoredArea, name: string): Promise<Buffer | null>;
  /** Moves a blob to the trash behind the node's back (its row still says "has blob"). */
  trashBehindItsBack(node: NodeProcess, id: string): Promise<void>;
  /** The node's local scratch directory: uploads being hashed (tmp), fetches resumed (partial). */
  scratch(node: NodeProcess, which: 'tmp' | 'partial'): string;
}

const BUCKET = 'mosaic-tests';
const LOCAL_DIRS: Record<StoredArea, string> = { blobs: 'blobs', trash: 'trash', thumbs: 'thumbs' };
const S3_AREAS: Record<StoredArea, string> = { blobs: 'blobs/', trash: 'trash/', thumbs: 'named/' };

export function describeEachBackend(name: string, suite: (backend: Backend) => void): void {
  for (const backend of BACKENDS) {
    describe(`${name} [${backend}]`, () => {
      if (backend === 'local') {
        afterAll(cleanup);
        suite(localBackend);
        return;
      }
      const shared = new SharedBackend();
      beforeAll(async () => {
        await shared.start();
        setNodePlacement(shared);
      }, 120_000);
      afterAll(async () => {
        setNodePlacement(null);
        await cleanup();
        await shared.stop();
      });
      suite(shared);
    });
  }
}

const localBackend: Backend = {
  name: 'local',
  async stored(node, area) {
    return (await filesIn(join(node.dataDir, LOCAL_DIRS[area]))).sort();
  },
  async read(node, area, name) {
    const dir = join(node.dataDir, LOCAL_DIRS[area]);
    const path = area === 'blobs' ? join(dir, name.slice(0, 2), name) : join(dir, name);
    return readFile(path).catch(() => null);
  },
  async trashBehindItsBack(node, id) {
    await rename(join(node.dataDir, 'blobs', id.slice(0, 2), id), join(node.dataDir, 'trash', id));
  },
  scratch(node, which) {
    return join(node.dataDir, which);
  },
};

/** File names (not paths) of every file below `dir`; [] if it does not exist. */
async function filesIn(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => basename(e.name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

class SharedBackend implements Backend {
  readonly name = 'shared';
  private pg: PostgresServer | undefined;
  private swift: SwiftServer | undefined;
  private s3: S3Client | undefined;
  private readonly nodes = new Map<string, { database: string; prefix: string }>();

  async start(): Promise<void> {
    const [pg, swift] = await Promise.allSettled([startPostgres(), startSwift()]);
    if (pg.status === 'fulfilled') this.pg = pg.value;
    if (swift.status === 'fulfilled') this.swift = swift.value;
    if (pg.status === 'rejected') throw pg.reason;
    if (swift.status === 'rejected') throw swift.reason;
    this.s3 = new S3Client({
      endpoint: this.swift?.endpoint ?? '',
      region: this.swift?.region ?? 'us-east-1',
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      credentials: {
        accessKeyId: this.swift?.accessKeyId ?? '',
        secretAccessKey: this.swift?.secretAccessKey ?? '',
      },
    });
    // Made once here: nodes starting together would race to create it.
    await this.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  }

  async stop(): Promise<void> {
    this.s3?.destroy();
    await Promise.all([this.pg?.stop(), this.swift?.stop()]);
  }

  async place(dataDir: string): Promise<Readonly<Record<string, string>>> {
    const { pg, swift } = this;
    if (!pg || !swift) throw new Error('the shared backend is not started');
    let where = this.nodes.get(dataDir);
    if (where === undefined) {
      where = { database: await pg.createDatabase(), prefix: `node-${this.nodes.size + 1}/` };
      this.nodes.set(dataDir, where);
    }
    return {
      MOSAIC_DATABASE: where.database,
      MOSAIC_BLOBS: `s3://${BUCKET}/${where.prefix}?endpoint=${swift.endpoint}&region=${swift.region}`,
      AWS_ACCESS_KEY_ID: swift.accessKeyId,
      AWS_SECRET_ACCESS_KEY: swift.secretAccessKey,
    };
  }

  databaseOf(dataDir: string): string | undefined {
    return this.nodes.get(dataDir)?.database;
  }

  async stored(node: NodeProcess, area: StoredArea): Promise<string[]> {
    const prefix = `${this.prefixOf(node)}${S3_AREAS[area]}`;
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client().send(
        new ListObjectsV2Command({
          Bucket: BUCKET,
          Prefix: prefix,
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
      );
      for (const object of page.Contents ?? []) names.push((object.Key ?? '').slice(prefix.length));
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return names.sort();
  }

  async read(node: NodeProcess, area: StoredArea, name: string): Promise<Buffer | null> {
    const key = `${this.prefixOf(node)}${S3_AREAS[area]}${name}`;
    try {
      const res = await this.client().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      return Buffer.from((await res.Body?.transformToByteArray()) ?? []);
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return null;
      throw error;
    }
  }

  async trashBehindItsBack(node: NodeProcess, id: string): Promise<void> {
    const prefix = this.prefixOf(node);
    await this.client().send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        CopySource: `${BUCKET}/${prefix}blobs/${id}`,
        Key: `${prefix}trash/${id}`,
      }),
    );
    await this.client().send(
      new DeleteObjectCommand({ Bucket: BUCKET, Key: `${prefix}blobs/${id}` }),
    );
  }

  scratch(node: NodeProcess, which: 'tmp' | 'partial'): string {
    return join(node.dataDir, 's3-scratch', 'pictures', which);
  }

  private prefixOf(node: NodeProcess): string {
    const where = this.nodes.get(node.dataDir);
    if (where === undefined) throw new Error(`node ${node.url} is not on the shared backend`);
    return where.prefix;
  }

  private client(): S3Client {
    if (!this.s3) throw new Error('the shared backend is not started');
    return this.s3;
  }
}
