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
import { Step, run } from './protocol-model-run.testing.js';
import { World, type SiteModel } from './protocol-model.testing.js';

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

  it('a site that answered the vote collection takes no more votes in that round', () => {
    // Photos by p0 (site 0, the master) and p1; p0 accepts; the deadline passes with p1's vote
    // missing. The collection closes the round at sites 1 and 2 and the master aborts. p1 then
    // votes at site 1 on a process whose clock is still before the deadline: it must be refused,
    // or an acknowledged accept would belong to a round that aborted.
    const world = new World();
    world.upload(0);
    world.drain();
    world.upload(1);
    world.drain();
    world.vote(0, 'accept');
    world.drain();
    world.masterDecides(true);
    const site1 = world.sites[1] as SiteModel;
    expect(site1.state).toMatchObject({ phase: 'voting', closed: true });
    world.vote(1, 'accept');
    expect(site1.votes.has('p1')).toBe(false);
    world.drain();
    for (const s of world.sites) expect(s.outcomes.get(1)).toBe('abort');
  });
});
