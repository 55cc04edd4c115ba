/**
 * The fault tier's accounts: an admin at random nodes adds a few accounts, makes them admins or
 * not, disables or enables them and resets their passwords while nodes are killed, cut off and
 * their clocks moved (`user.put`, `user.access`). The check: every node ends with the same
 * accounts, each register (password, role, disabled: three registers) holding what the
 * documented rules give from the agreed operations, written again here independently of src/,
 * and every acknowledged change is an operation in the agreed log.
 */
import { waitFor } from '../helpers/node-process.js';
import { opsOf, readRows, type OpRow } from './checker.js';
import type { FaultNode, History, Rng } from './workload.js';

const NAMES = ['ann', 'bob', 'cid'] as const;
type Action = 'add' | 'role' | 'disabled' | 'password';

export interface AccountReport {
  readonly convergedMs: number;
  readonly accounts: number;
  readonly ops: number;
  /** Acknowledged changes by kind. */
  readonly acked: Readonly<Record<Action, number>>;
}

interface UserRow {
  username: string;
  password_hash: string;
  role: string;
  /** 0 or 1 (PostgreSQL's INTEGER and SQLite's alike). */
  disabled: number | string;
}

const ACK = (status: number | 'error') => typeof status === 'number' && status < 300;

export class AccountWorkload {
  /** Names some node said exist (201 or 409), so changes have something to change. */
  private readonly known = new Set<string>();
  private counter = 0;

  constructor(
    private readonly rng: Rng,
    private readonly history: History,
    private readonly seed: number,
  ) {}

  async step(node: FaultNode): Promise<void> {
    const username = this.rng.pick(NAMES) ?? 'ann';
    const path = `/api/users/${username}`;
    const password = `pw-${this.seed}-${this.counter++}-long-enough`;
    if (!this.known.has(username)) {
      const status = await attempt(() =>
        node.api.post('/api/users', { username, password }).then((r) => r.status),
      );
      this.history.add({ kind: 'account', node: node.name, username, action: 'add', status });
      if (ACK(status) || status === 409) this.known.add(username);
      return;
    }
    const roll = this.rng.next();
    const [action, request]: [Action, () => Promise<number>] =
      roll < 0.4
        ? [
            'role',
            () =>
              node.api
                .patch(path, { role: this.rng.chance(0.5) ? 'admin' : 'user' })
                .then((r) => r.status),
          ]
        : roll < 0.8
          ? [
              'disabled',
              () => node.api.patch(path, { disabled: this.rng.chance(0.5) }).then((r) => r.status),
            ]
          : [
              'password',
              () => node.api.request('PUT', `${path}/password`, { password }).then((r) => r.status),
            ];
    const status = await attempt(request);
    this.history.add({ kind: 'account', node: node.name, username, action, status });
  }

  /** Waits for every node to agree, then holds the agreed accounts against the rules. */
  async check(nodes: readonly FaultNode[], timeoutMs: number): Promise<AccountReport> {
    const started = Date.now();
    let last = 'nothing read yet';
    let users: UserRow[] = [];
    let ops: OpRow[] = [];
    try {
      await waitFor(
        async () => {
          const all = await Promise.all(nodes.map((n) => opsOf(n, 'user.')));
          const sizes = all.map((o) => o.length);
          if (new Set(sizes).size !== 1) {
            last = `account operations per node: ${nodes.map((n, i) => `${n.name} ${sizes[i]}`).join(', ')}`;
            return false;
          }
          const tables = await Promise.all(nodes.map((n) => usersOf(n)));
          const first = JSON.stringify(tables[0]);
          const other = tables.findIndex((t) => JSON.stringify(t) !== first);
          if (other > 0) {
            last = `${nodes[0]?.name} has ${first}, ${nodes[other]?.name} ${JSON.stringify(tables[other])}`;
            return false;
          }
          users = tables[0] ?? [];
          ops = all[0] ?? [];
          return true;
        },
        { timeoutMs, intervalMs: 500, what: 'account convergence' },
      );
    } catch {
      throw new Error(`accounts did not converge within ${timeoutMs} ms: ${last}`);
    }
    const convergedMs = Date.now() - started;

    const expected = expectedAccounts(ops);
    for (const row of users) {
      const e = expected.get(row.username);
      if (!e) throw new Error(`account ${row.username} is listed but no operation made it`);
      const got = { hash: row.password_hash, role: row.role, disabled: row.disabled === 1 };
      const want = { hash: e.hash, role: e.role, disabled: e.disabled };
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        throw new Error(
          `account ${row.username} holds ${JSON.stringify(got)}, the rules give ${JSON.stringify(want)}`,
        );
      }
    }
    for (const name of expected.keys()) {
      if (!users.some((u) => u.username === name)) throw new Error(`account ${name} is missing`);
    }
    return {
      convergedMs,
      accounts: users.length,
      ops: ops.length,
      acked: this.ackedIn(nodes, ops),
    };
  }

  /** Every acknowledged change is an operation of the node that acknowledged it. */
  private ackedIn(nodes: readonly FaultNode[], ops: readonly OpRow[]): Record<Action, number> {
    const origin = new Map(nodes.map((n) => [n.name, n.id]));
    const acked: Record<Action, number> = { add: 0, role: 0, disabled: 0, password: 0 };
    const wanted = new Map<string, number>();
    for (const e of this.history.entries) {
      if (e.kind !== 'account' || !ACK(e.status)) continue;
      acked[e.action]++;
      const key = `${origin.get(e.node)}/${e.username}/${e.action}`;
      wanted.set(key, (wanted.get(key) ?? 0) + 1);
    }
    const found = new Map<string, number>();
    for (const op of ops) {
      const body = JSON.parse(op.body) as AccountBody;
      for (const action of actionsOf(op.kind, body)) {
        const key = `${op.origin}/${body.username}/${action}`;
        found.set(key, (found.get(key) ?? 0) + 1);
      }
    }
    for (const [key, count] of wanted) {
      if ((found.get(key) ?? 0) < count) {
        throw new Error(`acknowledged account change ${key} is lost (${count} acknowledged)`);
      }
    }
    return acked;
  }
}

