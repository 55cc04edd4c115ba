import { describe, expect, it } from 'vitest';
import {
  COLLECTING,
  applyOutcome,
  applyPhoto,
  checkVote,
  closeVoting,
  decideRound,
  nextPhotoRound,
  outcomePrepareVote,
  photoPrepareVote,
  startVoting,
} from './event-phase.js';
import type { EventState, PhotoPayload } from './types.js';

const photo = (baseVersion: number, round = 1): PhotoPayload => ({
  hash: 'a'.repeat(64),
  size: 1,
  participantId: 'p1',
  participantName: 'P',
  siteId: 's1',
  siteName: 'n1',
  baseVersion,
  round,
  addedAt: 0,
});
const at = (s: Partial<EventState>): EventState => ({ ...COLLECTING, ...s });

describe('photo prepare', () => {
  it('votes yes only at the same version and round, not voting, nothing else prepared', () => {
    expect(photoPrepareVote(at({ version: 2 }), photo(2), false)).toEqual({ vote: 'yes' });
    expect(photoPrepareVote(at({ version: 2 }), photo(2), true)).toEqual({
      vote: 'no',
      reason: 'busy',
    });
    expect(photoPrepareVote(at({ version: 1 }), photo(2), false)).toMatchObject({
      reason: 'lagging',
    });
    expect(photoPrepareVote(at({ version: 3 }), photo(2), false)).toMatchObject({
      reason: 'stale',
    });
    expect(photoPrepareVote(at({ phase: 'voting', version: 2 }), photo(2), false)).toMatchObject({
      reason: 'voting',
    });
    expect(photoPrepareVote(at({ phase: 'published' }), photo(0), false)).toMatchObject({
      reason: 'closed',
    });
    expect(photoPrepareVote(null, photo(0), false)).toMatchObject({ reason: 'unknown-event' });
  });

  it('after an aborted round a photo opens the next round, and a site that missed the abort is lagging', () => {
    const aborted = at({ phase: 'aborted', version: 3 });
    expect(nextPhotoRound(aborted)).toBe(2);
    expect(photoPrepareVote(aborted, photo(3, 2), false)).toEqual({ vote: 'yes' });
    expect(photoPrepareVote(at({ version: 3 }), photo(3, 2), false)).toMatchObject({
      reason: 'lagging',
    });
    expect(applyPhoto(photo(3, 2))).toEqual({
      phase: 'collecting',
      round: 2,
      version: 4,
      deadline: null,
      closed: false,
    });
  });
});

describe('voting', () => {
  it('an accept on the current version starts voting; other votes are refused with a reason', () => {
    const s = at({ version: 3 });
    expect(checkVote(s, 3, 'accept', false, 0)).toEqual({ kind: 'record', startsVoting: true });
    expect(checkVote(s, 2, 'accept', false, 0)).toEqual({ kind: 'refuse', code: 'stale_version' });
    expect(checkVote(s, 3, 'reject', false, 0)).toEqual({ kind: 'refuse', code: 'not_voting' });
    expect(checkVote(s, 3, 'accept', true, 0)).toEqual({ kind: 'refuse', code: 'busy' });
    const voting = at({ phase: 'voting', version: 3, deadline: 100 });
    expect(checkVote(voting, 3, 'reject', false, 50)).toEqual({
      kind: 'record',
      startsVoting: false,
    });
    expect(checkVote(voting, 3, 'reject', false, 150)).toEqual({
      kind: 'refuse',
      code: 'not_voting',
    });
    expect(checkVote(at({ version: 0 }), 0, 'accept', false, 0)).toMatchObject({ kind: 'refuse' });
  });

  it('a voting notice starts, is obsolete, or waits for the site to catch up', () => {
    expect(startVoting(at({ version: 3 }), 1, 3, 9)).toMatchObject({
      kind: 'started',
      state: { phase: 'voting', deadline: 9 },
    });
    expect(startVoting(at({ version: 2 }), 1, 3, 9)).toEqual({ kind: 'lagging' });
    expect(startVoting(at({ phase: 'aborted', version: 3 }), 1, 3, 9)).toEqual({
      kind: 'obsolete',
    });
    expect(startVoting(at({ phase: 'voting', version: 3 }), 1, 3, 9)).toEqual({ kind: 'obsolete' });
    expect(startVoting(at({ round: 2, version: 4 }), 1, 3, 9)).toEqual({ kind: 'obsolete' });
  });

  it('a round closed here takes no vote, whatever the clock of the process says', () => {
    const voting = at({ phase: 'voting', version: 3, deadline: 100 });
    const closed = closeVoting(voting, 1, 3, 80);
    expect(closed).toEqual({ kind: 'closed', state: { ...voting, deadline: 80, closed: true } });
    if (closed.kind !== 'closed') return;
    // A process of the site on a clock 60 ms behind the one that answered the collection.
    expect(checkVote(closed.state, 3, 'accept', false, 20)).toEqual({
      kind: 'refuse',
      code: 'not_voting',
    });
    // Asked before voting reached it: voting starts here already closed.
    const fresh = closeVoting(at({ version: 3 }), 1, 3, 80);
    expect(fresh).toMatchObject({ state: { phase: 'voting', deadline: 80, closed: true } });
    if (fresh.kind === 'closed')
      expect(checkVote(fresh.state, 3, 'accept', false, 0)).toMatchObject({ kind: 'refuse' });
    expect(closeVoting(at({ version: 2 }), 1, 3, 80)).toEqual({ kind: 'lagging' });
    // Every later state is open again.
    const o = { round: 1, version: 3, outcome: 'abort' as const, decidedAt: 90 };
    expect(applyOutcome(closed.state, o).closed).toBe(false);
    expect(applyPhoto(photo(3, 2)).closed).toBe(false);
  });

  it('the master publishes only with every submitter accepting', () => {
    const accept = new Map([
      ['a', 'accept' as const],
      ['b', 'accept' as const],
    ]);
    expect(decideRound(['a', 'b'], accept, false, false)).toBe('publish');
    expect(decideRound(['a', 'b', 'c'], accept, false, false)).toBe('wait');
    expect(decideRound(['a', 'b', 'c'], accept, true, false)).toBe('collect');
    expect(decideRound(['a', 'b', 'c'], accept, true, true)).toBe('abort');
    expect(decideRound(['a', 'b'], new Map([['a', 'reject' as const]]), false, false)).toBe(
      'abort',
    );
  });

  it('outcomes: never a final no, applied once per round', () => {
    const o = { round: 1, version: 3, outcome: 'publish' as const, decidedAt: 5 };
    expect(outcomePrepareVote(at({ version: 3, phase: 'voting' }), o, false)).toEqual({
      vote: 'yes',
    });
    expect(outcomePrepareVote(at({ version: 2 }), o, false)).toMatchObject({ reason: 'lagging' });
    expect(outcomePrepareVote(at({ version: 3 }), o, true)).toMatchObject({ reason: 'busy' });
    expect(applyOutcome(at({ version: 3, phase: 'voting' }), o).phase).toBe('published');
    expect(applyOutcome(at({ round: 2 }), o)).toEqual(at({ round: 2 }));
  });
});
