/**
 * The fault tier's checks of one seed's run, registered in that seed's `describe` by both
 * layouts: no 500 to the workload, then each part the layout plays, each reported apart. A
 * failed check keeps the run's history and the nodes' state (`saveHistory`).
 */
import { expect, it } from 'vitest';
import { checkPictures, serverErrors } from './checker.js';
import { checkFolders } from './folder-checker.js';
import { saveHistory, type Run } from './schedule.js';

export interface Checks {
  readonly pictures: boolean;
  readonly folders: boolean;
  readonly events: boolean;
  /** What the nodes are called in the tests' names ("node", "process and site"). */
  readonly nodes: string;
  /** Put before the part's name in the saved history's file names ("scaled-"). */
  readonly prefix: string;
  readonly convergeMs: number;
}

/**
 * Folders that agree only this long after the heal pass, but their history and nodes are kept
 * as for a failure (`fault-<seed>-folders-slow*`): usually they agree in 1-3 s, and a change
 * found only by the 30 s rescan is a lost hint worth reading.
 */
const SLOW_FOLDERS_MS = 10_000;

/** Registers the checks of the run that `run()` gives once the seed's `beforeAll` made it. */
export function itChecks(run: () => Run, checks: Checks): void {
  const { convergeMs, nodes, prefix } = checks;
  /** Runs a check, keeping the run's history and nodes when it fails. */
  const kept = async <T>(part: string, check: () => Promise<T>): Promise<T> => {
    try {
      return await check();
    } catch (error) {
      await saveHistory(run(), `${prefix}${part}`, error);
      throw error;
    }
  };

  it('no request of the workload was answered 500 (a fault answers 503 or not at all)', async () => {
    await kept('server-errors', async () => {
      expect(serverErrors(run().history)).toEqual([]);
    });
  });

  it.runIf(checks.pictures)(
    `pictures: every ${nodes} lists the same pictures and bytes, every acknowledged write accounted for`,
    async () => {
      const r = run();
      r.pictures = await kept('pictures', () =>
        checkPictures(r.nodes, r.history, convergeMs, r.healedAt),
      );
      expect(r.pictures.pictures).toBeGreaterThan(0);
    },
    convergeMs + 120_000,
  );

  it.runIf(checks.pictures)(
    `accounts: every ${nodes} holds the same accounts, each register as the rules give, every acknowledged change logged`,
    async () => {
      const r = run();
      r.accounts = await kept('accounts', () => r.accountWorkload.check(r.nodes, convergeMs));
      expect(r.accounts.accounts).toBeGreaterThan(1);
    },
    convergeMs + 60_000,
  );

  it.runIf(checks.folders)(
    `folders: every ${nodes} and device holds the same tree, every version written survives, no temp file`,
    async () => {
      const r = run();
      const folders = await kept('folders', async () => {
        // A device whose mosaic sync ended is the likelier cause of folders that differ: say it
        // first (a lane that exits for ever leaves only "did not converge" otherwise).
        const exits = () =>
          r.devices.flatMap((d) => d.unexpectedExits.map((e) => `${d.name}: ${e}`));
        const ended = () => `a device's mosaic sync ended: ${exits().join('; ')}`;
        let report;
        try {
          report = await checkFolders(r.nodes, r.history, convergeMs, r.healedAt, r.devices);
        } catch (error) {
          if (exits().length === 0) throw error;
          throw new Error(`${ended()}\n${(error as Error).message}`, { cause: error });
        }
        if (exits().length > 0) throw new Error(ended());
        return report;
      });
      r.folders = folders;
      if (folders.convergedMs > SLOW_FOLDERS_MS) {
        const slow = `agreed only after ${folders.convergedMs} ms (${folders.lastWait})`;
        await saveHistory(r, `${prefix}folders-slow`, new Error(slow));
      }
      expect(folders.files).toBeGreaterThan(0);
    },
    convergeMs + 60_000,
  );

  it.runIf(checks.events)(
    `events: every ${nodes} shows each event alike; a round with every accept acknowledged published`,
    async () => {
      const r = run();
      r.events = await kept('events', () => r.eventWorkload.check(r.nodes, convergeMs));
      expect(r.events.events).toBeGreaterThan(0);
    },
    convergeMs + 120_000,
  );
}
