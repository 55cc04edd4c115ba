import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  currentInvite,
  inviteAccepted,
  inviteChangeOpen,
  invitePrepareVote,
  nextInvite,
  supersedes,
  withInvite,
} from './invite.js';
import { coordinatorRecovery, coordinatorStep, mayAbort } from './two-phase.js';
import { COLLECTING, INITIAL_STATE } from './event-phase.js';
import type { EventRecord, PrepareVote } from './types.js';

const record: EventRecord = {
  id: 'evt_1',
  title: 'Picnic',
  originId: 'a',
  originName: 'n1',
  organiser: 'admin',
  invite: 'old',
  sites: [{ id: 'a', name: 'n1', url: 'http://a' }],
  votingSeconds: 60,
  maxParticipants: 10,
  createdAt: 0,
};

describe('a new invite link', () => {
  it('replaces the old one: only the new invite is taken from then on', () => {
    expect(inviteAccepted(record, 'old')).toBe(true);
    const next = nextInvite(record, 'new', 5);
    expect(next).toEqual({ invite: 'new', generation: 1, issuedAt: 5 });
    const after = withInvite(record, next);
    expect(inviteAccepted(after, 'old')).toBe(false);
    expect(inviteAccepted(after, 'new')).toBe(true);
    expect(currentInvite(after)).toEqual({ invite: 'new', generation: 1 });
    // The one after that counts from the new generation.
    expect(nextInvite(after, 'newer', 6).generation).toBe(2);
  });

  it('an older or repeated invite never brings a replaced link back', () => {
    const two = withInvite(record, { invite: 'b', generation: 2 });
    expect(withInvite(two, { invite: 'a', generation: 1 })).toBe(two);
    expect(withInvite(two, { invite: 'b', generation: 2 })).toBe(two);
    expect(withInvite(two, { invite: 'old', generation: 0 })).toBe(two);
    expect(inviteAccepted(two, 'old')).toBe(false);
  });

  it('every site ends on the same invite, whatever order concurrent replacements arrive in', () => {
    const version = fc.record({
      invite: fc.string({ minLength: 1, maxLength: 4 }),
      generation: fc.integer({ min: 0, max: 4 }),
    });
    fc.assert(
      fc.property(
        fc
          .array(version, { maxLength: 8 })
          .chain((vs) =>
            fc.tuple(
              fc.constant(vs),
              fc.shuffledSubarray(vs, { minLength: vs.length, maxLength: vs.length }),
            ),
          ),
        ([versions, shuffled]) => {
          const here = versions.reduce(withInvite, record);
          const there = shuffled.reduce(withInvite, record);
          expect(currentInvite(there)).toEqual(currentInvite(here));
          // ...and the winner supersedes every other version it met.
          for (const v of versions) {
            const won = currentInvite(here);
            expect(won.invite === v.invite && won.generation === v.generation).toBe(
              !supersedes(won, v) && !supersedes(v, won),
            );
          }
        },
      ),
    );
  });

  it('may be issued while uploads are open or during voting, not while setting up or once published', () => {
    expect(inviteChangeOpen(COLLECTING)).toBeNull();
    expect(inviteChangeOpen({ ...COLLECTING, phase: 'voting', deadline: 1 })).toBeNull();
    expect(inviteChangeOpen({ ...COLLECTING, phase: 'aborted' })).toBeNull();
    expect(inviteChangeOpen(INITIAL_STATE)).toBe('unknown-event');
    expect(inviteChangeOpen({ ...COLLECTING, phase: 'published' })).toBe('closed');
  });

  it('every site that holds the event votes yes, in any phase; one that does not yet waits', () => {
    expect(invitePrepareVote(COLLECTING)).toEqual({ vote: 'yes' });
    expect(invitePrepareVote({ ...COLLECTING, phase: 'voting', deadline: 1 })).toEqual({
      vote: 'yes',
    });
    expect(invitePrepareVote({ ...COLLECTING, phase: 'published' })).toEqual({ vote: 'yes' });
    expect(invitePrepareVote(null)).toEqual({ vote: 'no', reason: 'unknown-event' });
    expect(invitePrepareVote(INITIAL_STATE)).toEqual({ vote: 'no', reason: 'unknown-event' });
  });

  it('its transaction never aborts: a site down is asked again until it says yes', () => {
    expect(mayAbort('invite')).toBe(false);
    const partial = new Map<string, PrepareVote>([['a', { vote: 'yes' }]]);
    expect(coordinatorStep('invite', ['a', 'b'], partial, true)).toBe('reprepare');
    expect(coordinatorRecovery('invite', 'preparing')).toBe('reprepare');
  });
});
