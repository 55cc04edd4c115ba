/**
 * A node's data directory, before anything is opened in it: made private, checked, and held.
 *
 * - Private: a directory Mosaic creates is 0700, and the SQLite files (password hashes, the
 *   cookie secret) 0600. SQLite gives `-wal` and `-shm` the mode of the database file, so the
 *   file is created 0600 before SQLite opens it; an older install's files that are more open
 *   are tightened (the caller says so in the log).
 * - Checked: a path that is a file, or a directory this user cannot write, is refused with a
 *   sentence that names it, not SQLite's "unable to open database file". So is a directory
 *   whose node would be lost to view: moved out by `mosaic migrate` and started again without
 *   --database, or not moved yet and given to a process on PostgreSQL (`assertMeantFor`).
 * - Held (a node on SQLite; a site on PostgreSQL keeps only scratch space here): one node at a time. `node.lock` is a SQLite file the node keeps under an exclusive
 *   lock (`locking_mode = EXCLUSIVE` after a write) for as long as it runs: a lock the kernel
 *   drops when the process dies, even by SIGKILL, so nothing stale blocks a restart, and one
 *   that holds across containers sharing the volume. `mosaic user` opens mosaic.db, not this
 *   file, so it keeps working beside a running node. `node.pid` names the holder for the message.
 */
import Database from 'better-sqlite3';
import { constants, readFileSync } from 'node:fs';
import { access, chmod, mkdir, open, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const DATABASE_FILES = ['mosaic.db', 'mosaic.db-wal', 'mosaic.db-shm'];
/** What `mosaic migrate` renames mosaic.db to (storage/migrate/migrate.ts `MIGRATED_FILE`). */
export const MIGRATED_DATABASE = 'mosaic.db.migrated';

export interface DataDir {
  /** Files whose mode was tightened to 0600 at this start (an older install's). */
  readonly tightened: readonly string[];
  /** Lets go of the directory (at the node's close). */
  release(): void;
}

export async function openDataDir(dataDir: string, sqlite: boolean): Promise<DataDir> {
  await makeDir(dataDir);
  await assertMeantFor(dataDir, sqlite);
  const tightened: string[] = [];
  if (sqlite) {
    for (const name of DATABASE_FILES) {
      const file = join(dataDir, name);
      const mode = await stat(file).then(
        (s) => s.mode & 0o777,
        () => null,
      );
      if (mode !== null && (mode & 0o077) !== 0) {
        await chmod(file, mode & 0o700);
        tightened.push(file);
      }
    }
    // Created here, empty, so that SQLite (and its -wal and -shm) start from 0600.
    await (await open(join(dataDir, 'mosaic.db'), 'a', 0o600)).close();
  }
  // A site on PostgreSQL keeps only scratch space here, which its processes may share.
  if (!sqlite) return { tightened, release: () => undefined };
  const release = hold(dataDir);
  try {
    await writeFile(join(dataDir, 'node.pid'), `${process.pid}\n`, { mode: 0o600 });
  } catch (error) {
    release();
    throw error;
  }
  return { tightened, release };
}

async function makeDir(dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new Error(`--data ${dataDir} is not a directory.`, { cause: error });
    }
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new Error(`cannot write to ${dataDir}: permission denied`, { cause: error });
    }
    throw error;
  }
  if (!(await stat(dataDir)).isDirectory()) {
    throw new Error(`--data ${dataDir} is not a directory.`);
  }
  try {
    await access(dataDir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new Error(`cannot write to ${dataDir}: permission denied`, { cause: error });
  }
}

/** The size of a file, or null when there is none. */
const sizeOf = (path: string) =>
  stat(path).then(
    (s) => s.size,
    () => null,
  );

/**
 * Refuses a directory whose node lives elsewhere now, or would be left behind: either way a
 * start would make a new, empty site (a new id, a new admin) beside the admin's pictures. A
 * node moved by `mosaic migrate` (mosaic.db renamed) started again without --database, and
 * an unmoved node's directory given to a process on PostgreSQL.
 */
async function assertMeantFor(dataDir: string, sqlite: boolean): Promise<void> {
  const database = (await sizeOf(join(dataDir, 'mosaic.db'))) ?? 0;
  if (sqlite && database === 0 && (await sizeOf(join(dataDir, MIGRATED_DATABASE))) !== null) {
    throw new Error(
      `${dataDir} holds a node that mosaic migrate moved into PostgreSQL and S3 ` +
        `(${MIGRATED_DATABASE}): start the site with --database and --blobs (this directory ` +
        `may be its scratch space), or move ${MIGRATED_DATABASE} away to start a new, empty node here.`,
    );
  }
  if (!sqlite && database > 0) {
    throw new Error(
      `${dataDir} holds a one-process node (mosaic.db), which a process on PostgreSQL ` +
        `(--database) would not use: move it in first (mosaic migrate --from-data ${dataDir} ` +
        `--database … --blobs …), or give this process another --data (scratch space only).`,
    );
  }
}

/** Takes the node's lock on the directory, or says who holds it. */
function hold(dataDir: string): () => void {
  const lock = new Database(join(dataDir, 'node.lock'));
  try {
    lock.pragma('busy_timeout = 0');
    lock.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock, which EXCLUSIVE mode keeps until close.
    lock.exec('CREATE TABLE IF NOT EXISTS held (at INTEGER); DELETE FROM held');
  } catch (error) {
    lock.close();
    if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY') === true) {
      throw new Error(`${dataDir} is in use by another mosaic node (pid ${holder(dataDir)}).`, {
        cause: error,
      });
    }
    throw error;
  }
  return () => {
    lock.close();
  };
}

/** The pid the holder wrote in node.pid (read only on the way to refusing a start). */
function holder(dataDir: string): string {
  try {
    const pid = readFileSync(join(dataDir, 'node.pid'), 'utf8').trim();
    return /^\d+$/.test(pid) ? pid : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** A port that cannot be listened on, said with the flag's words. */
export function listenError(error: unknown): never {
  const { code, address, port } = error as NodeJS.ErrnoException & {
    address?: string;
    port?: number;
  };
  if (code === 'EADDRINUSE') {
    throw new Error(`Port ${port} on ${address} is already in use (another node?).`, {
      cause: error,
    });
  }
  if (code === 'EADDRNOTAVAIL') {
    throw new Error(`${address} is not an address of this machine (--host).`, { cause: error });
  }
  if (code === 'EACCES') {
    throw new Error(`Port ${port} needs privileges this user does not have (--port).`, {
      cause: error,
    });
  }
  throw error;
}
