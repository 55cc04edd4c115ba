/**
 * Test fixtures for the folder engine's unit tests (imported by `*.test.ts` only): a ChangeLog
 * over a real SQLite database whose apply targets are the real repositories.
 */
import { SqliteAccountRepository } from '../accounts/account.repository.js';
import { HybridClock } from '../core/hlc.js';
import type { Db } from '../db/database.js';
import { DeviceRepository } from '../devices/device.repository.js';
import { ChangeLog } from '../oplog/change-log.js';
import { OpLogRepository } from '../oplog/oplog.repository.js';
import { SqlitePictureRepository } from '../pictures/picture.repository.js';
import type { FolderIndexRepository } from './folder-index.repository.js';

export function folderChangeLog(
  db: Db,
  selfId: string,
  index: FolderIndexRepository,
  oplog: OpLogRepository = new OpLogRepository(db),
): ChangeLog {
  return new ChangeLog(db, oplog, new HybridClock(selfId), selfId, {
    pictures: new SqlitePictureRepository(db),
    accounts: new SqliteAccountRepository(db),
    hasBlob: () => false,
    devices: new DeviceRepository(db),
    folders: index,
    selfId,
  });
}
