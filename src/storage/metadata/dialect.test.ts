import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import { describe, expect, it } from 'vitest';
import type { MetadataDialect } from './dialect.js';
import { postgresDialect } from './postgres.js';
import type { Schema } from './schema.js';
import { sqliteDialect } from './sqlite.js';

// The SQL each dialect adapter writes, pinned (behaviour on real engines: store.test.ts).
const compilers = {
  sqlite: new Kysely<Schema>({
    dialect: {
      createAdapter: () => new SqliteAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new SqliteIntrospector(db),
      createQueryCompiler: () => new SqliteQueryCompiler(),
    },
  }),
  postgres: new Kysely<Schema>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  }),
};

function searchSql(dialect: MetadataDialect, text: string) {
  const match = dialect.pictureMatch('p', text);
  if (match === null) return null;
  const { sql, parameters } = compilers[dialect.name]
    .selectFrom('pictures as p')
    .select('p.id')
    .where(match)
    .compile();
  return { sql, parameters };
}

describe('dialect adapters', () => {
  it('search pictures with FTS5 on SQLite', () => {
    expect(searchSql(sqliteDialect, 'Café, par')).toEqual({
      sql: 'select "p"."id" from "pictures" as "p" where "p"."rowid" IN (SELECT rowid FROM pictures_fts WHERE pictures_fts MATCH ?)',
      parameters: ['"Café"* "par"*'],
    });
  });

  it('search pictures with a tsvector on PostgreSQL', () => {
    expect(searchSql(postgresDialect, 'Café, par')).toEqual({
      sql: `select "p"."id" from "pictures" as "p" where "p"."search" @@ to_tsquery('mosaic_search', $1)`,
      parameters: ['Café:* & par:*'],
    });
  });

  it('cannot be injected through search words: only letters and digits pass', () => {
    for (const dialect of [sqliteDialect, postgresDialect]) {
      expect(searchSql(dialect, `"' OR 1=1 --)*:&|!`)?.parameters).toEqual(
        dialect.name === 'sqlite' ? ['"OR"* "1"* "1"*'] : ['OR:* & 1:* & 1:*'],
      );
      expect(searchSql(dialect, '*:() &|')).toBeNull();
    }
  });

  it('read JSON numbers with each engine’s function', () => {
    const compile = (dialect: MetadataDialect) =>
      compilers[dialect.name]
        .selectFrom('ops')
        .select(dialect.jsonNumber('body', 'size').as('size'))
        .compile();
    expect(compile(sqliteDialect).sql).toBe('select json_extract("body", ?) as "size" from "ops"');
    expect(compile(postgresDialect).sql).toBe(
      'select ("body"::jsonb ->> $1)::numeric as "size" from "ops"',
    );
  });
});
