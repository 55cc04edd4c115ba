import { Command, Option } from 'commander';
import { resolve } from 'node:path';

/**
 * Exit codes of `mosaic sync`: 0 in sync (or stopped by a signal), 1 another failure (bad
 * usage, a refused DIR: sync.dir.ts, sync.vanished.ts), 2 `--once` ended not in sync, 3 no token or a token the node refuses, 4 no such folder for this account,
 * 5 this device was removed from its folder (by its owner or an admin).
 */
export const EXIT = { ok: 0, failed: 1, notInSync: 2, auth: 3, folder: 4, removed: 5 } as const;

export interface SyncFlags {
  server: string;
  token?: string;
  folder?: string;
  interval: string;
  device?: string;
  once?: boolean;
  newDir?: boolean;
}

export function syncCommand(): Command {
  return new Command('sync')
    .description("Keep a local directory in sync with a node's folder (a device)")
    .argument('<dir>', 'the local directory (created if missing; its parent must exist)')
    .addOption(
      new Option('--server <url>', 'the node to sync with')
        .env('MOSAIC_SERVER')
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--token <token>', 'API token (default: saved by mosaic login)').env(
        'MOSAIC_TOKEN',
      ),
    )
    .addOption(
      new Option('--folder <name>', "the node's folder (default: the only one)").env(
        'MOSAIC_SYNC_FOLDER',
      ),
    )
    .addOption(
      new Option('--interval <seconds>', 'rescan and retry interval')
        .env('MOSAIC_SYNC_INTERVAL')
        .default('30'),
    )
    .addOption(
      new Option('--device <name>', 'device name (default: host name)').env('MOSAIC_DEVICE_NAME'),
    )
    .option('--once', 'sync once and exit: code 0 only when in sync')
    .option(
      '--new-dir',
      'start afresh in a new DIR where one synced before is gone (refused without it: a disk not mounted?)',
    )
    .action(async (dir: string, flags: SyncFlags) => {
      // Loaded here, not at the CLI's start (engines.ts).
      const { sync } = await import('./engines.js');
      process.exitCode = await sync(resolve(dir), flags);
    });
}