interface AccountBody {
  username: string;
  passwordHash?: string;
  role?: string;
  disabled?: boolean;
  signOut?: true;
  seed?: true;
}

/** The changes one operation is (an add, a reset; a role, a state, or both). */
function actionsOf(kind: string, body: AccountBody): Action[] {
  // A node's seed of `admin` is no acknowledged change of the workload's.
  if (kind === 'user.put' && body.seed === true) return [];
  if (kind === 'user.put') return [body.signOut === true ? 'password' : 'add'];
  if (kind !== 'user.access') return [];
  return [
    ...(body.role === undefined ? [] : ['role' as const]),
    ...(body.disabled === undefined ? [] : ['disabled' as const]),
  ];
}

/**
 * The documented rules (docs/architecture.md, "Accounts and trust"): three last-writer-wins
 * registers by HLC. The password: every `user.put`, but a node's first-start seed of `admin`
 * (`seed`) only while no other put set it, and then the earliest seed. The role: a creation
 * (`user.put` without `signOut` or `seed`) or a `user.access` naming one; a seed's role is
 * held only while none was ever set. Disabled: a `user.access` naming it; false before.
 */
export function expectedAccounts(
  ops: readonly OpRow[],
): Map<string, { hash: string; role: string; disabled: boolean }> {
  const state = new Map<
    string,
    {
      hash: string;
      hashAt: string;
      seeded: boolean;
      role: string;
      roleAt: string;
      disabled: boolean;
      offAt: string;
    }
  >();
  for (const op of ops) {
    const body = JSON.parse(op.body) as AccountBody;
    const s = state.get(body.username) ?? {
      hash: '',
      hashAt: '',
      seeded: false,
      role: '',
      roleAt: '',
      disabled: false,
      offAt: '',
    };
    state.set(body.username, s);
    if (op.kind === 'user.put' && body.seed === true) {
      if (s.hashAt === '' || (s.seeded && op.hlc < s.hashAt)) {
        [s.hash, s.hashAt, s.seeded] = [body.passwordHash ?? '', op.hlc, true];
      }
      if (s.role === '') s.role = body.role ?? '';
    } else if (op.kind === 'user.put') {
      if (s.seeded || op.hlc > s.hashAt) {
        [s.hash, s.hashAt, s.seeded] = [body.passwordHash ?? '', op.hlc, false];
      }
      if (body.signOut !== true && op.hlc > s.roleAt)
        [s.role, s.roleAt] = [body.role ?? '', op.hlc];
    } else if (op.kind === 'user.access') {
      if (body.role !== undefined && op.hlc > s.roleAt) [s.role, s.roleAt] = [body.role, op.hlc];
      if (body.disabled !== undefined && op.hlc > s.offAt) {
        [s.disabled, s.offAt] = [body.disabled, op.hlc];
      }
    }
  }
  return new Map(
    [...state].map(([name, s]) => [name, { hash: s.hash, role: s.role, disabled: s.disabled }]),
  );
}

async function usersOf(node: FaultNode): Promise<UserRow[]> {
  const rows = await readRows<UserRow>(
    node,
    'SELECT username, password_hash, role, disabled FROM users',
  );
  // Sorted here: SQLite and PostgreSQL collate text differently.
  return rows
    .map((r) => ({ ...r, disabled: Number(r.disabled) }))
    .sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
}

async function attempt(request: () => Promise<number>): Promise<number | 'error'> {
  try {
    return await request();
  } catch {
    return 'error'; // the node was killed or cut: not acknowledged
  }
}
