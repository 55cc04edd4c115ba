import { MIGRATIONS_1_TO_5 } from './migrations/0001-0005.js';
import { MIGRATIONS_6_TO_11 } from './migrations/0006-0011.js';

/**
 * Versioned schema migrations. Each entry moves the schema from version `i` to `i + 1`; the
 * current version is SQLite's `user_version` (applied by `migrate` in `database.ts`). Never edit
 * a migration that has shipped: add one at the end of this list. Older closed ranges live in
 * `migrations/`, one file per range, spread here in order.
 */
export const MIGRATIONS: readonly string[] = [
  ...MIGRATIONS_1_TO_5,
  ...MIGRATIONS_6_TO_11,
  /* 12: photo facts (issue 15) — src/pictures/picture-facts.repository.ts */ `
  -- What a picture's bytes say about it (EXIF/XMP), derived by each node from the bytes it
  -- stores, never replicated. taken_key: the local time it was taken, read as UTC, in ms
  -- (null: unknown; the timeline sorts by COALESCE(taken_key, pictures.created_at)).
  -- facts: JSON PhotoFacts. reader: the version of the reader that derived them (a newer
  -- reader re-derives older rows).
  CREATE TABLE picture_facts (
    id        TEXT PRIMARY KEY,
    taken_key INTEGER,
    facts     TEXT NOT NULL,
    reader    INTEGER NOT NULL
  ) STRICT;
  `,
  /* 13: albums, share links, trash purges (issue 15) — src/albums/, src/shares/ */ `
  -- The merged state of each album (src/albums/core/album-state.ts).
  CREATE TABLE albums (
    id          TEXT PRIMARY KEY,
    owner       TEXT,
    created_at  INTEGER,
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
  ) STRICT;
  -- Whether a picture is in an album: the add or remove with the highest HLC decides.
  CREATE TABLE album_pictures (
    album_id   TEXT NOT NULL,
    picture_id TEXT NOT NULL,
    present    INTEGER NOT NULL,
    hlc        TEXT NOT NULL,
    PRIMARY KEY (album_id, picture_id)
  ) STRICT;
  CREATE INDEX album_pictures_by_picture ON album_pictures (picture_id);
  -- Share links; the id is the secret. Revocations are kept forever (one may come first).
  CREATE TABLE shares (
    id            TEXT PRIMARY KEY,
    target        TEXT NOT NULL CHECK (target IN ('picture', 'album')),
    target_id     TEXT NOT NULL,
    owner         TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    password_hash TEXT,
    hlc           TEXT NOT NULL
  ) STRICT;
  CREATE TABLE share_revocations (
    id  TEXT PRIMARY KEY,
    hlc TEXT NOT NULL
  ) STRICT;
  -- The newest picture.purge of each picture: it empties the deletes ordered before it.
  CREATE TABLE picture_purges (
    id  TEXT PRIMARY KEY,
    hlc TEXT NOT NULL
  ) STRICT;
  `,
  /* 14: the timeline on an index — src/pictures/picture-facts.repository.ts */ `
  -- The date taken, copied beside the row (node-local like has_blob, never replicated; the
  -- source stays picture_facts): the timeline's order COALESCE(taken_key, created_at) can then
  -- be an index, and a page or a month count stops reading every picture.
  ALTER TABLE pictures ADD COLUMN taken_key INTEGER;
  UPDATE pictures SET taken_key = (SELECT f.taken_key FROM picture_facts f WHERE f.id = pictures.id);
  CREATE INDEX pictures_by_taken ON pictures (COALESCE(taken_key, created_at) DESC, id DESC)
    WHERE alive = 1 AND has_blob = 1;
  CREATE INDEX pictures_by_category_taken
    ON pictures (category, COALESCE(taken_key, created_at) DESC, id DESC)
    WHERE alive = 1 AND has_blob = 1;
  `,
  /* 15: a gallery page's JSON on PostgreSQL — src/pictures/gallery-json.repository.ts */ `
  -- Nothing on SQLite: PostgreSQL keeps each picture's view as JSON text in a generated
  -- column (pictures.view_json) that its gallery page joins; SQLite builds pages as objects.
  SELECT 1;
  `,
  /* 16: devices removed from their folder — src/devices/device.repository.ts */ `
  -- A device its owner or an admin removed (device.remove): refused at every node from then
  -- on. Kept forever, the earliest removal's HLC; a removal may arrive before the device.put.
  CREATE TABLE device_removals (
    device_id TEXT PRIMARY KEY,
    hlc       TEXT NOT NULL
  ) STRICT;
  `,
  /* 17: a round's voting closed at a site — src/events/core/event-phase.ts (closeVoting) */ `
  -- 1 once this site answered the master's vote collection for the current round (or, at the
  -- master, once the round is decided without a missing vote): no process of the site takes a
  -- vote in that round from then on, whatever its clock says. 0 again in every later state.
  ALTER TABLE events ADD COLUMN voting_closed INTEGER NOT NULL DEFAULT 0;
  `,
  /* 18: the trash on an index — src/pictures/trash.repository.ts */ `
  -- The deleted pictures alone, in the trash's order: a page and its two counts read the
  -- trash's rows, not every picture (a full scan of 100 000 pictures each before).
  CREATE INDEX pictures_in_trash ON pictures (deleted_hlc DESC, id DESC)
    WHERE alive = 0 AND deleted_hlc IS NOT NULL;
  `,
  /* 19: an account's role and whether it is disabled, registers of their own — src/accounts/core/access.ts */ `
  -- The role is now a register apart from the password (role_hlc; a password change no longer
  -- carries it), and an admin may disable an account (disabled, disabled_hlc; '' = never set).
  ALTER TABLE users ADD COLUMN role_hlc TEXT NOT NULL DEFAULT '';
  UPDATE users SET role_hlc = hlc;
  ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE users ADD COLUMN disabled_hlc TEXT NOT NULL DEFAULT '';
  -- A user.access that arrived before its account's user.put, folded in when the put arrives.
  CREATE TABLE user_access_early (
    username     TEXT PRIMARY KEY,
    role         TEXT CHECK (role IN ('admin', 'user')),
    role_hlc     TEXT NOT NULL,
    disabled     INTEGER NOT NULL,
    disabled_hlc TEXT NOT NULL
  ) STRICT;
  `,
  /* 20: a node's own first admin account, the weakest claim — src/accounts/core/password-claim.ts */ `
  -- 1 while the password is the one a node set when it created its own "admin" at its first
  -- start (a seed): any created or changed password takes over from it, and among seeds the
  -- earliest holds. Rows from before: 0 (held as the claims they were).
  ALTER TABLE users ADD COLUMN seeded INTEGER NOT NULL DEFAULT 0;
  `,
  /* 21: an event's invite link replaced, by 2PC — src/events/core/invite.ts */ `
  -- The 2PC log gains the kind 'invite' (SQLite cannot alter a CHECK: rebuild). The invite
  -- itself and its generation live in events.record (JSON), as the first one always did.
  CREATE TABLE event_tx_new (
    id               TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('coordinator', 'participant')),
    event_id         TEXT NOT NULL,
    kind             TEXT NOT NULL
      CHECK (kind IN ('create', 'photo', 'outcome', 'remove', 'delete', 'invite')),
    coordinator      TEXT NOT NULL,
    body             TEXT NOT NULL,
    state            TEXT NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (id, role)
  ) STRICT;
  INSERT INTO event_tx_new SELECT * FROM event_tx;
  DROP TABLE event_tx;
  ALTER TABLE event_tx_new RENAME TO event_tx;
  CREATE INDEX event_tx_open ON event_tx (event_id, role, state);
  `,
];
