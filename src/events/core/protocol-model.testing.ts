/**
 * The event protocol's model for protocol.model.test.ts (imported by it only), built ONLY from
 * the pure state machines of this folder: three sites (the master is site 0), random
 * interleavings of uploads at any site, votes, message deliveries in any order, message loss,
 * coordinator time-outs and crashes.
 *
 * The model mirrors the real drivers: prepares and their answers may be lost for good (a
 * photo coordinator then times out and aborts); decisions, voting notices and vote reports
 * come from the durable outbox, so they are only delayed or duplicated, never lost; a crash
 * loses nothing logged (a photo coordinator still `preparing` presumes abort on restart).
 *
 * Votes are taken on a clock that never passes the deadline (a process of the site whose clock
 * is behind): only a closed round (`closeVoting`, stored) stops them. The master's vote
 * collection closes the round at each site it asks, and the master closes it at its own site
 * before it aborts for a missing vote, as the real drivers do.
 *
 * `run` (protocol-model-run.testing.ts) checks safety after every step: any two sites' photo sequences are prefixes of one
 * another; a round is never published at one site and aborted at another; a published round
 * had every submitter's accept; a round in which every submitter's accept was acknowledged
 * (recorded at some site) did not abort. It ends by draining every message.
 */
import { expect } from 'vitest';
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
  uploadsOpen,
} from './event-phase.js';
import {
  coordinatorRecovery,
  coordinatorStep,
  participantOnDecision,
  participantOnPrepare,
  type CoordinatorState,
  type ParticipantState,
} from './two-phase.js';
import type { Decision, EventState, PrepareVote, TxBody, VoteDecision } from './types.js';

const SITES = [0, 1, 2] as const;
const IDS = SITES.map(String);

export interface SiteModel {
  state: EventState;
  log: Map<string, { state: ParticipantState; body: TxBody }>;
  photos: string[]; // committed tx ids, in order
  outcomes: Map<number, 'publish' | 'abort'>;
  votes: Map<string, VoteDecision>; // this round's votes known here (the master: all reported)
}

interface CoordModel {
  site: number;
  body: TxBody;
  state: CoordinatorState;
  votes: Map<string, PrepareVote>;
}

type Message =
  | { kind: 'prepare'; to: number; tx: string }
  | { kind: 'answer'; to: number; from: number; tx: string; vote: PrepareVote }
  | { kind: 'decision'; to: number; tx: string; decision: Decision }
  | { kind: 'voting'; to: number; round: number; version: number }
  | { kind: 'report'; round: number; version: number; votes: [string, VoteDecision][] };

const reliable = (m: Message): boolean => m.kind !== 'prepare' && m.kind !== 'answer';

export class World {
  sites: SiteModel[] = SITES.map(() => ({
    state: COLLECTING,
    log: new Map(),
    photos: [],
    outcomes: new Map(),
    votes: new Map(),
  }));
  coords = new Map<string, CoordModel>();
  net: Message[] = [];
  /** Who submitted each committed photo (tx id -> participant = "site:n"). */
  submitter = new Map<string, string>();
  next = 0;

  upload(site: number): void {
    const s = this.sites[site] as SiteModel;
    if (uploadsOpen(s.state) !== null) return;
    // Like the upload handler: one photo transaction at a time per site (it waits for it).
    if ([...this.coords.values()].some((c) => c.site === site && c.state === 'preparing')) return;
    const tx = `t${this.next++}`;
    const body: TxBody = {
      kind: 'photo',
      photo: {
        hash: 'h',
        size: 1,
        participantId: `p${site}`,
        participantName: 'x',
        siteId: String(site),
        siteName: 'x',
        baseVersion: s.state.version,
        round: nextPhotoRound(s.state),
        addedAt: 0,
      },
    };
    this.begin(tx, site, body);
  }

  begin(tx: string, site: number, body: TxBody): void {
    this.coords.set(tx, { site, body, state: 'preparing', votes: new Map() });
    for (const to of SITES) this.net.push({ kind: 'prepare', to, tx });
  }

  /** A submitter at `site` votes on the version they see there. */
  vote(site: number, decision: VoteDecision): void {
    const s = this.sites[site] as SiteModel;
    const me = `p${site}`;
    if (!s.photos.some((t) => this.submitter.get(t) === me) || s.votes.has(me)) return;
    const holds = [...s.log.values()].some((e) => e.state === 'prepared');
    const check = checkVote(s.state, s.state.version, decision, holds, 0);
    if (check.kind === 'refuse') return;
    if (check.startsVoting) {
      s.state = { ...s.state, phase: 'voting', deadline: 1 };
      for (const to of SITES) {
        if (to !== site)
          this.net.push({ kind: 'voting', to, round: s.state.round, version: s.state.version });
      }
    }
    s.votes.set(me, decision);
    if (decision === 'accept') {
      const key = `${s.state.round}/${s.state.version}`;
      this.acknowledged.set(key, (this.acknowledged.get(key) ?? new Set()).add(me));
    }
    this.net.push({
      kind: 'report',
      round: s.state.round,
      version: s.state.version,
      votes: [[me, decision]],
    });
  }

