/**
 * What is told and kept of a fault-tier run (schedule.ts `Run`): its one-line summary, the
 * runs' summaries saved to test-results/, and, for a failed or slow run, its history and what
 * each node and device left.
 */
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/node-process.js';
import { pictureOps } from './checker.js';
import type { Run } from './schedule.js';

/** One line per run: its faults and how long each part took to agree after the heal. */
export function summary(run: Run): string {
  const p = run.pictures;
  const f = run.folders;
  const e = run.events;
  const a = run.accounts;
  return (
    `fault seed=${run.seed} kills=${run.kills} splits=${run.splits} isolations=${run.isolations} ` +
    (run.storageCuts > 0 ? `storage-cuts=${run.storageCuts} ` : '') +
    (run.storageKills > 0 ? `storage-kills=${run.storageKills} ` : '') +
    clockSummary(run) +
    `all-back=${((run.healedAt - run.stoppedAt) / 1000).toFixed(1)}s ` +
    `pictures=${p ? `${(p.convergedMs / 1000).toFixed(1)}s/${p.pictures} pictures/${p.ops} ops/acked ${p.acked.uploads}u ${p.acked.edits}e ${p.acked.deletes}d${p.restoring > 0 ? `/bytes still restoring at ${p.restoring}` : ''}` : 'not checked or failed'} ` +
    `folders=${f ? `${(f.convergedMs / 1000).toFixed(1)}s/${f.files} files/${f.conflictCopies} copies/${f.versionsChecked} paths written${f.convergedMs > 5000 ? ` (last waited for: ${f.lastWait})` : ''}` : 'not checked or failed'} ` +
    `accounts=${a ? `${(a.convergedMs / 1000).toFixed(1)}s/${a.accounts} accounts/${a.ops} ops/acked ${a.acked.add}a ${a.acked.role}r ${a.acked.disabled}d ${a.acked.password}p` : 'not checked or failed'} ` +
    tusSummary(run) +
    devicesSummary(run) +
    `events=${e ? `${e.events} (${e.published} published, ${e.aborted} aborted, ${e.collecting} collecting; ${e.acknowledgedRounds} rounds with every accept acknowledged)` : 'not checked or failed'}`
  );
}

/** Clock moves, and the widest offset set (seconds). */
function clockSummary(run: Run): string {
  const moves = run.history.entries.flatMap((e) => (e.kind === 'clock' ? [e.offsetS] : []));
  if (moves.length === 0) return '';
  return `clock-moves=${moves.length} (widest ${Math.max(...moves.map(Math.abs))}s) `;
}

/** Resumable uploads: how many finished (acknowledged) of those tried. */
function tusSummary(run: Run): string {
  const tus = run.history.entries.filter((e) => e.kind === 'upload' && e.how === 'tus');
  if (tus.length === 0) return '';
  const acked = tus.filter((e) => 'status' in e && typeof e.status === 'number' && e.status < 300);
  return `tus=${acked.length}/${tus.length} acknowledged `;
}

/** What each device went through: starts, kills, cuts and files written, deleted or moved. */
function devicesSummary(run: Run): string {
  return run.devices
    .map((d) => {
      const mine = run.history.entries.filter(
        (e) =>
          ('node' in e && e.node === d.name) ||
          (e.kind === 'split' && e.groups.some((g) => g.includes(d.name))),
      );
      const count = (kind: string) => mine.filter((e) => e.kind === kind).length;
      return (
        `${d.name}=${count('device-start')} starts/${count('kill')} kills/${count('split')} cuts/` +
        `${count('fwrite')} writes/${count('fdelete')} deletes ` +
        (d.unexpectedExits.length > 0 ? `(${d.unexpectedExits.length} exits by itself) ` : '')
      );
    })
    .join('');
}

/** Writes the runs (without their nodes and histories) to test-results/<file>. */
export async function saveSummary(runs: readonly Run[], file: string): Promise<void> {
  await mkdir(join(REPO_ROOT, 'test-results'), { recursive: true });
  await writeFile(
    join(REPO_ROOT, 'test-results', file),
    JSON.stringify(
      runs.map(
        ({ nodes: _n, history: _h, eventWorkload: _e, accountWorkload: _a, devices, ...rest }) => ({
          ...rest,
          devices: devices.map((d) => ({ name: d.name, unexpectedExits: d.unexpectedExits })),
        }),
      ),
      null,
      2,
    ),
  );
}

/**
 * Keeps what a failed (or slow) run left, to read why: its history, and each node's data
 * directory, folder, last log lines and (a scaled site's) operations from its database; the
 * temp directories and servers are removed after the run.
 */
export async function saveHistory(run: Run, part: string, error: unknown): Promise<void> {
  const dir = join(REPO_ROOT, 'test-results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `fault-${run.seed}-${part}.json`);
  await writeFile(
    file,
    JSON.stringify(
      {
        seed: run.seed,
        part,
        error: (error as Error).message,
        kills: run.kills,
        splits: run.splits,
        isolations: run.isolations,
        storageCuts: run.storageCuts,
        storageKills: run.storageKills,
        nodes: run.nodes.map((n) => ({
          name: n.name,
          id: n.id,
          dataDir: n.node.dataDir,
          database: n.database,
        })),
        history: run.history.entries,
      },
      null,
      1,
    ),
  );
  const left = join(dir, `fault-${run.seed}-${part}-nodes`);
  for (const n of run.nodes) {
    const to = join(left, n.name);
    await mkdir(to, { recursive: true });
    await cp(n.node.dataDir, join(to, 'data'), { recursive: true }).catch(() => undefined);
    if (n.folder !== '') {
      await cp(n.folder, join(to, 'folder'), { recursive: true }).catch(() => undefined);
    }
    if (n.database !== undefined) {
      const ops = await pictureOps(n).catch((e: unknown) => String(e));
      await writeFile(join(to, 'ops.json'), JSON.stringify(ops, null, 1)).catch(() => undefined);
    }
    await writeFile(
      join(to, 'log.jsonl'),
      [...n.node.earlierLogs, ...n.node.logs].map((l) => JSON.stringify(l)).join('\n'),
    ).catch(() => undefined);
  }
  for (const d of run.devices) {
    const to = join(left, d.name);
    await mkdir(to, { recursive: true });
    await cp(d.folder, join(to, 'folder'), { recursive: true }).catch(() => undefined);
    await writeFile(join(to, 'log.jsonl'), d.logs().join('\n')).catch(() => undefined);
  }
  console.error(
    `fault tier: seed ${run.seed} ${part}: ${(error as Error).message}; history in ${file}, nodes in ${left}`,
  );
}
