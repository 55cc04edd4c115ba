// Several simulated nodes editing, deleting and exchanging versions of a few paths in any
// order: the properties of resolve (file-version.ts) that folder sync relies on end to end.
import { posix } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HybridClock } from '../../core/hlc.js';
import { conflictName, isConflictName, versionTag } from './conflict-name.js';
import {
  bumpVv,
  compareVv,
  resolve,
  sameContent,
  versionAfter,
  wallOf,
  type FileVersion,
  type VersionVector,
} from './file-version.js';
import { checkRelativePath } from './paths.js';

const T0 = Date.UTC(2024, 10, 21, 12, 0, 0);

// ---- Simulated nodes --------------------------------------------------------------------------

const NODES = ['n1', 'n2', 'n3'] as const;
const PATHS = ['a.txt', 'b', 'dir/.c.md'] as const;

type Step =
  | { t: 'write'; node: number; path: number; hash: string }
  | { t: 'mkdir'; node: number; path: number }
  | { t: 'delete'; node: number; path: number }
  | { t: 'send'; from: number; to: number }
  | { t: 'deliver'; pick: number; keep: boolean }
  | { t: 'wait'; ms: number };

const nodeIx = fc.nat(NODES.length - 1);
// Mostly the same path, so that concurrent edits meet often.
const pathIx = fc.constantFrom(0, 0, 0, 1, 2);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    arbitrary: fc.record({
      t: fc.constant('write' as const),
      node: nodeIx,
      path: pathIx,
      hash: fc.constantFrom('h1', 'h2', 'h3'),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ t: fc.constant('mkdir' as const), node: nodeIx, path: pathIx }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ t: fc.constant('delete' as const), node: nodeIx, path: pathIx }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ t: fc.constant('send' as const), from: nodeIx, to: nodeIx }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      t: fc.constant('deliver' as const),
      pick: fc.nat(),
      keep: fc.boolean(),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      t: fc.constant('wait' as const),
      ms: fc.integer({ min: 0, max: 1500 }),
    }),
    weight: 2,
  },
);

interface SimNode {
  readonly id: string;
  readonly name: string;
  readonly clock: HybridClock;
  readonly files: Map<string, FileVersion>;
}

interface Message {
  readonly to: number;
  readonly path: string;
  readonly version: FileVersion;
}

/** A version a user made, and the version the node held when the user made the next one. */
interface Edit {
  readonly path: string;
  readonly made: FileVersion;
  readonly replaced: FileVersion | null;
}

function simulate(steps: readonly Step[]) {
  let now = T0;
  const nodes: SimNode[] = NODES.map((id) => ({
    id,
    name: `Node ${id}!`, // sanitized in copy names
    clock: new HybridClock(id, () => now),
    files: new Map(),
  }));
  const pool: Message[] = [];
  const edits: Edit[] = [];

  const at = (i: number): SimNode => nodes[i % nodes.length] ?? fail('no such node');

  function edit(
    node: SimNode,
    path: string,
    change: Pick<FileVersion, 'kind' | 'deleted' | 'hash'>,
  ) {
    const replaced = node.files.get(path) ?? null;
    const made: FileVersion = {
      ...change,
      size: change.hash?.length ?? 0,
      mtimeMs: now,
      vv: bumpVv(replaced?.vv ?? {}, node.id),
      hlc: node.clock.next(),
      origin: node.id,
      originName: node.name,
    };
    node.files.set(path, made);
    edits.push({ path, made, replaced });
  }

  /** Applies a version from a peer; returns whether anything changed. */
  function receive(node: SimNode, path: string, remote: FileVersion): boolean {
    node.clock.observe(remote.hlc);
    const local = node.files.get(path) ?? null;
    const r = resolve(path, local, remote);
    const after = versionAfter(local, remote, r);
    let changed = !isDeepStrictEqual(after, local);
    if (after !== null) node.files.set(path, after);
    if (r.action === 'conflict' && r.keepLoserAs !== null) {
      changed = receive(node, r.keepLoserAs, r.loser) || changed;
    }
    return changed;
  }

  for (const step of steps) {
    switch (step.t) {
      case 'write':
        edit(at(step.node), PATHS[step.path] ?? fail('path'), {
          kind: 'file',
          deleted: false,
          hash: step.hash,
        });
        break;
      case 'mkdir':
        edit(at(step.node), PATHS[step.path] ?? fail('path'), {
          kind: 'dir',
          deleted: false,
          hash: null,
        });
        break;
      case 'delete': {
        const node = at(step.node);
        const path = PATHS[step.path] ?? fail('path');
        const current = node.files.get(path);
        if (current && !current.deleted) {
          edit(node, path, { kind: current.kind, deleted: true, hash: null });
        }
        break;
      }
      case 'send':
        for (const [path, version] of at(step.from).files) {
          pool.push({ to: step.to, path, version });
        }
        break;
      case 'deliver': {
        if (pool.length === 0) break;
        const i = step.pick % pool.length;
        const m = pool[i] ?? fail('message');
        if (!step.keep) pool.splice(i, 1); // kept messages arrive again later: duplicates
        receive(at(m.to), m.path, m.version);
        break;
      }
      case 'wait':
        now += step.ms;
        break;
    }
  }

  // Anti-entropy until nothing changes: every node offers every path to every other node.
  for (let round = 0; ; round++) {
    if (round > 20) throw new Error('did not converge');
    let changed = false;
    for (const from of nodes) {
      for (const to of nodes) {
        if (from === to) continue;
        for (const [path, version] of [...from.files])
          changed = receive(to, path, version) || changed;
      }
    }
    if (!changed) break;
  }
  return { nodes, edits };
}

