/**
 * The fault tier's group photo events: lanes of events, each created by the organiser at a
 * random node and played by two guests who join at random nodes, add a photo each and vote on
 * the montage round after round (a reject now and then) until it publishes or the time is up;
 * then the lane's next event. Every answer goes into the history (a 500 fails the run, as for
 * pictures), and every accept answered 200 is remembered: a round in which every submitter's
 * accept was acknowledged must be the round that published.
 *
 * After the heal, `checkEvents` waits until every node shows each event alike (phase, round,
 * version, photos in order) and holds it to those rules and to the same montage bytes.
 */
import { expect } from 'vitest';
import { waitFor } from '../helpers/node-process.js';
import {
  Person,
  inviteOf,
  montageHash,
  waitAgreed,
  type EventJson,
  type EventSite,
} from '../events/events-helpers.js';
import type { FaultNode, History, Rng } from './workload.js';

const VOTING_SECONDS = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fault-tier process as the events helpers see a site. */
export function eventSite(n: FaultNode): EventSite {
  return { name: n.name, node: n.node, api: () => Promise.resolve(n.api) };
}

export interface EventReport {
  events: number;
  published: number;
  aborted: number;
  collecting: number;
  /** Rounds in which every submitter's accept was acknowledged (each must have published). */
  acknowledgedRounds: number;
}

export class EventWorkload {
  readonly events: EventJson[] = [];
  /** Accepts answered 200, by `event/round/version`: the participants' names. */
  private readonly accepted = new Map<string, Set<string>>();

  constructor(
    private readonly rng: Rng,
    private readonly history: History,
  ) {}

  /** One lane: events one after the other until `until`. */
  async lane(lane: number, nodes: readonly FaultNode[], until: number): Promise<void> {
    for (let e = 0; Date.now() < until; e++) {
      const organiser = this.rng.pick(nodes.filter((n) => n.up));
      if (!organiser) {
        await sleep(200);
        continue;
      }
      const title = `e${lane}.${e}`;
      const created = await organiser.api
        .post<EventJson>('/api/events', { title, votingSeconds: VOTING_SECONDS })
        .catch(() => null);
      this.note(organiser.name, `create ${title}`, created?.status);
      if (created?.status !== 201) {
        await sleep(300);
        continue;
      }
      this.events.push(created.body);
      await this.play(created.body, nodes, until);
    }
  }

  private note(node: string, action: string, status: number | undefined): void {
    this.history.add({ kind: 'event', node, action, status: status ?? 'error' });
  }

  private async play(event: EventJson, nodes: readonly FaultNode[], until: number) {
    const guests = [0, 1].map((g) => {
      const at = this.rng.pick(nodes) ?? nodes[0];
      return { person: new Person(`${event.title}-g${g}`, { node: at?.node ?? { url: '' } }), at };
    });
    for (const { person, at } of guests) {
      const joined = await this.retry(until, async () => {
        const res = await person.join(event, inviteOf(event));
        this.note(at?.name ?? '?', `join ${person.name}`, res.status);
        return res.status === 200;
      });
      if (!joined) return;
    }
    while (Date.now() < until) {
      for (const { person, at } of guests) {
        await this.retry(until, async () => {
          const res = await person.upload(event.id);
          this.note(at?.name ?? '?', `photo ${person.name}`, res.status);
          return res.status === 201;
        });
      }
      const first = guests[0];
      if (!first) return;
      const view = await this.view(first.person, event.id, until);
      if (!view || view.phase === 'published') return;
      const reject = this.rng.chance(0.3);
      for (const [g, { person, at }] of guests.entries()) {
        const decision = reject && g === 1 ? 'reject' : 'accept';
        const res = await person.vote(event.id, view.montageVersion, decision).catch(() => null);
        this.note(
          at?.name ?? '?',
          `${decision} ${person.name} v${view.montageVersion}`,
          res?.status,
        );
        if (res?.status === 200 && decision === 'accept') {
          const key = `${event.id}/${res.body.round}/${view.montageVersion}`;
          const names = this.accepted.get(key) ?? new Set<string>();
          names.add(person.name);
          this.accepted.set(key, names);
        }
      }
      // The round ends at its deadline, or sooner when every vote is in.
      const after = await this.retry(until, async () => {
        const e = await this.view(first.person, event.id, until);
        return e !== null && e.phase !== 'voting' ? e : null;
      });
      if (!after || after.phase === 'published') return;
    }
  }

  private async view(person: Person, id: string, until: number): Promise<EventJson | null> {
    return this.retry(until, async () => {
      const res = await person.client().get<EventJson>(`/api/events/${id}`);
      return res.status === 200 ? res.body : null;
    });
  }

  /** Calls `fn` until it gives a value (true counts) or the time is up; a throw is a retry. */
  private async retry<T>(until: number, fn: () => Promise<T | null | false>): Promise<T | null> {
    while (Date.now() < until) {
      try {
        const out = await fn();
        if (out !== null && out !== false) return out;
      } catch {
        // killed or cut: try again
      }
      await sleep(250);
    }
    return null;
  }

  /** After the heal: every node agrees on every event, under the rules above. */
  async check(nodes: readonly FaultNode[], timeoutMs: number): Promise<EventReport> {
    const sites = nodes.map(eventSite);
    const report: EventReport = {
      events: this.events.length,
      published: 0,
      aborted: 0,
      collecting: 0,
      acknowledgedRounds: 0,
    };
    for (const event of this.events) {
      const final = await waitAgreed(
        sites,
        event.id,
        (e) => e.phase !== 'voting' && e.phase !== 'creating',
        timeoutMs,
      );
      if (final.phase === 'published') report.published++;
      else if (final.phase === 'aborted') report.aborted++;
      else report.collecting++;
      if (final.montageVersion > 0) {
        const hashes = await Promise.all(
          sites.map(async (site) =>
            waitFor(async () => montageHash(await site.api(), event.id, final.montageVersion), {
              timeoutMs: 30_000,
              what: `the montage of ${event.title} at ${site.name}`,
            }),
          ),
        );
        expect(new Set(hashes).size, `montages of ${event.title}`).toBe(1);
      }
      for (const [key, names] of this.accepted) {
        const [id, round, version] = key.split('/');
        if (id !== event.id) continue;
        // Version v is the first v photos in commit order: their authors are its submitters.
        const submitters = final.photos.slice(0, Number(version)).map((p) => p.participant);
        if (submitters.some((s) => !names.has(s))) continue;
        report.acknowledgedRounds++;
        expect(
          { phase: final.phase, round: final.round, version: final.montageVersion },
          `${event.title}: round ${round} had every accept acknowledged`,
        ).toEqual({ phase: 'published', round: Number(round), version: Number(version) });
      }
    }
    return report;
  }
}
