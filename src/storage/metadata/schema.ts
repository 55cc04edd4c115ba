import type { ColumnType, Generated } from 'kysely';

/**
 * The metadata store's tables as Kysely sees them, on SQLite and on PostgreSQL alike (see
 * src/db/migrations.ts and ./postgres-migrations.ts). Integers come back as `number` on both:
 * PostgreSQL's int8 and numeric are parsed in ./postgres.ts. Flags (`alive`, `need`...) stay
 * 0/1 integers so that both dialects read them the same way. Dialect-only objects are left
 * out: SQLite's `pictures_fts` and PostgreSQL's `pictures.search` are reached through
 * `MetadataDialect.pictureMatch`.
 */
export interface Schema {
  meta: MetaTable;
  ops: OpsTable;
  pictures: PicturesTable;
  users: UsersTable;
  user_access_early: UserAccessEarlyTable;
  tokens: TokensTable;
  sessions: SessionsTable;
  origins: OriginsTable;
  peers: PeersTable;
  folder_files: FolderFilesTable;
  folder_trash: FolderTrashTable;
  events: EventsTable;
  event_photos: EventPhotosTable;
  event_participants: EventParticipantsTable;
  event_votes: EventVotesTable;
  event_tx: EventTxTable;
  event_outbox: EventOutboxTable;
  devices: DevicesTable;
  op_clock: OpClockTable;
  lease: LeaseTable;
  device_owners: DeviceOwnersTable;
  token_revocations: TokenRevocationsTable;
  device_removals: DeviceRemovalsTable;
  event_removals: EventRemovalsTable;
  folder_siblings: FolderSiblingsTable;
  folder_applying: FolderApplyingTable;
  picture_facts: PictureFactsTable;
  albums: AlbumsTable;
  album_pictures: AlbumPicturesTable;
  shares: SharesTable;
  share_revocations: ShareRevocationsTable;
  picture_purges: PicturePurgesTable;
}

export interface MetaTable {
  key: string;
  value: string;
}

export interface OpsTable {
  rowid: Generated<number>;
  origin: string;
  seq: number;
  hlc: string;
  kind: string;
  body: string;
}

