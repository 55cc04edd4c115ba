/**
 * The fault tier's checker, run after every fault is healed. Pictures and folders are checked
 * and reported apart. Each waits (polling) for every node to agree, then holds the agreed state
 * against the documented rules (docs/architecture.md) and the history of acknowledged writes,
 * and reports the first difference it finds.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import { allPictures, firstDifference } from '../helpers/cluster.js';
import { waitFor, type Picture } from '../helpers/node-process.js';
import {
  walk,
  sha256,
  type FaultNode,
  type History,
  type Place,
  type TreeEntry,
} from './workload.js';

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

export interface FolderReport {
  convergedMs: number;
  /** What the nodes still disagreed on at the last look before they agreed ('' at once). */
  lastWait: string;
  /** When that took over 5 s: each node's folder and warning log lines around it. */
  slowLog: string[];
  files: number;
  conflictCopies: number;
  versionsChecked: number;
  deletesChecked: number;
}

const TEMP_NAME = /(\.part|\.tmp|~)$|^\.mosaic|\/\.mosaic/;

function diffTrees(a: TreeEntry[], b: TreeEntry[], an: string, bn: string): string | null {
  const bm = new Map(b.map((e) => [e.path, e]));
  for (const e of a) {
    const o = bm.get(e.path);
    if (!o) return `${e.path} (${e.type}) is at ${an} but not at ${bn}`;
    if (o.type !== e.type || o.hash !== e.hash)
      return `${e.path} differs: ${an} ${e.type} ${e.hash.slice(0, 10)} vs ${bn} ${o.type} ${o.hash.slice(0, 10)}`;
  }
  const am = new Set(a.map((e) => e.path));
  for (const o of b)
    if (!am.has(o.path)) return `${o.path} (${o.type}) is at ${bn} but not at ${an}`;
  return null;
}

function isCopyOf(copy: string, path: string): boolean {
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash + 1);
  const base = path.slice(slash + 1);
  const dot = base.lastIndexOf('.');
  const stem = dot > 0 ? base.slice(0, dot) : base;
  const ext = dot > 0 ? base.slice(dot) : '';
  return (
    copy.startsWith(`${dir}${stem}.sync-conflict-`) &&
    copy.endsWith(ext) &&
    !copy.slice(dir.length).includes('/')
  );
}

/**
 * Waits until every node's folder and every device's directory hold the same tree (paths,
 * types, SHA-256) and no node needs anything, then checks the history: the last version written at a path survives (at
 * the path or as a conflict copy of it), a path only one node ever touched and last deleted
 * stays deleted, and no temp file is visible.
 */
export async function checkFolders(
  nodes: readonly FaultNode[],
  history: History,
  timeoutMs: number,
  /** When the faults ended: convergence time is measured from here. */
  started: number,
  /** Devices (`mosaic sync`) of the folder, held to the same tree. */
  devices: readonly LoggedPlace[] = [],
): Promise<FolderReport> {
  const places: readonly Place[] = [...nodes, ...devices];
  let last = 'no snapshot taken';
  let lastWait = '';
  let tree: TreeEntry[] = [];
  try {
    await waitFor(
      async () => {
        const trees = await Promise.all(places.map((n) => walk(n.folder)));
        for (let i = 1; i < trees.length; i++) {
          const diff = diffTrees(
            trees[0] ?? [],
            trees[i] ?? [],
            places[0]?.name ?? '',
            places[i]?.name ?? '',
          );
          if (diff !== null) {
            last = `${diff} (${trees.map((t, k) => `${places[k]?.name} ${t.length}`).join(', ')} entries)`;
            lastWait = last;
            return false;
          }
        }
        for (const n of nodes) {
          const res =
            await n.api.get<{ id: string; needFiles: number; state: string }[]>('/api/folders');
          const f = Array.isArray(res.body) ? res.body[0] : undefined;
          if (!f || f.needFiles !== 0) {
            last = `trees agree, but ${n.name} still needs ${f?.needFiles ?? '?'} files`;
            lastWait = last;
            return false;
          }
        }
        tree = trees[0] ?? [];
        return true;
      },
      { timeoutMs, intervalMs: 1000, what: 'folder convergence' },
    );
  } catch {
    // Say what differs, in the terms of issue 11's causes, before failing.
    const trees = await Promise.all(places.map((n) => walk(n.folder)));
    const lines = [`folders did not converge within ${timeoutMs} ms: ${last}`];
    const paths = new Set(trees.flatMap((t) => t.map((e) => `${e.path} ${e.hash}`)));
    const differing = [...paths].filter(
      (p) => !trees.every((t) => t.some((e) => `${e.path} ${e.hash}` === p)),
    );
    lines.push(
      `${differing.length} path/content pairs are not at every node, ${differing.filter((p) => p.includes('.sync-conflict-')).length} of them conflict copies`,
    );
    for (const [i, t] of trees.entries()) {
      const problems = historyProblems(t, history);
      const node = nodes[i];
      if (node !== undefined) {
        const status = await node.api
          .get<{ needFiles: number; state: string }[]>('/api/folders')
          .then((r) => (Array.isArray(r.body) ? r.body[0] : undefined))
          .catch(() => undefined);
        lines.push(
          `${node.name}: folder ${status?.state ?? '?'}, needs ${status?.needFiles ?? '?'} files`,
        );
      }
      lines.push(
        `${places[i]?.name}: ${t.length} entries; ${problems.length} history problems${problems.length > 0 ? `, e.g. ${problems.slice(0, 3).join('; ')}` : ''}`,
      );
    }
    throw new Error(lines.join('\n  '));
  }
  const convergedMs = Date.now() - started;
  const temp = tree.find((e) => TEMP_NAME.test(e.path));
  if (temp) throw new Error(`a temp file is visible: ${temp.path}`);
  const problems = historyProblems(tree, history);
  if (problems.length > 0) {
    const paths = problems
      .slice(0, 3)
      .map((p) => (/ to (\S+) is missing/.exec(p) ?? /^(\S+), deleted at /.exec(p))?.[1] ?? '');
    throw new Error(
      `folders converged, but ${problems.length} problems; first ones:\n  ${problems.slice(0, 10).join('\n  ')}` +
        `\nwarnings naming the first ones' paths:\n  ${warningsNaming(nodes, devices, paths).join('\n  ') || 'none'}`,
    );
  }
  const writes = new Set<string>();
  const deletes = new Set<string>();
  for (const e of history.entries) {
    if (e.kind === 'fwrite') writes.add(e.path);
    if (e.kind === 'fdelete') deletes.add(e.path);
  }
  return {
    convergedMs,
    lastWait,
    slowLog: convergedMs > 5000 ? folderLogSince(nodes, started) : [],
    files: tree.filter((e) => e.type === 'file').length,
    conflictCopies: tree.filter((e) => e.path.includes('.sync-conflict-')).length,
    versionsChecked: writes.size,
    deletesChecked: deletes.size,
  };
}

