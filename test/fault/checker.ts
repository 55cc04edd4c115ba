/**
 * The fault tier's picture check, run after every fault is healed (folders: folder-checker.ts;
 * each is reported apart): waits (polling) for every node to agree, then holds the agreed state
 * against the documented rules (docs/architecture.md) and the history of acknowledged writes,
 * and reports the first difference it finds. Also the database reads the checks share, and the
 * workload's server errors.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import { allPictures, firstDifference } from '../helpers/cluster.js';
import { waitFor, type Picture } from '../helpers/node-process.js';
import { sha256, type FaultNode, type History } from './workload.js';

export interface OpRow {
  origin: string;
  seq: number;
  hlc: string;
  kind: string;
  body: string;
}

/** How long a node may take to restore a picture's bytes it found missing when asked. */
const BYTES_REPAIR_MS = 30_000;

/**
 * Rows of a node's database, read as they are: the SQLite file in its data directory (WAL:
 * readable while it runs), or a scaled site's PostgreSQL. `query` is plain SQL both read alike.
 */
export async function readRows<T>(node: FaultNode, query: string): Promise<T[]> {
  if (node.database !== undefined) {
    const client = new pg.Client({ connectionString: node.database });
    await client.connect();
    try {
      return (await client.query(query)).rows as T[];
    } finally {
      await client.end();
    }
  }
  const db = new Database(join(node.node.dataDir, 'mosaic.db'), { readonly: true });
  try {
    return db.prepare(query).all() as T[];
  } finally {
    db.close();
  }
}

/** A node's operations of the kinds that start with `prefix` ("picture.", "user."). */
export async function opsOf(node: FaultNode, prefix: string): Promise<OpRow[]> {
  const rows = await readRows<Omit<OpRow, 'seq'> & { seq: string | number }>(
    node,
    `SELECT origin, seq, hlc, kind, body FROM ops WHERE kind LIKE '${prefix}%'`,
  );
  // PostgreSQL's BIGINT comes back as a string.
  return rows.map((row) => ({ ...row, seq: Number(row.seq) }));
}

/** A node's picture operations. */
export function pictureOps(node: FaultNode): Promise<OpRow[]> {
  return opsOf(node, 'picture.');
}

interface Expected {
  alive: boolean;
  title: string;
  category: string;
  desc: string;
}

/**
 * The documented rules, written again independently of src/: per-field last writer wins by
 * HLC; alive when it was created and the highest create/edit HLC is above the highest delete
 * HLC.
 */
export function expectedPictures(ops: readonly OpRow[]): Map<string, Expected> {
  type Reg = { value: string; hlc: string };
  const state = new Map<
    string,
    {
      live: string;
      dead: string;
      created: boolean;
      fields: Partial<Record<'title' | 'category' | 'desc', Reg>>;
    }
  >();
  for (const op of ops) {
    const body = JSON.parse(op.body) as Record<string, unknown> & { id: string };
    const s = state.get(body.id) ?? { live: '', dead: '', created: false, fields: {} };
    state.set(body.id, s);
    if (op.kind === 'picture.delete') {
      if (op.hlc > s.dead) s.dead = op.hlc;
      continue;
    }
    if (op.hlc > s.live) s.live = op.hlc;
    if (op.kind === 'picture.create') s.created = true;
    for (const field of ['title', 'category', 'desc'] as const) {
      const value = body[field];
      if (typeof value !== 'string') continue;
      const reg = s.fields[field];
      if (!reg || op.hlc > reg.hlc) s.fields[field] = { value, hlc: op.hlc };
    }
  }
  const out = new Map<string, Expected>();
  for (const [id, s] of state) {
    out.set(id, {
      alive: s.created && s.live > s.dead,
      title: s.fields.title?.value ?? '',
      category: s.fields.category?.value ?? '',
      desc: s.fields.desc?.value ?? '',
    });
  }
  return out;
}

export interface PictureReport {
  convergedMs: number;
  pictures: number;
  /** Pictures a node was still restoring the bytes of when asked (503, then 200). */
  restoring: number;
  ops: number;
  acked: { uploads: number; edits: number; deletes: number };
}

