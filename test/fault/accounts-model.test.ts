/**
 * The fault tier's checker restates the account rules on its own (accounts-workload.ts,
 * expectedAccounts). Held here against the repository itself, on a real SQLite store, for any
 * operations applied in any order (an access change before its account's creation included),
 * so a checker that passes is the documented rules, not a copy of a bug.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SqlAccountRepository } from '../../src/accounts/account.repository.js';
import { encodeHlc } from '../../src/core/hlc.js';
import { openDatabase } from '../../src/db/database.js';
import type { UserAccess, UserPut } from '../../src/oplog/op.js';
import { sqliteStoreOver } from '../../src/storage/metadata/sqlite.js';
import { expectedAccounts } from './accounts-workload.js';

type Body = UserPut | UserAccess;
const role = fc.constantFrom<'admin' | 'user'>('admin', 'user');

const body: fc.Arbitrary<Body> = fc.oneof(
  // A node's first-start seed (always of role admin, as nodes make it).
  fc.constantFrom('h4', 'h5').map((hash): Body => ({
    kind: 'user.put',
    username: 'ann',
    passwordHash: hash,
    role: 'admin',
    seed: true,
  })),
  fc
    .record({ hash: fc.constantFrom('h1', 'h2', 'h3'), role, signOut: fc.boolean() })
    .map(({ hash, role, signOut }): Body => ({
      kind: 'user.put',
      username: 'ann',
      passwordHash: hash,
      role,
      ...(signOut ? { signOut: true as const } : {}),
    })),
  fc
    .record({ role, disabled: fc.boolean() }, { requiredKeys: [] })
    .map((change): Body => ({ kind: 'user.access', username: 'ann', ...change })),
);

const ops = fc.uniqueArray(
  fc.record({
    body,
    wall: fc.integer({ min: 1, max: 50 }),
    node: fc.constantFrom('n1', 'n2', 'n3'),
  }),
  { minLength: 1, maxLength: 10, selector: (o) => `${o.wall}-${o.node}` },
);

describe('the fault checker account model', () => {
  it('gives what the repository holds, for any operations in any order', async () => {
    await fc.assert(
      fc.asyncProperty(ops, async (list) => {
        const rows = list.map((o, seq) => ({
          origin: o.node,
          seq,
          hlc: encodeHlc({ wall: o.wall, counter: 0, node: o.node }),
          kind: o.body.kind,
          body: JSON.stringify(o.body),
        }));
        const store = sqliteStoreOver(openDatabase(':memory:'));
        try {
          const accounts = new SqlAccountRepository(store);
          for (const [i, o] of list.entries()) {
            const hlc = rows[i]?.hlc ?? '';
            if (o.body.kind === 'user.put') {
              const claim = o.body.seed ? 'seed' : o.body.signOut ? 'change' : 'create';
              await accounts.putUser(store.db, o.body, hlc, claim);
            } else {
              await accounts.setAccess(store.db, 'ann', o.body, hlc);
            }
          }
          const held = await accounts.getUser('ann');
          // An account exists once any put arrived (a change or reset before its creation
          // makes it too); access changes alone wait.
          const puts = list.filter((o) => o.body.kind === 'user.put');
          if (puts.length === 0) return held === null;
          // The role of an account whose creation never arrived is a copy: only compare when
          // the log holds a creation, as every converged log does.
          const creation = puts.some(
            (o) => o.body.kind === 'user.put' && !o.body.signOut && !o.body.seed,
          );
          const expected = expectedAccounts(rows).get('ann');
          expect(held?.passwordHash).toBe(expected?.hash);
          expect(held?.disabled).toBe(expected?.disabled);
          if (creation) expect(held?.role).toBe(expected?.role);
          return true;
        } finally {
          await store.close();
        }
      }),
      { numRuns: 300 },
    );
  });
});