/**
 * The history held against one tree: the last version written at a path survives (at the path
 * or as a conflict copy of it); a path only one node ever touched and last deleted stays
 * deleted.
 */
function historyProblems(tree: readonly TreeEntry[], history: History): string[] {
  const byPath = new Map(tree.map((e) => [e.path, e]));
  const lastAction = new Map<string, { kind: 'fwrite' | 'fdelete'; node: string; hash?: string }>();
  const touchedBy = new Map<string, Set<string>>();
  for (const e of history.entries) {
    if (e.kind !== 'fwrite' && e.kind !== 'fdelete') continue;
    lastAction.set(e.path, e.kind === 'fwrite' ? { kind: e.kind, node: e.node, hash: e.hash } : e);
    const set = touchedBy.get(e.path) ?? new Set<string>();
    set.add(e.node);
    touchedBy.set(e.path, set);
  }
  const problems: string[] = [];
  for (const [path, action] of lastAction) {
    if (action.kind === 'fwrite') {
      if (byPath.get(path)?.hash === action.hash) continue;
      const copy = tree.find((e) => e.hash === action.hash && isCopyOf(e.path, path));
      if (copy) continue;
      const elsewhere = tree.find((e) => e.hash === action.hash);
      problems.push(
        `version ${action.hash?.slice(0, 10)} written at ${action.node} to ${path} is missing` +
          (elsewhere ? ` (its content is at ${elsewhere.path})` : ' (nowhere in this tree)'),
      );
    } else if (touchedBy.get(path)?.size === 1) {
      if (byPath.has(path))
        problems.push(
          `${path}, deleted at ${action.node} (the only node that touched it), came back`,
        );
    }
  }
  return problems;
}

/** A device, whose log lines (JSON) name what it did. */
type LoggedPlace = Place & { logs?(): string[] };

/** Each node's and device's log lines at warn and above that name one of `paths` (6 each). */
function warningsNaming(
  nodes: readonly FaultNode[],
  devices: readonly LoggedPlace[],
  paths: readonly string[],
): string[] {
  const sources = [
    ...nodes.map((n) => ({
      name: n.name,
      lines: [...n.node.earlierLogs, ...n.node.logs]
        .filter((l) => Number(l['level']) >= 40)
        .map((l) => JSON.stringify(l)),
    })),
    ...devices.map((d) => ({
      name: d.name,
      lines: (d.logs?.() ?? []).filter((l) => /"level":[4-6]0\b/.test(l)),
    })),
  ];
  const out: string[] = [];
  for (const path of paths.filter((p) => p !== '')) {
    const naming = sources.flatMap((s) =>
      s.lines.filter((l) => l.includes(JSON.stringify(path))).map((l) => `${s.name}: ${l}`),
    );
    out.push(...naming.slice(0, 6).map((l) => l.slice(0, 600)));
  }
  return out;
}

/**
 * Each node's last 20 log lines about folders or at warn and above, from 30 s before `since`
 * (the heal, epoch ms; a stall's retry was scheduled before it), timed from `since`.
 */
function folderLogSince(nodes: readonly FaultNode[], since: number): string[] {
  const out: string[] = [];
  for (const n of nodes) {
    const lines = n.node.logs.filter(
      (l) =>
        Number(l['time']) >= since - 30_000 &&
        (Number(l['level']) >= 40 || (typeof l.msg === 'string' && l.msg.includes('folder'))),
    );
    for (const l of lines.slice(-20)) {
      const rest = Object.fromEntries(
        Object.entries(l).filter(
          ([k]) => !['level', 'time', 'pid', 'hostname', 'node'].includes(k),
        ),
      );
      out.push(
        `${n.name} +${((Number(l['time']) - since) / 1000).toFixed(1)}s ${JSON.stringify(rest)}`,
      );
    }
  }
  return out;
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