  /** The master decides (the deadline may or may not have passed). */
  masterDecides(deadlinePassed: boolean): void {
    const m = this.sites[0] as SiteModel;
    if (m.state.phase !== 'voting') return;
    const txId = `o${m.state.round}`;
    if (this.coords.has(txId)) return;
    const submitters = [...new Set(m.photos.map((t) => this.submitter.get(t) ?? ''))];
    const { round, version } = m.state;
    let decision = decideRound(submitters, m.votes, deadlinePassed, false);
    if (decision === 'collect') {
      // The master asks every site for the votes it recorded (each answer closes the round
      // there; a site that has not caught up is asked again later), then decides with all.
      let lagging = false;
      for (const site of this.sites.slice(1)) {
        const closed = closeVoting(site.state, round, version, 0);
        if (closed.kind === 'lagging') lagging = true;
        else site.state = closed.state;
        if (site.state.round === round) for (const [p, d] of site.votes) m.votes.set(p, d);
      }
      if (lagging) return;
      decision = decideRound(submitters, m.votes, deadlinePassed, true);
    }
    if (decision === 'wait' || decision === 'collect') return;
    if (decision === 'abort' && ![...m.votes.values()].includes('reject')) {
      const closed = closeVoting(m.state, round, version, 0);
      if (closed.kind === 'closed') m.state = closed.state;
    }
    this.decided.set(round, { version, submitters });
    this.begin(txId, 0, {
      kind: 'outcome',
      outcome: { round: m.state.round, version: m.state.version, outcome: decision, decidedAt: 0 },
    });
    this.accepted.set(
      m.state.round,
      submitters.every((p) => m.votes.get(p) === 'accept') && submitters.length > 0,
    );
  }

  accepted = new Map<number, boolean>();
  /** Accepts recorded at any site, by `round/version`: the voters. */
  acknowledged = new Map<string, Set<string>>();
  /** The master's decision on each round: on which version, with which submitters. */
  decided = new Map<number, { version: number; submitters: string[] }>();

  deliver(index: number): void {
    if (this.net.length === 0) return;
    const i = index % this.net.length;
    const [m] = this.net.splice(i, 1);
    if (m) this.handle(m);
  }

  drop(index: number): void {
    if (this.net.length === 0) return;
    const i = index % this.net.length;
    const m = this.net[i];
    if (m && !reliable(m)) this.net.splice(i, 1);
  }

  /** A coordinator's time-out: photo transactions abort, the others prepare again. */
  timeout(index: number): void {
    const open = [...this.coords].filter(([, c]) => c.state === 'preparing');
    const picked = open[index % Math.max(1, open.length)];
    if (!picked) return;
    const [tx, c] = picked;
    const step = coordinatorStep(c.body.kind, IDS, c.votes, true);
    if (step === 'commit' || step === 'abort') this.decide(tx, c, step);
    else
      for (const to of SITES)
        if (c.votes.get(String(to))?.vote !== 'yes') this.net.push({ kind: 'prepare', to, tx });
  }

  crash(site: number): void {
    for (const [tx, c] of this.coords) {
      if (c.site !== site || c.state !== 'preparing') continue;
      c.votes.clear(); // votes in memory are lost
      const action = coordinatorRecovery(c.body.kind, c.state);
      if (action === 'presume-abort') this.decide(tx, c, 'abort');
      else for (const to of SITES) this.net.push({ kind: 'prepare', to, tx });
    }
  }

  private decide(tx: string, c: CoordModel, decision: Decision): void {
    c.state = decision === 'commit' ? 'committed' : 'aborted';
    for (const to of SITES) this.net.push({ kind: 'decision', to, tx, decision });
  }