function fail(what: string): never {
  throw new Error(`simulation bug: ${what}`);
}

const notAfter = (a: VersionVector, b: VersionVector) => /before|equal/.test(compareVv(a, b));

describe('several nodes editing, deleting and exchanging in any order', () => {
  const history = fc.array(stepArb, { minLength: 1, maxLength: 80 });

  it('converge to the same version of every path, copies included', () => {
    fc.assert(
      fc.property(history, (steps) => {
        const { nodes } = simulate(steps);
        const [first, ...rest] = nodes.map((n) => Object.fromEntries(n.files));
        for (const other of rest) expect(other).toEqual(first);
      }),
      { numRuns: 1000 },
    );
  });

  it('never lose a modification that no one replaced', () => {
    fc.assert(
      fc.property(history, (steps) => {
        const { nodes, edits } = simulate(steps);
        const final = nodes[0]?.files ?? fail('nodes');
        const copies = [...final].filter(([p, x]) => isConflictName(p) && !x.deleted);
        for (const { path, made } of edits) {
          if (made.deleted) continue;
          const head = final.get(path);
          if (head !== undefined && sameContent(head, made)) continue;
          const copied = copies.some(
            ([p, x]) =>
              made.kind === 'file' &&
              posix.dirname(p) === posix.dirname(path) &&
              x.hash === made.hash,
          );
          if (copied) continue;
          // Superseded: a user at some node replaced this very content, having seen this version.
          const superseded = edits.some(
            (e) =>
              e.path === path &&
              e.replaced !== null &&
              sameContent(e.replaced, made) &&
              notAfter(made.vv, e.replaced.vv),
          );
          expect({ path, made, lost: !superseded }).toEqual({ path, made, lost: false });
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('end with a version at each edited path that has seen every edit of it', () => {
    fc.assert(
      fc.property(history, (steps) => {
        const { nodes, edits } = simulate(steps);
        const final = nodes[0]?.files ?? fail('nodes');
        for (const { path, made } of edits) {
          const head = final.get(path) ?? fail('edited path missing');
          expect(notAfter(made.vv, head.vv)).toBe(true);
        }
        for (const [p, x] of final) {
          expect(checkRelativePath(p)).toEqual({ ok: true, path: p });
          // A copy is named after the version it holds, on whichever node it was made.
          if (isConflictName(p)) {
            const names = PATHS.map((q) =>
              conflictName(q, wallOf(x.hlc), x.originName, versionTag(x)),
            );
            expect(names).toContain(p);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('make conflict copies with the names of the losing versions', () => {
    // Two nodes edit the same file while apart, then meet: one copy, named after the loser.
    const { nodes, edits } = simulate([
      { t: 'write', node: 0, path: 0, hash: 'h1' },
      { t: 'wait', ms: 1000 },
      { t: 'write', node: 1, path: 0, hash: 'h2' },
    ]);
    const loser = edits[0]?.made ?? fail('edit');
    const copy = conflictName('a.txt', wallOf(loser.hlc), loser.originName, versionTag(loser));
    expect(copy).toBe(`a.sync-conflict-20241121-120000-Node_n1_-${versionTag(loser)}.txt`);
    for (const n of nodes) {
      expect(n.files.get('a.txt')?.hash).toBe('h2');
      expect(n.files.get(copy)).toEqual(loser);
      expect([...n.files.keys()].sort()).toEqual([copy, 'a.txt']);
    }
  });
});
