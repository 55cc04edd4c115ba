import { describe, expect, test } from 'vitest';
import type { MosaicEvent } from '../api/types';
import {
  addedSoFar,
  canSeeMontage,
  isFull,
  organiserMayChange,
  organiserMayReplaceInvite,
  uploadBlocked,
  voteBlocked,
} from './event-rules';

const base: MosaicEvent = {
  id: 'e1',
  title: 'Party',
  origin: 'n1',
  phase: 'collecting',
  round: 1,
  montageVersion: 2,
  photos: [],
  participants: [],
  deadline: null,
  votes: { cast: 0, needed: 2 },
  votingSeconds: 90,
  maxParticipants: 10,
  inviteUrl: null,
  publishedAt: null,
  me: { role: 'participant', id: 'p1', name: 'Ann', submitted: true, photos: 1, voted: false },
};
const event = (patch: Partial<MosaicEvent>): MosaicEvent => ({ ...base, ...patch });

describe('voteBlocked', () => {
  test('while collecting, accepting starts the vote and rejecting waits', () => {
    expect(voteBlocked(base, 'accept')).toBeNull();
    expect(voteBlocked(base, 'reject')).toMatch(/not started/);
  });

  test('while voting, both, once', () => {
    const voting = event({ phase: 'voting', deadline: '2026-01-01T00:00:00Z' });
    expect(voteBlocked(voting, 'accept')).toBeNull();
    expect(voteBlocked(voting, 'reject')).toBeNull();
    const voted = event({ phase: 'voting', me: { ...base.me, voted: true } });
    expect(voteBlocked(voted, 'accept')).toMatch(/voted/);
  });

  test('never without a montage, for a visitor, or once published or while set up', () => {
    expect(voteBlocked(event({ montageVersion: 0 }), 'accept')).toMatch(/no montage/);
    expect(
      voteBlocked(
        event({
          me: { role: 'visitor', id: null, name: null, submitted: false, photos: 0, voted: false },
        }),
        'accept',
      ),
    ).toMatch(/participants/);
    expect(voteBlocked(event({ phase: 'published' }), 'accept')).toMatch(/published/);
    expect(voteBlocked(event({ phase: 'creating' }), 'accept')).toMatch(/set up/);
  });

  test('after an aborted round uploads are open again, and votes wait for a new version', () => {
    // The server refuses a vote on the aborted round's version ("No vote is open").
    const aborted = event({ phase: 'aborted' });
    expect(voteBlocked(aborted, 'accept')).toMatch(/add a photo for a new version/);
    expect(voteBlocked(aborted, 'reject')).toMatch(/add a photo for a new version/);
    expect(uploadBlocked(aborted)).toBeNull();
  });

  test('only for those who added a photo, as the server decides', () => {
    const noPhoto = { ...base.me, submitted: false };
    for (const phase of ['collecting', 'voting'] as const) {
      expect(voteBlocked(event({ phase, me: noPhoto }), 'accept')).toMatch(/Add a photo to vote/);
    }
    const organiser = { ...noPhoto, role: 'organiser' as const };
    expect(voteBlocked(event({ me: organiser }), 'accept')).toMatch(/Add a photo to vote/);
  });
});

describe('uploadBlocked', () => {
  test('open while collecting, closed while voting, published or set up, and for visitors', () => {
    expect(uploadBlocked(base)).toBeNull();
    expect(uploadBlocked(event({ phase: 'voting' }))).toMatch(/Voting/);
    expect(uploadBlocked(event({ phase: 'published' }))).toMatch(/published/);
    expect(uploadBlocked(event({ phase: 'creating' }))).toMatch(/set up/);
    expect(
      uploadBlocked(
        event({
          me: { role: 'visitor', id: null, name: null, submitted: false, photos: 0, voted: false },
        }),
      ),
    ).toMatch(/Join/);
  });
});

test('canSeeMontage: submitters, the organiser, and everyone once published', () => {
  expect(canSeeMontage(base)).toBe(true);
  const notYet = event({ me: { ...base.me, submitted: false } });
  expect(canSeeMontage(notYet)).toBe(false);
  expect(canSeeMontage(event({ ...notYet, phase: 'published' }))).toBe(true);
  expect(canSeeMontage(event({ montageVersion: 0 }))).toBe(false);
});

test('organiserMayChange: the organiser, until voting starts', () => {
  const organiser = { ...base.me, role: 'organiser' as const };
  expect(organiserMayChange(event({ me: organiser }))).toBe(true);
  expect(organiserMayChange(event({ me: organiser, phase: 'aborted' }))).toBe(true);
  expect(organiserMayChange(event({ me: organiser, phase: 'voting' }))).toBe(false);
  expect(organiserMayChange(event({ me: organiser, phase: 'published' }))).toBe(false);
  expect(organiserMayChange(base)).toBe(false);
});

describe('what the page says of photos and places', () => {
  test('says how many photos one added', () => {
    expect(addedSoFar(1)).toBe('You have added a photo.');
    expect(addedSoFar(2)).toBe('You have added 2 photos.');
  });

  test('an event is full once its participants reach the maximum', () => {
    const person = { site: 'n1', submitted: false, voted: false };
    const two = [
      { ...person, id: 'p1', name: 'Ann' },
      { ...person, id: 'p2', name: 'Bob' },
    ];
    expect(isFull({ ...base, maxParticipants: 2, participants: two.slice(0, 1) })).toBe(false);
    expect(isFull({ ...base, maxParticipants: 2, participants: two })).toBe(true);
  });
});

describe('replacing the invite link', () => {
  test('the organiser may while people may still join: not while setting up, nor once published', () => {
    const organiser = { ...base.me, role: 'organiser' as const };
    for (const phase of ['collecting', 'voting', 'aborted'] as const) {
      expect(organiserMayReplaceInvite(event({ phase, me: organiser }))).toBe(true);
    }
    for (const phase of ['creating', 'published'] as const) {
      expect(organiserMayReplaceInvite(event({ phase, me: organiser }))).toBe(false);
    }
    expect(organiserMayReplaceInvite(event({ phase: 'collecting' }))).toBe(false);
  });
});
