/**
 * The fault tier's folder check, run after every fault is healed: waits (polling) for every
 * node's folder and every device's directory to hold the same tree, then holds it against the
 * history of acknowledged writes (docs/architecture.md's folder rules) and reports the first
 * differences, with the log lines around them. (Pictures: checker.ts.)
 */
import { waitFor } from '../helpers/node-process.js';
import { walk, type FaultNode, type History, type Place, type TreeEntry } from './workload.js';

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
