/**
 * The op log and the state it materializes, on one metadata store: what a node, `mosaic user
 * add` and a device replica (`mosaic sync`) all open the same way. `ChangeLog` is the one door
 * for changes; the repositories are read directly.
 */
import { SqlAccountRepository } from '../accounts/account.repository.js';
import { SqlCredentialRepository } from '../accounts/credential.repository.js';
import { DeviceRepository } from '../devices/device.repository.js';
import { FolderIndexRepository } from '../folders/folder-index.repository.js';
import { SqlPictureRepository } from '../pictures/picture.repository.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { OpClockRepository } from '../storage/metadata/op-clock.repository.js';
import { ChangeLog } from './change-log.js';
import { OpLogRepository } from './oplog.repository.js';
import { AlbumRepository } from '../albums/album.repository.js';
import { ShareRepository } from '../shares/share.repository.js';
import { TrashRepository } from '../pictures/trash.repository.js';

export interface ReplicaState {
  readonly changes: ChangeLog;
  readonly oplog: OpLogRepository;
  readonly pictures: SqlPictureRepository;
  readonly accounts: SqlAccountRepository;
  readonly credentials: SqlCredentialRepository;
  readonly devices: DeviceRepository;
  readonly albums: AlbumRepository;
  readonly shares: ShareRepository;
  readonly trash: TrashRepository;
  /** Null on PostgreSQL: synced folders stay on one machine (SQLite). */
  readonly folders: FolderIndexRepository | null;
}

export interface ReplicaStateOptions {
  /** Whether a picture's bytes are in the blob store (what apply marks; default: never). */
  readonly hasBlob?: (id: string) => boolean;
  readonly now?: () => number;
}

/** The albums, share links and trash purges apply writes (what tests building targets add). */
export function libraryRepositories(store: MetadataStore): {
  albums: AlbumRepository;
  shares: ShareRepository;
  trash: TrashRepository;
} {
  return {
    albums: new AlbumRepository(store.db, store.dialect),
    shares: new ShareRepository(store.db),
    trash: new TrashRepository(store.db),
  };
}

export function openReplicaState(
  store: MetadataStore,
  selfId: string,
  options: ReplicaStateOptions = {},
): ReplicaState {
  const now = options.now ?? Date.now;
  const oplog = new OpLogRepository(store);
  const pictures = new SqlPictureRepository(store);
  const accounts = new SqlAccountRepository(store);
  const credentials = new SqlCredentialRepository(store);
  const devices = new DeviceRepository(store);
  const { albums, shares, trash } = libraryRepositories(store);
  const folders = store.local === null ? null : new FolderIndexRepository(store.local);
  const changes = new ChangeLog(
    store,
    oplog,
    new OpClockRepository(store.dialect, now),
    selfId,
    {
      pictures,
      accounts,
      credentials,
      hasBlob: options.hasBlob ?? (() => false),
      folders,
      devices,
      albums,
      shares,
      trash,
      selfId,
    },
    now,
  );
  return {
    changes,
    oplog,
    pictures,
    accounts,
    credentials,
    devices,
    folders,
    albums,
    shares,
    trash,
  };
}
