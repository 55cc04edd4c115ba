/**
 * Model-based test of the event protocol (the model: protocol-model.testing.ts): three sites
 * built only from the pure state machines of this folder, under random interleavings of
 * uploads, votes, deliveries in any order, loss, time-outs and crashes. Checked after every step
 * (safety, by the model): any two sites' photo sequences are prefixes of one another; a round
 * is never published at one site and aborted at another; a published round had every
 * submitter's accept. Checked at the end, after draining every message (liveness of the
 * outbox): every site is in the same state.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Step, run, type SiteModel } from './protocol-model.testing.js';

const Steps = fc.array(Step, { minLength: 60, maxLength: 300 });

describe('event protocol model (pure state machines, random interleavings)', () => {
  it('keeps every site consistent under loss, reordering, duplicates, time-outs and crashes', () => {
    fc.assert(
      fc.property(Steps, (steps) => {
        const world = run(steps);
        const [first, ...rest] = world.sites as [SiteModel, SiteModel, SiteModel];
        for (const other of rest) {
          expect(other.photos).toEqual(first.photos);
          expect(other.state).toEqual(first.state);
          expect([...other.outcomes]).toEqual([...first.outcomes]);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('the random runs do reach photos, publications and aborts (the test is not vacuous)', () => {
    const worlds = fc.sample(Steps, { numRuns: 300, seed: 42 }).map(run);
    const outcomes = worlds.flatMap((w) => [...(w.sites[0]?.outcomes.values() ?? [])]);
    const photos = worlds.map((w) => w.sites[0]?.photos.length ?? 0);
    expect(photos.filter((count) => count >= 2).length).toBeGreaterThan(20);
    expect(outcomes.filter((o) => o === 'publish').length).toBeGreaterThan(5);
    expect(outcomes.filter((o) => o === 'abort').length).toBeGreaterThan(5);
  });
});
