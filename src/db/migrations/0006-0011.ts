/**
 * Shipped SQLite migrations 6 to 11: devices, scale-out, device ownership, token expiry, events,
 * folder convergence. Listed in order by `../migrations.ts`; never edit one.
 */
export const MIGRATIONS_6_TO_11: readonly string[] = [
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
];
