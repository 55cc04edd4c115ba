/**
 * The two-phase commit state machines, pure: what a coordinator decides from the votes it
 * has, and what a participant does with a prepare or a decision given what it logged.
 *
 * Kinds differ in one way: a `photo`, `remove` or `delete` transaction may abort (any no, or
 * no answer in time), while `create`, `outcome` and `invite` transactions never do — the
 * coordinator keeps preparing until every site says yes (their no's are all temporary), because
 * the decision they carry was already taken (an event exists; the master decided the round;
 * the organiser replaced the invite link).
 */
import type { Decision, PrepareVote, TxKind } from './types.js';

/** Transactions that a no, or silence, aborts (a person asked for them and is told). */
export const mayAbort = (kind: TxKind): boolean =>
  kind === 'photo' || kind === 'remove' || kind === 'delete';

export type CoordinatorState = 'preparing' | 'committed' | 'aborted';
export type ParticipantState = 'prepared' | 'committed' | 'aborted';

/** What the coordinator does next, from the votes gathered so far. */
export function coordinatorStep(
  kind: TxKind,
  sites: readonly string[],
  votes: ReadonlyMap<string, PrepareVote>,
  timedOut: boolean,
): Decision | 'wait' | 'reprepare' {
  const all = sites.map((s) => votes.get(s));
  if (all.every((v) => v?.vote === 'yes')) return 'commit';
  if (mayAbort(kind)) {
    if (all.some((v) => v?.vote === 'no')) return 'abort';
    return timedOut ? 'abort' : 'wait';
  }
  return all.some((v) => v?.vote === 'no') || timedOut ? 'reprepare' : 'wait';
}

/** A recovering coordinator: what to do with a transaction it logged. */
export function coordinatorRecovery(
  kind: TxKind,
  state: CoordinatorState,
): 'resend-decision' | 'presume-abort' | 'reprepare' {
  if (state !== 'preparing') return 'resend-decision';
  // Nobody can have committed a photo without our logged decision: abort is safe.
  return mayAbort(kind) ? 'presume-abort' : 'reprepare';
}

/**
 * A participant receives prepare. `logged` is what it already logged for this transaction
 * (duplicates are answered from the log, never re-evaluated); `evaluate` judges a new one.
 */
export function participantOnPrepare(
  logged: ParticipantState | null,
  evaluate: () => PrepareVote,
): { vote: PrepareVote; log: boolean } {
  switch (logged) {
    case 'prepared':
    case 'committed':
      return { vote: { vote: 'yes' }, log: false };
    case 'aborted':
      return { vote: { vote: 'no', reason: 'stale' }, log: false };
    case null: {
      const vote = evaluate();
      return { vote, log: vote.vote === 'yes' };
    }
  }
}

/**
 * A participant receives a decision. Applying is done once; duplicates are acknowledged.
 * A commit for a transaction never prepared here cannot happen (the coordinator needs our yes,
 * which we log first), so it is reported as a protocol violation.
 */
export function participantOnDecision(
  logged: ParticipantState | null,
  decision: Decision,
): 'apply-commit' | 'log-abort' | 'duplicate' | 'violation' {
  if (logged === 'committed' || logged === 'aborted') {
    return (logged === 'committed') === (decision === 'commit') ? 'duplicate' : 'violation';
  }
  if (decision === 'abort') return 'log-abort';
  return logged === 'prepared' ? 'apply-commit' : 'violation';
}
