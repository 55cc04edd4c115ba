import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OneBehind } from './one-behind.js';

/** A job: how many event-loop turns it takes, and whether it fails at the end. */
const job = fc.record({ turns: fc.nat(5), fails: fc.boolean() });

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('OneBehind: one job at a time, one behind the caller', () => {
  it('runs jobs in order, never two at once, and reports each failure once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(job, { maxLength: 12 }),
        fc.array(fc.nat(3), { maxLength: 12 }),
        async (jobs, callerTurns) => {
          const queue = new OneBehind();
          const started: number[] = [];
          const ended: number[] = [];
          let inFlight = 0;
          let maxInFlight = 0;
          const failures: unknown[] = [];
          const unhandled: unknown[] = [];
          const onUnhandled = (reason: unknown) => unhandled.push(reason);
          process.on('unhandledRejection', onUnhandled);
          try {
            for (const [i, j] of jobs.entries()) {
              try {
                await queue.submit(async () => {
                  started.push(i);
                  inFlight++;
                  maxInFlight = Math.max(maxInFlight, inFlight);
                  for (let t = 0; t < j.turns; t++) await turn();
                  inFlight--;
                  ended.push(i);
                  if (j.fails) throw new Error(`job ${i}`);
                });
              } catch (error) {
                failures.push(error);
              }
              // The caller works a while between submissions (the next batch).
              for (let t = 0; t < (callerTurns[i] ?? 0); t++) await turn();
            }
            try {
              await queue.drain();
            } catch (error) {
              failures.push(error);
            }
            await queue.drain(); // nothing left: neither waits nor throws
            await turn();
          } finally {
            process.off('unhandledRejection', onUnhandled);
          }
          const order = jobs.map((_, i) => i);
          expect(started).toEqual(order);
          expect(ended).toEqual(order);
          expect(maxInFlight).toBeLessThanOrEqual(1);
          expect(failures.map((e) => (e as Error).message)).toEqual(
            jobs.flatMap((j, i) => (j.fails ? [`job ${i}`] : [])),
          );
          expect(unhandled).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('starts a job before the one before it has ended, but only after it ended', async () => {
    const queue = new OneBehind();
    const log: string[] = [];
    let finishFirst = (): void => {};
    await queue.submit(
      () =>
        new Promise<void>((resolve) => {
          log.push('first started');
          finishFirst = () => {
            log.push('first ended');
            resolve();
          };
        }),
    );
    // submit returned while the first job runs: the caller goes on.
    log.push('caller goes on');
    const second = queue.submit(async () => {
      log.push('second started');
    });
    await turn();
    expect(log).toEqual(['first started', 'caller goes on']);
    finishFirst();
    await second;
    await queue.drain();
    expect(log).toEqual(['first started', 'caller goes on', 'first ended', 'second started']);
  });
});
