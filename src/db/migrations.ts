/**
 * Versioned schema migrations. Each entry moves the schema from version `i` to `i + 1`; the
 * current version is SQLite's `user_version`. Never edit a migration that has shipped: add one.
 */
export const MIGRATIONS: readonly string[] = [
  /* 1: node identity, op log, pictures with full-text search, accounts */ `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;

  -- Every change, local or replicated. rowid is the local arrival order.
  CREATE TABLE ops (
    rowid  INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    hlc    TEXT NOT NULL,
    kind   TEXT NOT NULL,
    body   TEXT NOT NULL,
    UNIQUE (origin, seq)
  ) STRICT;

  -- The merged state of each picture (see src/pictures/picture.state.ts).
  CREATE TABLE pictures (
    rowid        INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    content_type TEXT,
    size         INTEGER,
    width        INTEGER,
    height       INTEGER,
    owner        TEXT,
    origin_name  TEXT,
    created_at   INTEGER,
    info_hlc     TEXT,
    title        TEXT,
    title_hlc    TEXT,
    category     TEXT,
    category_hlc TEXT,
    descr        TEXT,
    desc_hlc     TEXT,
    live_hlc     TEXT,
    deleted_hlc  TEXT,
    updated_at   INTEGER,
    alive        INTEGER NOT NULL DEFAULT 0,
    has_blob     INTEGER NOT NULL DEFAULT 0
  ) STRICT;
  CREATE INDEX pictures_by_time ON pictures (created_at DESC, id DESC)
    WHERE alive = 1 AND has_blob = 1;
  CREATE INDEX pictures_by_category ON pictures (category, created_at DESC, id DESC)
    WHERE alive = 1 AND has_blob = 1;

  CREATE VIRTUAL TABLE pictures_fts USING fts5(
    title, descr, content = 'pictures', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
  );
  CREATE TRIGGER pictures_fts_insert AFTER INSERT ON pictures BEGIN
    INSERT INTO pictures_fts (rowid, title, descr) VALUES (new.rowid, new.title, new.descr);
  END;
  CREATE TRIGGER pictures_fts_delete AFTER DELETE ON pictures BEGIN
    INSERT INTO pictures_fts (pictures_fts, rowid, title, descr)
      VALUES ('delete', old.rowid, old.title, old.descr);
  END;
  CREATE TRIGGER pictures_fts_update AFTER UPDATE OF title, descr ON pictures BEGIN
    INSERT INTO pictures_fts (pictures_fts, rowid, title, descr)
      VALUES ('delete', old.rowid, old.title, old.descr);
    INSERT INTO pictures_fts (rowid, title, descr) VALUES (new.rowid, new.title, new.descr);
  END;

  CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    hlc           TEXT NOT NULL
  ) STRICT;

  CREATE TABLE tokens (
    token_id   TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    hlc        TEXT NOT NULL
  ) STRICT;

  -- Sessions are local to a node: a person signs in at each node they use.
  CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT;
  `,
  /* 2: replication — per-origin contiguous sequence (version vector), known peers */ `
  -- contiguous: the highest n such that this node holds every op 1..n of that origin.
  CREATE TABLE origins (
    origin     TEXT PRIMARY KEY,
    contiguous INTEGER NOT NULL
  ) STRICT;
  INSERT INTO origins (origin, contiguous) SELECT origin, MAX(seq) FROM ops GROUP BY origin;

  -- Peers this node has talked to, by node id. acked_seq: how many of this node's own ops
  -- the peer has acknowledged (the push cursor; the op log itself is the durable outbox).
  CREATE TABLE peers (
    node_id   TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    url       TEXT NOT NULL,
    source    TEXT NOT NULL CHECK (source IN ('static', 'discovered', 'inbound')),
    acked_seq INTEGER NOT NULL DEFAULT 0,
    last_seen INTEGER
  ) STRICT;
  `,
  /* 3: folder sync — the index of each synced folder (src/folders/folder-index.repository.ts) */ `
  -- One row per (folder, path): the version of that path this node knows (hash, blocks, vv,
  -- hlc, origin), whether that version still has to be fetched (need), and what was on disk
  -- when the path was last indexed or written (local_*; NULL when nothing is). A deletion keeps
  -- its row (deleted = 1, hash NULL) so that it replicates and is not mistaken for a new file.
  CREATE TABLE folder_files (
    folder         TEXT NOT NULL,
    path           TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('file', 'dir')),
    deleted        INTEGER NOT NULL DEFAULT 0,
    hash           TEXT,
    size           INTEGER NOT NULL DEFAULT 0,
    mtime_ms       INTEGER NOT NULL DEFAULT 0,
    block_size     INTEGER NOT NULL DEFAULT 0,
    blocks         BLOB,
    vv             TEXT NOT NULL DEFAULT '{}',
    hlc            TEXT,
    origin         TEXT,
    origin_name    TEXT,
    need           INTEGER NOT NULL DEFAULT 0,
    local_size     INTEGER,
    local_mtime_ms INTEGER,
    local_inode    INTEGER,
    PRIMARY KEY (folder, path)
  ) STRICT;
  -- A local copy of some content (a move or rename is not transferred again).
  CREATE INDEX folder_files_by_hash ON folder_files (folder, hash) WHERE hash IS NOT NULL;
  -- What still has to be fetched, in path order (so a caller can page past files that fail).
  CREATE INDEX folder_files_needed ON folder_files (folder, path) WHERE need = 1;
  `,
  /* 4: folder sync — content on disk (moves without transfer), trash index */ `
  -- local_hash: SHA-256 of what is on disk at this path now (NULL when nothing or a directory).
  ALTER TABLE folder_files ADD COLUMN local_hash TEXT;
  -- local_vv: the version vector of the version on disk, which a local edit is based on.
  ALTER TABLE folder_files ADD COLUMN local_vv TEXT;
  CREATE INDEX folder_files_by_local_hash ON folder_files (folder, local_hash)
    WHERE local_hash IS NOT NULL;

  -- Files moved to <root>/.mosaic/trash/, by content, so a later put can reuse them.
  CREATE TABLE folder_trash (
    folder     TEXT NOT NULL,
    hash       TEXT NOT NULL,
    file       TEXT NOT NULL,
    trashed_at INTEGER NOT NULL,
    PRIMARY KEY (folder, file)
  ) STRICT;
  CREATE INDEX folder_trash_by_hash ON folder_trash (folder, hash);
  `,
  /* 5: group photo events — replicas, photos, participants, votes, the durable 2PC log */ `
  -- One row per event this site holds (a shadow replica, or the master's own).
  CREATE TABLE events (
    id               TEXT PRIMARY KEY,
    record           TEXT NOT NULL, -- JSON EventRecord (title, origin, sites, invite, limits)
    phase            TEXT NOT NULL
      CHECK (phase IN ('creating', 'collecting', 'voting', 'published', 'aborted')),
    round            INTEGER NOT NULL,
    version          INTEGER NOT NULL,
    deadline         INTEGER,
    published_at     INTEGER,
    created_at       INTEGER NOT NULL
  ) STRICT;

  -- Committed photos; position = the montage version they complete.
  CREATE TABLE event_photos (
    event_id         TEXT NOT NULL,
    position         INTEGER NOT NULL,
    tx_id            TEXT NOT NULL UNIQUE,
    body             TEXT NOT NULL, -- JSON PhotoPayload
    PRIMARY KEY (event_id, position)
  ) STRICT;

  CREATE TABLE event_participants (
    event_id         TEXT NOT NULL,
    id               TEXT NOT NULL,
    name             TEXT NOT NULL,
    site_id          TEXT NOT NULL,
    site_name        TEXT NOT NULL,
    username         TEXT,
    joined_at        INTEGER NOT NULL,
    PRIMARY KEY (event_id, id)
  ) STRICT;

  -- Votes cast at this site, and at the master those reported by the other sites too.
  CREATE TABLE event_votes (
    event_id         TEXT NOT NULL,
    round            INTEGER NOT NULL,
    participant_id   TEXT NOT NULL,
    version          INTEGER NOT NULL,
    decision         TEXT NOT NULL CHECK (decision IN ('accept', 'reject')),
    cast_at          INTEGER NOT NULL,
    PRIMARY KEY (event_id, round, participant_id)
  ) STRICT;

  -- The 2PC log. role 'coordinator': state preparing | committed | aborted;
  -- role 'participant': prepared | committed | aborted. Written before acting.
  CREATE TABLE event_tx (
    id               TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('coordinator', 'participant')),
    event_id         TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('create', 'photo', 'outcome')),
    coordinator      TEXT NOT NULL, -- JSON Site
    body             TEXT NOT NULL, -- JSON TxBody
    state            TEXT NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (id, role)
  ) STRICT;
  CREATE INDEX event_tx_open ON event_tx (event_id, role, state);

  -- Messages not yet acknowledged (decisions, voting notices, vote reports, joins); retried
  -- with back-off until the receiver answers 200.
  CREATE TABLE event_outbox (
    id               INTEGER PRIMARY KEY,
    site             TEXT NOT NULL, -- JSON Site
    path             TEXT NOT NULL,
    body             TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_at          INTEGER NOT NULL
  ) STRICT;
  `,
  /* 6: device sync — devices registered at this node (src/devices/device.service.ts) */ `
  -- A device (mosaic sync) of an account, syncing one folder. device_id is the device's own
  -- origin id in the op log: the only origin whose ops it may push here. Local to this node.
  CREATE TABLE devices (
    device_id  TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    folder     TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
  ) STRICT;
  `,
  /* 7: scale-out — seq/HLC allocation and once-per-site leases (src/storage/metadata/) */ `
  -- The last sequence number and HLC issued for an origin (this site's own): allocated by
  -- updating this row inside the committing transaction, so any process may commit.
  CREATE TABLE op_clock (
    origin   TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    last_hlc TEXT
  ) STRICT;

  -- Work that runs once per site runs under a lease: holder, fencing token (grows with every
  -- new holding), expiry in ms on the database clock. Released leases keep their row (token).
  CREATE TABLE lease (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    token      INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT;
  `,
  /* 8: device ownership, replicated (device.put; src/devices/device.repository.ts) */ `
  -- Which account and folder a device id belongs to, the same at every node: the device.put
  -- with the lowest HLC wins. Devices registered before this migration are announced at start.
  CREATE TABLE device_owners (
    device_id  TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    folder     TEXT NOT NULL,
    name       TEXT NOT NULL,
    hlc        TEXT NOT NULL
  ) STRICT;
  `,
  /* 9: API tokens expire and are revoked (token.revoke, replicated; revoked wins) */ `
  ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
  -- When this node last accepted the token (local, at most once a minute; not replicated).
  ALTER TABLE tokens ADD COLUMN last_used INTEGER;
  -- Kept forever (a revocation may arrive before the token it revokes).
  CREATE TABLE token_revocations (
    token_id   TEXT PRIMARY KEY,
    hlc        TEXT NOT NULL
  ) STRICT;
  `,
  /* 10: events — recovery codes, removed participants, deleted events, two more 2PC kinds */ `
  -- A participant recovers their identity with a personal code: its SHA-256 here.
  ALTER TABLE event_participants ADD COLUMN recovery_hash TEXT;
  CREATE INDEX event_participants_by_recovery ON event_participants (event_id, recovery_hash)
    WHERE recovery_hash IS NOT NULL;

  -- Participants the organiser removed; their photos leave montages from that version on.
  CREATE TABLE event_removals (
    event_id       TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    version        INTEGER NOT NULL,
    removed_at     INTEGER NOT NULL,
    PRIMARY KEY (event_id, participant_id)
  ) STRICT;

  -- A deleted event stays as a tombstone (late messages about it are acknowledged and dropped).
  ALTER TABLE events ADD COLUMN deleted_at INTEGER;

  -- The 2PC log gains the kinds 'remove' and 'delete' (SQLite cannot alter a CHECK: rebuild).
  CREATE TABLE event_tx_new (
    id               TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('coordinator', 'participant')),
    event_id         TEXT NOT NULL,
    kind             TEXT NOT NULL
      CHECK (kind IN ('create', 'photo', 'outcome', 'remove', 'delete')),
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
  /* 11: folder convergence (issue 11) — src/folders/folder-versions.repository.ts */ `
  -- The maximal versions of a path when there is more than one (a conflict): the outcome is a
  -- function of this set, not of the order versions arrived in. JSON FileVersion[].
  CREATE TABLE folder_siblings (
    folder   TEXT NOT NULL,
    path     TEXT NOT NULL,
    versions TEXT NOT NULL,
    PRIMARY KEY (folder, path)
  ) STRICT;
  -- Versions a pull is writing and has not recorded yet: after a crash, a file found with one of
  -- these contents and mtimes is that version, not a new local edit.
  CREATE TABLE folder_applying (
    folder   TEXT NOT NULL,
    path     TEXT NOT NULL,
    hash     TEXT NOT NULL,
    mtime_ms INTEGER NOT NULL,
    vv       TEXT NOT NULL,
    PRIMARY KEY (folder, path, hash)
  ) STRICT;
  `,
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
];