  private handle(m: Message): void {
    switch (m.kind) {
      case 'prepare': {
        const s = this.sites[m.to] as SiteModel;
        const c = this.coords.get(m.tx);
        if (!c) return;
        const holds = [...s.log].some(([t, e]) => t !== m.tx && e.state === 'prepared');
        const step = participantOnPrepare(s.log.get(m.tx)?.state ?? null, () =>
          c.body.kind === 'photo'
            ? photoPrepareVote(s.state, c.body.photo, holds)
            : c.body.kind === 'outcome'
              ? outcomePrepareVote(s.state, c.body.outcome, holds)
              : { vote: 'yes' },
        );
        if (step.log) s.log.set(m.tx, { state: 'prepared', body: c.body });
        this.net.push({ kind: 'answer', to: c.site, from: m.to, tx: m.tx, vote: step.vote });
        return;
      }
      case 'answer': {
        const c = this.coords.get(m.tx);
        if (c?.state !== 'preparing') return;
        c.votes.set(String(m.from), m.vote);
        const step = coordinatorStep(c.body.kind, IDS, c.votes, false);
        if (step === 'commit' || step === 'abort') this.decide(m.tx, c, step);
        else if (step === 'reprepare') {
          c.votes.delete(String(m.from));
          this.net.push({ kind: 'prepare', to: m.from, tx: m.tx });
        }
        return;
      }
      case 'decision': {
        const s = this.sites[m.to] as SiteModel;
        const logged = s.log.get(m.tx);
        const action = participantOnDecision(logged?.state ?? null, m.decision);
        expect(action).not.toBe('violation');
        // An abort for a transaction never prepared here is remembered too (a tombstone), so
        // that a late, reordered prepare of it is refused rather than left prepared forever.
        if (action === 'log-abort') {
          const body = this.coords.get(m.tx)?.body;
          if (body) s.log.set(m.tx, { state: 'aborted', body });
        }
        if (action === 'apply-commit' && logged) {
          logged.state = 'committed';
          this.apply(s, m.tx, logged.body);
        }
        return;
      }
      case 'voting': {
        const s = this.sites[m.to] as SiteModel;
        const r = startVoting(s.state, m.round, m.version, 1);
        if (r.kind === 'started') s.state = r.state;
        if (r.kind === 'lagging') this.net.push(m); // the outbox sends it again later
        return;
      }
      case 'report': {
        // As EventService.onVoteReport: a master that has not caught up asks for it again.
        const master = this.sites[0] as SiteModel;
        const r = startVoting(master.state, m.round, m.version, 1);
        if (r.kind === 'lagging') {
          this.net.push(m);
          return;
        }
        if (r.kind === 'started') master.state = r.state;
        if (master.state.round === m.round) {
          for (const [p, d] of m.votes) if (!master.votes.has(p)) master.votes.set(p, d);
        }
        return;
      }
    }
  }

  private apply(s: SiteModel, tx: string, body: TxBody): void {
    if (body.kind === 'photo') {
      s.state = applyPhoto(body.photo);
      s.photos.push(tx);
      this.submitter.set(tx, body.photo.participantId);
      s.votes = new Map(); // a photo commits only outside voting: earlier rounds' votes
    } else if (body.kind === 'outcome') {
      s.state = applyOutcome(s.state, body.outcome);
      s.outcomes.set(body.outcome.round, body.outcome.outcome);
      s.votes = new Map();
    }
  }

  checkSafety(): void {
    const fail = (why: string): never => {
      throw new Error(`safety violated: ${why}`);
    };
    for (const a of this.sites) {
      for (const b of this.sites) {
        const n = Math.min(a.photos.length, b.photos.length);
        for (let i = 0; i < n; i++) if (a.photos[i] !== b.photos[i]) fail(`photo ${i + 1} differs`);
        for (const [round, outcome] of a.outcomes) {
          const other = b.outcomes.get(round);
          if (other !== undefined && other !== outcome)
            fail(`round ${round}: ${outcome} vs ${other}`);
        }
      }
      for (const [round, outcome] of a.outcomes) {
        if (outcome === 'publish' && this.accepted.get(round) !== true) {
          fail(`round ${round} published without every accept`);
        }
        const decided = this.decided.get(round);
        const acks = decided && this.acknowledged.get(`${round}/${decided.version}`);
        if (
          outcome === 'abort' &&
          decided &&
          decided.submitters.length > 0 &&
          decided.submitters.every((p) => acks?.has(p))
        ) {
          fail(`round ${round} aborted although every submitter's accept was acknowledged`);
        }
      }
      if (a.state.version !== a.photos.length) fail('version differs from the photos committed');
    }
  }

  /** Delivers everything (reliable messages keep coming until acknowledged). */
  drain(): void {
    for (let i = 0; this.net.length > 0 || this.openCount() > 0; i++) {
      if (i > 20_000) throw new Error('messages keep flowing: the protocol does not settle');
      // Photo coordinators time out on their own clock, whatever else is in flight (an
      // outcome re-preparing against a site that holds a doomed photo must not starve it).
      if (this.net.length === 0 || i % 20 === 19) {
        const open = [...this.coords.values()].filter((c) => c.state === 'preparing').length;
        for (let k = 0; k < open; k++) this.timeout(k);
      } else this.deliver(0);
      this.checkSafety();
    }
  }

  private openCount(): number {
    return [...this.coords.values()].filter((c) => c.state === 'preparing').length;
  }
}
