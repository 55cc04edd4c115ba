/**
 * Shipped SQLite migrations 1 to 5: node identity, op log, pictures, accounts, replication,
 * folder sync, group photo events. Listed in order by `../migrations.ts`; never edit one.
 */
export const MIGRATIONS_1_TO_5: readonly string[] = [
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
];
