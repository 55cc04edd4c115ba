import { POSTGRES_MIGRATIONS_1_TO_11 } from './postgres-migrations/0001-0011.js';

/**
 * PostgreSQL's twin of src/db/migrations.ts: entry `i` brings the same tables, columns,
 * constraints and indexes as SQLite's migration `i + 1` (a test compares both schemas). Types:
 * INTEGER holding times, sizes, sequence numbers or row ids becomes BIGINT (parsed back to
 * numbers in ./postgres.ts), flags and small counters stay INTEGER 0/1, BLOB is BYTEA, and
 * `INTEGER PRIMARY KEY` is an identity column. Picture search is a generated tsvector column
 * with a GIN index instead of FTS5, over a text search configuration that, like FTS5's
 * `remove_diacritics`, folds accents (the `unaccent` extension, trusted since PostgreSQL 13).
 * Never edit a migration that has shipped: add one, here and in src/db/migrations.ts. Older
 * closed ranges live in `postgres-migrations/`, spread here in order.
 */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  ...POSTGRES_MIGRATIONS_1_TO_11,
  /* 12: photo facts (issue 15) */ `
  CREATE TABLE picture_facts (
    id        TEXT PRIMARY KEY,
    taken_key BIGINT,
    facts     TEXT NOT NULL,
    reader    INTEGER NOT NULL
  );
  `,
  /* 13: albums, share links, trash purges (issue 15) */ `
  CREATE TABLE albums (
    id          TEXT PRIMARY KEY,
    owner       TEXT,
    created_at  BIGINT,
    info_hlc    TEXT,
    name        TEXT,
    name_hlc    TEXT,
    descr       TEXT,
    desc_hlc    TEXT,
    cover       TEXT,
    cover_hlc   TEXT,
    live_hlc    TEXT,
    deleted_hlc TEXT,
    alive       INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE album_pictures (
    album_id   TEXT NOT NULL,
    picture_id TEXT NOT NULL,
    present    INTEGER NOT NULL,
    hlc        TEXT NOT NULL,
    PRIMARY KEY (album_id, picture_id)
  );
  CREATE INDEX album_pictures_by_picture ON album_pictures (picture_id);
  CREATE TABLE shares (
    id            TEXT PRIMARY KEY,
    target        TEXT NOT NULL CHECK (target IN ('picture', 'album')),
    target_id     TEXT NOT NULL,
    owner         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT,
    password_hash TEXT,
    hlc           TEXT NOT NULL
  );
  CREATE TABLE share_revocations (
    id  TEXT PRIMARY KEY,
    hlc TEXT NOT NULL
  );
  CREATE TABLE picture_purges (
    id  TEXT PRIMARY KEY,
    hlc TEXT NOT NULL
  );
  `,
  /* 14: the timeline on an index (see the SQLite migration) */ `
  ALTER TABLE pictures ADD COLUMN taken_key BIGINT;
  UPDATE pictures SET taken_key = f.taken_key FROM picture_facts f WHERE f.id = pictures.id;
  CREATE INDEX pictures_by_taken ON pictures ((COALESCE(taken_key, created_at)) DESC, id DESC)
    WHERE alive = 1 AND has_blob = 1;
  CREATE INDEX pictures_by_category_taken
    ON pictures (category, (COALESCE(taken_key, created_at)) DESC, id DESC)
    WHERE alive = 1 AND has_blob = 1;
  `,
  /* 15: a gallery page's JSON (src/pictures/gallery-json.repository.ts) */ `
  -- Each picture's API view as JSON text without its closing brace (the facts follow), kept
  -- by PostgreSQL at every write: a page joins 51 of them instead of building them (0.23 ->
  -- 0.12 ms of CPU a page). Keys in the order of zod's Picture schema; strings by to_json,
  -- which escapes as JSON.stringify; times as toISOString writes them (in 1970..2223, checked
  -- by the page). Declared IMMUTABLE for the generated column: to_json of text and to_char
  -- with this format (no locale-dependent field) depend on their arguments only. In PL/pgSQL,
  -- whose expressions are planned once per connection: a SQL function (not inlined, its body
  -- being stable) was planned again at every write, 93 -> 220 µs of CPU an UPDATE.
  CREATE FUNCTION mosaic_picture_view(text, text, text, text, text, bigint, integer, integer, text, text, bigint, bigint)
  RETURNS text IMMUTABLE PARALLEL SAFE LANGUAGE plpgsql AS $$
  BEGIN
    RETURN '{"id":' || to_json($1)::text
      || ',"title":' || to_json(coalesce($2, ''))::text
      || ',"category":' || to_json(coalesce($3, ''))::text
      || ',"desc":' || to_json(coalesce($4, ''))::text
      || ',"contentType":' || to_json(coalesce($5, 'application/octet-stream'))::text
      || ',"size":' || coalesce($6, 0)
      || ',"width":' || coalesce($7, 0)
      || ',"height":' || coalesce($8, 0)
      || ',"owner":' || to_json(coalesce($9, ''))::text
      || ',"origin":' || to_json(coalesce($10, ''))::text
      || ',"createdAt":"' || to_char(timestamp 'epoch' + $11 * interval '1 millisecond', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
      || '","updatedAt":"' || to_char(timestamp 'epoch' + $12 * interval '1 millisecond', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"';
  END
  $$;
  ALTER TABLE pictures ADD COLUMN view_json TEXT GENERATED ALWAYS AS (
    mosaic_picture_view(id, title, category, descr, content_type, size, width, height, owner, origin_name, created_at, updated_at)
  ) STORED;
  `,
  /* 16: devices removed from their folder (see the SQLite migration) */ `
  CREATE TABLE device_removals (
    device_id TEXT PRIMARY KEY,
    hlc       TEXT NOT NULL
  );
  `,
  /* 17: a round's voting closed at a site (see the SQLite migration) */ `
  ALTER TABLE events ADD COLUMN voting_closed INTEGER NOT NULL DEFAULT 0;
  `,
  /* 18: the trash on an index (see the SQLite migration) */ `
  CREATE INDEX pictures_in_trash ON pictures (deleted_hlc DESC, id DESC)
    WHERE alive = 0 AND deleted_hlc IS NOT NULL;
  `,
  /* 19: an account's role and whether it is disabled (see the SQLite migration) */ `
  ALTER TABLE users ADD COLUMN role_hlc TEXT NOT NULL DEFAULT '';
  UPDATE users SET role_hlc = hlc;
  ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE users ADD COLUMN disabled_hlc TEXT NOT NULL DEFAULT '';
  CREATE TABLE user_access_early (
    username     TEXT PRIMARY KEY,
    role         TEXT CHECK (role IN ('admin', 'user')),
    role_hlc     TEXT NOT NULL,
    disabled     INTEGER NOT NULL,
    disabled_hlc TEXT NOT NULL
  );
  `,
  /* 20: a node's own first admin account, the weakest claim (see the SQLite migration) */ `
  ALTER TABLE users ADD COLUMN seeded INTEGER NOT NULL DEFAULT 0;
  `,
  /* 21: an event's invite link replaced, by 2PC (see the SQLite migration) */ `
  ALTER TABLE event_tx DROP CONSTRAINT event_tx_kind_check;
  ALTER TABLE event_tx ADD CONSTRAINT event_tx_kind_check
    CHECK (kind IN ('create', 'photo', 'outcome', 'remove', 'delete', 'invite'));
  `,
];
