/**
 * Clock faults for the fault tier: each node process runs with Debian's libfaketime preloaded
 * (package `faketime`), its wall clock's offset read from a file of its own every second; the
 * schedule's clock loop writes an offset now and then, as a machine whose clock drifts, jumps,
 * or is set by NTP. Timers run on the monotonic clock, left alone. The offsets stay inside the
 * peer signature's window (60 s), so the nodes keep talking and what is exercised is the hybrid
 * logical clock under skew and jumps back (the op clock must never reissue an earlier
 * timestamp; last-writer-wins and conflicts must still agree everywhere). Beyond the window
 * nodes refuse each other (test/cluster/clock-skew.test.ts covers that).
 *
 *   FAULT_CLOCKS=off   no clock faults (nodes run on the real clock)
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '../helpers/node-process.js';
import type { History, Rng } from './workload.js';

const FAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';
/** The largest offset set, in seconds, either way (inside the 60 s signature window). */
export const MAX_SKEW_S = 40;

export function clockFaultsOn(): boolean {
  return process.env['FAULT_CLOCKS'] !== 'off';
}

/** Why clock faults cannot run here, or null. */
export function clocksUnsupported(): string | null {
  return existsSync(FAKETIME) ? null : `needs ${FAKETIME} (apt-get install faketime)`;
}

/** A node's clock: the file its libfaketime reads, and the environment that makes it read it. */
export class NodeClock {
  readonly file: string;
  offsetS = 0;

  constructor(dir: string) {
    this.file = join(dir, 'clock-offset');
  }

  /** The node's environment: its wall clock read through the file (created at +0 first). */
  async env(): Promise<Record<string, string>> {
    await this.set(0);
    return {
      LD_PRELOAD: FAKETIME,
      FAKETIME_TIMESTAMP_FILE: this.file,
      FAKETIME_CACHE_DURATION: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    };
  }

  async set(offsetS: number): Promise<void> {
    this.offsetS = offsetS;
    await writeFile(this.file, `${offsetS >= 0 ? '+' : ''}${offsetS}s\n`);
  }

  /**
   * Checks that the node at `url` really runs on this clock (a preload that did not take would
   * make every clock fault a no-op): moved 30 s ahead, its HTTP `Date` header follows within a
   * few seconds; then it is set back.
   */
  async verify(url: string): Promise<void> {
    const offsetOf = async () => {
      const res = await fetch(`${url}/healthz`);
      await res.body?.cancel();
      return (Date.parse(res.headers.get('date') ?? '') - Date.now()) / 1000;
    };
    await this.set(30);
    try {
      await waitFor(async () => Math.abs((await offsetOf()) - 30) <= 2, {
        timeoutMs: 10_000,
        intervalMs: 200,
        what: `the node at ${url} to run 30 s ahead (libfaketime)`,
      });
    } finally {
      await this.set(0);
    }
    await waitFor(async () => Math.abs(await offsetOf()) <= 2, {
      timeoutMs: 10_000,
      intervalMs: 200,
      what: `the node at ${url} back on time`,
    });
  }
}

/**
 * Until `end`: every 2–8 s one node's clock is moved to a random offset within ±MAX_SKEW_S (a
 * third of the time back to 0, as NTP would set it), recorded in the history. Then every clock
 * is set right, as after the heal.
 */
export async function clockLoop(
  clocks: readonly { name: string; clock: NodeClock }[],
  rng: Rng,
  history: History,
  end: number,
): Promise<void> {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  while (clocks.length > 0) {
    await sleep(rng.between(2000, 8000));
    if (Date.now() >= end) break;
    const target = rng.pick(clocks);
    if (!target) continue;
    const offset = rng.chance(1 / 3) ? 0 : rng.between(-MAX_SKEW_S, MAX_SKEW_S);
    await target.clock.set(offset);
    history.add({ kind: 'clock', node: target.name, offsetS: offset });
  }
  for (const { name, clock } of clocks) {
    if (clock.offsetS === 0) continue;
    await clock.set(0);
    history.add({ kind: 'clock', node: name, offsetS: 0 });
  }
}
