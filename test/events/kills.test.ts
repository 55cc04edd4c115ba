/**
 * Events under real crashes at random moments (issue 14): 3 real node processes and 3 lanes of
 * events, each created at a random site (its master) and played by two guests at random sites
 * uploading and voting round after round (a reject now and then) until it publishes, then the
 * next; meanwhile a random site is SIGKILLed and restarted at random moments — not only at the
 * named crash points. The run is seeded: the seed is printed, `EVENTS_SEED=<n>` replays the
 * same choices (the timing of the machine still varies).
 *
 * Afterwards every site shows the same phase, round, version, photos and montage bytes for
 * every event, and no round in which every submitter's accept was acknowledged (HTTP 200)
 * aborted: such a round is the one that published.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, type ClusterNode } from '../helpers/cluster.js';
import { cleanup, mulberry32, waitFor } from '../helpers/node-process.js';
import {
  Person,
  inviteOf,
  montageHash,
  waitAgreed,
  waitConnected,
  type EventJson,
} from './events-helpers.js';

const SEED = Number(process.env['EVENTS_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const SITES = 3;
/** Events played at the same time (each lane starts a new one when its event publishes). */
const LANES = 3;
const CHAOS_MS = 30_000;
const VOTING_SECONDS = 4;

const random = mulberry32(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const between = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo));
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let cluster: TestCluster;
let nodes: ClusterNode[];
const down = new Set<number>();

/** Accepts acknowledged with HTTP 200, by `event/round/version`: the participants' names. */
const acknowledged = new Map<string, Set<string>>();
const log: string[] = [];

beforeAll(async () => {
  console.log(`kills.test: EVENTS_SEED=${SEED}`);
  cluster = new TestCluster({ syncIntervalMs: 500 });
  nodes = await cluster.startAll(SITES);
  await waitConnected(nodes);
}, 60_000);

afterAll(async () => {
  await cleanup();
});

/** One site at a time, killed (SIGKILL) at a random moment and restarted a little later. */
async function chaos(until: number): Promise<void> {
  while (Date.now() < until) {
    await pause(between(800, 3_000));
    const i = between(0, SITES);
    const node = nodes[i] as ClusterNode;
    log.push(`${Date.now()} kill ${node.name}`);
    down.add(i);
    await node.node.kill();
    await pause(between(200, 2_500));
    await node.node.restart();
    down.delete(i);
    log.push(`${Date.now()} restarted ${node.name}`);
  }
}

/** Calls `fn` until it answers, through the site's crashes (a refused connection throws). */
async function retrying<T>(fn: () => Promise<T>, until: number): Promise<T | null> {
  while (Date.now() < until) {
    try {
      return await fn();
    } catch {
      await pause(200);
    }
  }
  return null;
}

/** Two guests of one event, uploading and voting round after round until it publishes. */
async function play(event: EventJson, until: number): Promise<void> {
  const guests = [0, 1].map((g) => new Person(`${event.title}-g${g}`, pick(nodes)));
  const first = guests[0] as Person;
  for (const guest of guests) {
    const joined = await retrying(async () => {
      const res = await guest.join(event, inviteOf(event));
      if (res.status !== 200) throw new Error(String(res.status));
      return res;
    }, until);
    if (!joined) return;
  }
  while (Date.now() < until) {
    // Each guest adds a photo (the upload retries busy sites itself; a crash fails it).
    for (const guest of guests) {
      await retrying(async () => {
        const res = await guest.upload(event.id);
        if (res.status !== 201) throw new Error(String(res.status));
      }, until);
    }
    // Both vote on what they see; now and then one rejects.
    const view = await retrying(() => first.get(event.id), until);
    if (!view || view.phase === 'published') return;
    const reject = random() < 0.3;
    for (const [g, guest] of guests.entries()) {
      const decision = reject && g === 1 ? 'reject' : 'accept';
      const res = await guest.vote(event.id, view.montageVersion, decision).catch(() => null);
      if (res?.status === 200 && decision === 'accept') {
        const key = `${event.id}/${res.body.round}/${view.montageVersion}`;
        const names = acknowledged.get(key) ?? new Set<string>();
        names.add(guest.name);
        acknowledged.set(key, names);
      }
      log.push(`${Date.now()} ${guest.name} ${decision} v${view.montageVersion}: ${res?.status}`);
    }
    // Wait for the round to end as the first guest's site sees it.
    await retrying(async () => {
      const e = await first.get(event.id);
      if (e.phase === 'voting') throw new Error('still voting');
      return e;
    }, until);
    const now = await retrying(() => first.get(event.id), until);
    if (now?.phase === 'published') return;
  }
}

describe('events with sites SIGKILLed at random moments', () => {
  it('every site agrees on every event; no round with every accept acknowledged aborted', async () => {
    const events: EventJson[] = [];
    const until = Date.now() + CHAOS_MS;
    /** One lane: an event created at a random site, played to its end, then the next. */
    const lane = async (l: number) => {
      for (let e = 0; Date.now() < until; e++) {
        const event = await retrying(async () => {
          const master = pick(nodes);
          const res = await (
            await master.api()
          ).post<EventJson>('/api/events', { title: `k${l}.${e}`, votingSeconds: VOTING_SECONDS });
          if (res.status !== 201) throw new Error(String(res.status));
          return res.body;
        }, until);
        if (!event) return;
        events.push(event);
        await play(event, until);
      }
    };
    await Promise.all([chaos(until), ...Array.from({ length: LANES }, (_, l) => lane(l))]);
    for (const [i, node] of nodes.entries()) {
      if (down.has(i)) await node.node.restart();
    }

    const summary: string[] = [];
    for (const event of events) {
      const final = await waitAgreed(
        nodes,
        event.id,
        (e) => e.phase !== 'voting' && e.phase !== 'creating',
        60_000,
      );
      // Same montage bytes everywhere (the organiser sees every version).
      if (final.montageVersion > 0) {
        const hashes = await Promise.all(
          nodes.map(async (node) =>
            waitFor(async () => montageHash(await node.api(), event.id, final.montageVersion), {
              timeoutMs: 30_000,
              what: `the montage at ${node.name}`,
            }),
          ),
        );
        expect(new Set(hashes).size, `montages of ${event.title}`).toBe(1);
      }
      // A round where both submitters' accepts were acknowledged must be the published one.
      for (const [key, names] of acknowledged) {
        const [id, round, version] = key.split('/');
        if (id !== event.id) continue;
        // Version v is the first v photos in commit order: their authors are its submitters.
        const submitters = final.photos.slice(0, Number(version)).map((p) => p.participant);
        if (submitters.some((s) => !names.has(s))) continue;
        expect(
          { phase: final.phase, round: final.round, version: final.montageVersion },
          `${event.title}: round ${round} had every accept acknowledged (seed ${SEED})\n${log.join('\n')}`,
        ).toEqual({ phase: 'published', round: Number(round), version: Number(version) });
        summary.push(`${event.title} round ${round}: every accept acknowledged; it published`);
      }
      summary.push(
        `${event.title}: ${final.phase}, round ${final.round}, v${final.montageVersion}`,
      );
    }
    console.log(summary.join('\n'));
    console.log(
      `kills.test: seed ${SEED}, ${log.filter((l) => l.includes(' kill ')).length} kills, ` +
        `${events.length} events, ` +
        events.map((e) => e.title).join(' '),
    );
  }, 150_000);
});
