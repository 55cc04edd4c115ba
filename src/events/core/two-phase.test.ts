import { describe, expect, it } from 'vitest';
import {
  coordinatorRecovery,
  coordinatorStep,
  participantOnDecision,
  participantOnPrepare,
} from './two-phase.js';
import type { PrepareVote } from './types.js';

const yes: PrepareVote = { vote: 'yes' };
const busy: PrepareVote = { vote: 'no', reason: 'busy' };

describe('coordinator', () => {
  it('commits on all yes; a photo aborts on any no or on time-out, other kinds prepare again', () => {
    const all = new Map<string, PrepareVote>([
      ['a', yes],
      ['b', yes],
    ]);
    expect(coordinatorStep('photo', ['a', 'b'], all, false)).toBe('commit');
    expect(coordinatorStep('photo', ['a', 'b'], new Map([['a', yes]]), false)).toBe('wait');
    expect(coordinatorStep('photo', ['a', 'b'], new Map([['a', yes]]), true)).toBe('abort');
    expect(
      coordinatorStep(
        'photo',
        ['a', 'b'],
        new Map<string, PrepareVote>([
          ['a', yes],
          ['b', busy],
        ]),
        false,
      ),
    ).toBe('abort');
    expect(
      coordinatorStep(
        'outcome',
        ['a', 'b'],
        new Map<string, PrepareVote>([
          ['a', yes],
          ['b', busy],
        ]),
        false,
      ),
    ).toBe('reprepare');
    expect(coordinatorStep('create', ['a', 'b'], new Map([['a', yes]]), true)).toBe('reprepare');
  });

  it('recovers by presumed abort for photos only; a logged decision is resent', () => {
    expect(coordinatorRecovery('photo', 'preparing')).toBe('presume-abort');
    expect(coordinatorRecovery('outcome', 'preparing')).toBe('reprepare');
    expect(coordinatorRecovery('photo', 'committed')).toBe('resend-decision');
  });
});

describe('participant', () => {
  it('answers duplicates from its log and logs a new yes', () => {
    expect(participantOnPrepare(null, () => yes)).toEqual({ vote: yes, log: true });
    expect(participantOnPrepare(null, () => busy)).toEqual({ vote: busy, log: false });
    expect(participantOnPrepare('prepared', () => busy)).toEqual({ vote: yes, log: false });
    expect(participantOnPrepare('aborted', () => yes).vote.vote).toBe('no');
  });

  it('applies a decision once', () => {
    expect(participantOnDecision('prepared', 'commit')).toBe('apply-commit');
    expect(participantOnDecision('committed', 'commit')).toBe('duplicate');
    expect(participantOnDecision(null, 'abort')).toBe('log-abort');
    expect(participantOnDecision(null, 'commit')).toBe('violation');
    expect(participantOnDecision('aborted', 'commit')).toBe('violation');
  });
});