export interface PicturesTable {
  rowid: Generated<number>;
  id: string;
  content_type: string | null;
  size: number | null;
  width: number | null;
  height: number | null;
  owner: string | null;
  origin_name: string | null;
  created_at: number | null;
  info_hlc: string | null;
  title: string | null;
  title_hlc: string | null;
  category: string | null;
  category_hlc: string | null;
  descr: string | null;
  desc_hlc: string | null;
  live_hlc: string | null;
  deleted_hlc: string | null;
  updated_at: number | null;
  alive: Generated<number>;
  has_blob: Generated<number>;
  /** The date taken, copied from picture_facts (node-local, set by its repository). */
  taken_key: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface UsersTable {
  username: string;
  password_hash: string;
  role: 'admin' | 'user';
  /** The password's register (and the creation's). */
  hlc: string;
  /** The role's register (src/accounts/core/access.ts); '' = never set. */
  role_hlc: ColumnType<string, string | undefined, string>;
  disabled: ColumnType<number, number | undefined, number>;
  disabled_hlc: ColumnType<string, string | undefined, string>;
  /** 1: the password is a node's first-start seed (src/accounts/core/password-claim.ts). */
  seeded: ColumnType<number, number | undefined, number>;
}

/** A `user.access` that arrived before its account (folded in when the account arrives). */
export interface UserAccessEarlyTable {
  username: string;
  role: 'admin' | 'user' | null;
  role_hlc: string;
  disabled: number;
  disabled_hlc: string;
}

export interface TokensTable {
  token_id: string;
  username: string;
  name: string;
  token_hash: string;
  created_at: number;
  hlc: string;
  expires_at: number | null;
  last_used: number | null;
}

export interface SessionsTable {
  id_hash: string;
  username: string;
  created_at: number;
  expires_at: number;
}

export interface OriginsTable {
  origin: string;
  contiguous: number;
}

export interface PeersTable {
  node_id: string;
  name: string;
  url: string;
  source: 'static' | 'discovered' | 'inbound';
  acked_seq: Generated<number>;
  last_seen: number | null;
}

export interface FolderFilesTable {
  folder: string;
  path: string;
  kind: 'file' | 'dir';
  deleted: Generated<number>;
  hash: string | null;
  size: Generated<number>;
  mtime_ms: Generated<number>;
  block_size: Generated<number>;
  blocks: Buffer | null;
  vv: Generated<string>;
  hlc: string | null;
  origin: string | null;
  origin_name: string | null;
  need: Generated<number>;
  local_size: number | null;
  local_mtime_ms: number | null;
  local_inode: number | null;
  local_hash: string | null;
  local_vv: string | null;
}

export interface FolderTrashTable {
  folder: string;
  hash: string;
  file: string;
  trashed_at: number;
}

export interface EventsTable {
  id: string;
  record: string;
  phase: 'creating' | 'collecting' | 'voting' | 'published' | 'aborted';
  round: number;
  version: number;
  deadline: number | null;
  /** 1: no vote is taken here in the current round (event-phase.ts, closeVoting). */
  voting_closed: Generated<number>;
  published_at: number | null;
  created_at: number;
  deleted_at: number | null;
}

export interface EventPhotosTable {
  event_id: string;
  position: number;
  tx_id: string;
  body: string;
}

export interface EventParticipantsTable {
  event_id: string;
  id: string;
  name: string;
  site_id: string;
  site_name: string;
  username: string | null;
  joined_at: number;
  recovery_hash: string | null;
}

export interface EventVotesTable {
  event_id: string;
  round: number;
  participant_id: string;
  version: number;
  decision: 'accept' | 'reject';
  cast_at: number;
}

export interface EventTxTable {
  id: string;
  role: 'coordinator' | 'participant';
  event_id: string;
  kind: 'create' | 'photo' | 'outcome' | 'remove' | 'delete' | 'invite';
  coordinator: string;
  body: string;
  state: string;
  updated_at: number;
}

export interface EventOutboxTable {
  id: Generated<number>;
  site: string;
  path: string;
  body: string;
  attempts: Generated<number>;
  next_at: number;
}

export interface DevicesTable {
  device_id: string;
  username: string;
  folder: string;
  name: string;
  created_at: number;
  last_seen: number;
}

/** The last sequence number and HLC issued for an origin (./op-clock.repository.ts). */
export interface OpClockTable {
  origin: string;
  last_seq: number;
  last_hlc: string | null;
}

/** A once-per-site lease (./lease.repository.ts); expires_at is ms on the database clock. */
export interface LeaseTable {
  name: string;
  holder: string;
  token: number;
  expires_at: number;
}

/** Which account and folder a device id belongs to (src/devices/device.repository.ts). */
export interface DeviceOwnersTable {
  device_id: string;
  username: string;
  folder: string;
  name: string;
  hlc: string;
}

/** Revoked API tokens, kept forever (a revocation may arrive before its token). */
export interface TokenRevocationsTable {
  token_id: string;
  hlc: string;
}

/** Devices removed from their folder (src/devices/device.repository.ts). */
export interface DeviceRemovalsTable {
  device_id: string;
  hlc: string;
}

/** Participants the organiser removed; their photos leave montages from `version` on. */
export interface EventRemovalsTable {
  event_id: string;
  participant_id: string;
  version: number;
  removed_at: number;
}

/** A path's maximal versions while they conflict (JSON FileVersion[]; folders/core/siblings.ts). */
export interface FolderSiblingsTable {
  folder: string;
  path: string;
  versions: string;
}

/** Versions a pull is writing and has not recorded yet (recognised by the scan after a crash). */
export interface FolderApplyingTable {
  folder: string;
  path: string;
  hash: string;
  mtime_ms: number;
  vv: string;
}

/** Photo facts derived from a picture's bytes at each node (pictures/picture-facts.repository.ts). */
export interface PictureFactsTable {
  id: string;
  taken_key: number | null;
  /** JSON PhotoFacts (pictures/core/photo-facts.ts). */
  facts: string;
  reader: number;
}

/** The merged state of each album (src/albums/core/album-state.ts). */
export interface AlbumsTable {
  id: string;
  owner: string | null;
  created_at: number | null;
  info_hlc: string | null;
  name: string | null;
  name_hlc: string | null;
  descr: string | null;
  desc_hlc: string | null;
  cover: string | null;
  cover_hlc: string | null;
  live_hlc: string | null;
  deleted_hlc: string | null;
  alive: Generated<number>;
}

/** Whether a picture is in an album (1/0), decided by the add or remove with the highest HLC. */
export interface AlbumPicturesTable {
  album_id: string;
  picture_id: string;
  present: number;
  hlc: string;
}

/** Share links (src/shares/); the id is the secret. */
export interface SharesTable {
  id: string;
  target: 'picture' | 'album';
  target_id: string;
  owner: string;
  created_at: number;
  expires_at: number | null;
  password_hash: string | null;
  hlc: string;
}

/** Revoked share links, kept forever (a revocation may arrive before its link). */
export interface ShareRevocationsTable {
  id: string;
  hlc: string;
}

/** The newest picture.purge of each picture (src/pictures/trash.repository.ts). */
export interface PicturePurgesTable {
  id: string;
  hlc: string;
}
