import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareUtf8 } from './paths.js';

const anyString = fc.string({ unit: 'binary', maxLength: 8 });

describe('compareUtf8', () => {
  it('orders strings as their UTF-8 bytes do', () => {
    fc.assert(
      fc.property(anyString, anyString, (a, b) => {
        expect(Math.sign(compareUtf8(a, b))).toBe(
          Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('orders paths exactly as SQLite orders TEXT', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (path TEXT PRIMARY KEY) STRICT');
    const insert = db.prepare('INSERT OR IGNORE INTO t (path) VALUES (?)');
    const all = db.prepare('SELECT path FROM t ORDER BY path').pluck();
    const name = fc.oneof(
      fc.constantFrom('a', 'a.txt', 'a-b', 'a b', 'a0', 'é', 'e\u0301', '\uff01', '😀', '\ue000'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }).filter((s) => !s.includes('/')),
    );
    const path = fc.array(name, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/'));
    fc.assert(
      fc.property(fc.array(path, { maxLength: 30 }), (paths) => {
        db.exec('DELETE FROM t');
        for (const p of paths) insert.run(p);
        const fromSqlite = all.all() as string[];
        expect([...fromSqlite].sort(compareUtf8)).toEqual(fromSqlite);
      }),
      { numRuns: 300 },
    );
    db.close();
  });
});