/** Waits until every node lists the same pictures and holds the same picture operations. */
export async function checkPictures(
  nodes: readonly FaultNode[],
  history: History,
  timeoutMs: number,
  /** When the faults ended: convergence time is measured from here. */
  started: number,
): Promise<PictureReport> {
  let last = 'no snapshot taken';
  let listed: Picture[] = [];
  let ops: OpRow[] = [];
  try {
    await waitFor(
      async () => {
        const snaps = await Promise.all(
          nodes.map(async (n) => ({ name: n.name, pictures: await allPictures(n.api) })),
        );
        const [first, ...rest] = snaps;
        if (!first) return true;
        for (const other of rest) {
          const diff = firstDifference(first, other);
          if (diff !== null) {
            last = diff;
            return false;
          }
        }
        const counts = await Promise.all(nodes.map((n) => pictureOps(n)));
        const sizes = counts.map((c) => c.length);
        if (new Set(sizes).size !== 1) {
          last = `picture operations per node: ${nodes.map((n, i) => `${n.name} ${sizes[i]}`).join(', ')}`;
          return false;
        }
        listed = first.pictures;
        ops = counts[0] ?? [];
        return true;
      },
      { timeoutMs, intervalMs: 500, what: 'picture convergence' },
    );
  } catch {
    throw new Error(`pictures did not converge within ${timeoutMs} ms: ${last}`);
  }
  const convergedMs = Date.now() - started;

  // The agreed state is the one the rules give from the agreed operations.
  const expected = expectedPictures(ops);
  const alive = [...expected].filter(([, e]) => e.alive).map(([id]) => id);
  const byId = new Map(listed.map((p) => [p.id, p]));
  for (const id of alive) {
    const p = byId.get(id);
    const e = expected.get(id);
    if (!p) throw new Error(`picture ${id.slice(0, 12)} is alive by the rules but not listed`);
    if (e && (p.title !== e.title || p.category !== e.category || p.desc !== e.desc)) {
      throw new Error(
        `picture ${id.slice(0, 12)} shows ${JSON.stringify([p.title, p.category, p.desc])}, the rules give ${JSON.stringify([e.title, e.category, e.desc])}`,
      );
    }
  }
  for (const p of listed) {
    if (expected.get(p.id)?.alive !== true)
      throw new Error(`picture ${p.id.slice(0, 12)} is listed but dead by the rules`);
  }

  // Every acknowledged write is an operation in the agreed log.
  const origin = new Map(nodes.map((n) => [n.name, n.id]));
  const acked = { uploads: 0, edits: 0, deletes: 0 };
  const deletesBy = new Map<string, number>();
  for (const op of ops) {
    if (op.kind !== 'picture.delete') continue;
    const key = `${op.origin}/${(JSON.parse(op.body) as { id: string }).id}`;
    deletesBy.set(key, (deletesBy.get(key) ?? 0) + 1);
  }
  const ackedDeletes = new Map<string, number>();
  for (const e of history.entries) {
    if (!('status' in e) || typeof e.status !== 'number' || e.status >= 300) continue;
    if (e.kind === 'upload') {
      acked.uploads++;
      if (!ops.some((op) => op.kind === 'picture.create' && op.body.includes(e.id)))
        throw new Error(`acknowledged upload of ${e.id.slice(0, 12)} at ${e.node} is lost`);
    } else if (e.kind === 'edit') {
      acked.edits++;
      const value = JSON.stringify(e.value);
      if (!ops.some((op) => op.kind === 'picture.update' && op.body.includes(value)))
        throw new Error(`acknowledged edit ${e.field}=${e.value} at ${e.node} is lost`);
    } else if (e.kind === 'delete') {
      acked.deletes++;
      const key = `${origin.get(e.node)}/${e.id}`;
      ackedDeletes.set(key, (ackedDeletes.get(key) ?? 0) + 1);
    }
  }
  for (const [key, count] of ackedDeletes) {
    if ((deletesBy.get(key) ?? 0) < count)
      throw new Error(`acknowledged delete ${key} is lost (${count} acknowledged)`);
  }

  // Bytes: every node serves, for every picture, bytes that hash to its id. A node still
  // restoring some from a peer says so (503) and is given BYTES_REPAIR_MS; they are counted.
  let restoring = 0;
  for (const n of nodes) {
    for (const p of listed) {
      const deadline = Date.now() + BYTES_REPAIR_MS;
      for (let waited = false; ; waited = true) {
        const res = await n.api.fetch(`/api/pictures/${p.id}/file`);
        const body = Buffer.from(await res.arrayBuffer());
        if (res.status === 200 && sha256(body) === p.id) break;
        if (res.status === 503 && Date.now() < deadline) {
          if (!waited) restoring++;
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
        throw new Error(
          `${n.name} answers ${res.status} for the bytes of ${p.id.slice(0, 12)}: ${body.toString().slice(0, 200)}`,
        );
      }
    }
  }
  return { convergedMs, pictures: listed.length, ops: ops.length, acked, restoring };
}

/**
 * The workload's requests that a node answered with a server error other than 503: a fault (a
 * kill, a cut link or database) must end a request with an answer that says so (503
 * `unavailable`) or with no answer at all, never with 500 `internal`.
 */
export function serverErrors(history: History): string[] {
  const out: string[] = [];
  for (const e of history.entries) {
    if (!('status' in e) || typeof e.status !== 'number') continue;
    if (e.status >= 500 && e.status !== 503) {
      out.push(`${e.kind === 'event' ? e.action : e.kind} at ${e.node}: ${e.status}`);
    }
  }
  return out;
}
