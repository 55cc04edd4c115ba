/**
 * What `mosaic sync DIR` does once its options are parsed (sync.command.ts): signs in with the
 * saved or given token, finds the folder, and keeps DIR in sync with it as a device.
 */
import pino, { type Logger } from 'pino';
import {
  DeviceAccessError,
  DeviceRemovedError,
  DeviceAuthError,
  DeviceRequestError,
} from '../devices/device-client.js';
import { DeviceReplica } from '../devices/device-replica.js';
import { DeviceName, FolderId } from '../devices/device-schemas.js';
import { jsonReporter, terminalReporter } from '../devices/reporter.js';
import { FolderMissingError, readMarker } from '../folders/marker.js';
import { savedToken } from './credentials.js';
import { refusedSyncDir } from './sync.dir.js';
import { EXIT, type SyncFlags } from './sync.command.js';
import { dirVerdict, seeDir } from './sync.vanished.js';
import { recordSyncedDir, syncedDir } from './synced-dirs.js';

export async function sync(dir: string, flags: SyncFlags): Promise<number> {
  const tty = process.stderr.isTTY;
  const log: Logger = tty
    ? pino({ level: 'warn' }, pino.destination(2))
    : pino({ level: process.env['MOSAIC_LOG_LEVEL'] ?? 'info' });
  const fail = (code: number, message: string): number => {
    if (tty) process.stderr.write(`${message}\n`);
    else log.error({ exitCode: code }, message);
    return code;
  };
  const interval = Number(flags.interval);
  if (!Number.isFinite(interval) || interval <= 0) {
    return fail(EXIT.failed, '--interval wants a number of seconds.');
  }
  let server: string;
  try {
    server = new URL(flags.server).origin;
  } catch {
    return fail(EXIT.failed, `--server ${flags.server} is not a URL.`);
  }
  if (flags.device !== undefined && !DeviceName.safeParse(flags.device).success) {
    return fail(EXIT.failed, '--device: a device name uses letters, digits, ".", "_" and "-".');
  }
  // A DIR synced before and gone (a disk not mounted?), or one whose parent is missing: not
  // made. Then a node's folder, or one inside or around a directory already synced: refused.
  const verdict = dirVerdict(dir, await seeDir(dir), await syncedDir(dir), flags.newDir === true);
  if ('refused' in verdict) return fail(EXIT.failed, verdict.refused);
  const refused = await refusedSyncDir(dir);
  if (refused !== null) return fail(EXIT.failed, refused);
  const token = flags.token ?? (await savedToken(server));
  if (token === null || token === '') {
    return fail(
      EXIT.auth,
      `No token for ${server}: run "mosaic login --server ${server}" or give --token.`,
    );
  }

  const reporter = tty ? terminalReporter() : jsonReporter(log);
  if (verdict.warning !== null) reporter.warn(verdict.warning, { dir });
  let replica: DeviceReplica | null = null;
  try {
    // A wrong token must change nothing, not even DIR/.mosaic/: checked before anything is made.
    // A device that synced DIR before may start while its node is out of reach (a laptop
    // opened on a train): it works on DIR meanwhile and syncs once the node answers; the token
    // is checked then (a refused one still ends it with EXIT.auth).
    let username: string | null;
    try {
      username = await checkToken(server, token);
    } catch (error) {
      const transient = error instanceof DeviceRequestError && (error.status ?? 503) >= 500;
      if (!transient || flags.once === true || !(await DeviceReplica.exists(dir))) throw error;
      reporter.warn(`The node at ${server} cannot be reached; syncing once it is back.`, {
        err: (error as Error).message,
      });
      username = null;
    }
    const folder = flags.folder ?? (await defaultFolder(dir, server, token));
    if (!FolderId.safeParse(folder).success) {
      return fail(EXIT.failed, `"${folder}" is not a folder name.`);
    }
    replica = await DeviceReplica.open({
      dir,
      server,
      token,
      folder,
      username,
      deviceName: flags.device,
      createDir: verdict.create,
      intervalMs: interval * 1000,
      log: log.child({ folder }),
      reporter,
    });
    // On record once opened, so that DIR gone later is refused rather than made again. A
    // record that cannot be written loses that protection only: said, and the sync goes on.
    const seen = { dir, server, folder, deviceId: replica.identity.id };
    await recordSyncedDir(seen).catch((error: unknown) => {
      reporter.warn(`Could not record ${dir} as synced: ${(error as Error).message}`);
    });
    if (flags.once === true) {
      const inSync = await replica.once();
      return inSync ? EXIT.ok : EXIT.notInSync;
    }
    const running = replica;
    const stop = () => {
      void running.close();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    log.info(
      { device: running.identity.name, id: running.identity.id, server, dir },
      'device sync started',
    );
    await running.run();
    return EXIT.ok;
  } catch (error) {
    if (error instanceof DeviceAuthError) {
      return fail(EXIT.auth, `The node refused the token: ${error.message}`);
    }
    if (error instanceof DeviceRemovedError) {
      return fail(EXIT.removed, `${server}: ${error.message}`);
    }
    if (error instanceof DeviceAccessError) {
      return fail(EXIT.folder, `No such folder for this account at ${server}: ${error.message}`);
    }
    if (error instanceof FolderMissingError && error.reason === 'marker-mismatch') {
      const marker = await readMarker(dir).catch(() => null);
      return fail(
        EXIT.failed,
        `${dir} already syncs the folder "${marker?.folderId ?? '?'}", not "${flags.folder ?? '?'}".`,
      );
    }
    if (error instanceof DeviceRequestError && error.status === null) {
      return fail(EXIT.failed, `The node at ${server} cannot be reached: ${error.message}`);
    }
    return fail(EXIT.failed, (error as Error).message);
  } finally {
    await replica?.close().catch(() => undefined);
  }
}

/** The folder DIR already syncs, else the node's only folder this account may use. */
async function defaultFolder(dir: string, server: string, token: string): Promise<string> {
  const marker = await readMarker(dir).catch(() => null);
  if (marker) return marker.folderId;
  const res = await getWithToken(server, '/api/folders', token);
  const folders = (await res.json()) as { id: string }[];
  const [only] = folders;
  if (folders.length === 1 && only) return only.id;
  throw new DeviceAccessError(
    folders.length === 0
      ? 'the node has no folder this account may use (an admin lists one with --folder and ' +
          'grants it with --folder-user; a site on PostgreSQL has none)'
      : `give --folder (one of: ${folders.map((f) => f.id).join(', ')})`,
  );
}

/** The token's account name (401: a DeviceAuthError). */
async function checkToken(server: string, token: string): Promise<string> {
  const res = await getWithToken(server, '/api/auth/me', token);
  const me = (await res.json()) as { user?: { username?: unknown } };
  if (typeof me.user?.username !== 'string') {
    throw new DeviceRequestError('GET /api/auth/me: no user in the answer', res.status);
  }
  return me.user.username;
}

/**
 * A GET of the node's API with the token: the 200 answer, else a DeviceAuthError (401) or a
 * DeviceRequestError (unreachable: no status; another status: that status).
 */
async function getWithToken(server: string, path: string, token: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(new URL(path, server), { headers: { authorization: `Bearer ${token}` } });
  } catch (error) {
    throw new DeviceRequestError((error as Error).message, null);
  }
  if (res.status === 200) return res;
  await res.body?.cancel();
  if (res.status === 401) throw new DeviceAuthError('The API token is not valid.');
  throw new DeviceRequestError(`GET ${path}: ${res.status}`, res.status);
}
