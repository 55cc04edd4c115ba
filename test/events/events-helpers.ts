/**
 * Helpers for the events tier: an Event as the API returns it, clients for participants (an
 * anonymous cookie jar per person), and checks of the cross-site invariants.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect } from 'vitest';
import { TestCluster, type ClusterNode } from '../helpers/cluster.js';
import {
  api,
  cleanup,
  makeImage,
  toApiResponse,
  waitFor,
  type Api,
  type ApiResponse,
} from '../helpers/node-process.js';

export interface EventJson {
  id: string;
  title: string;
  origin: string;
  phase: 'creating' | 'collecting' | 'voting' | 'published' | 'aborted';
  round: number;
  montageVersion: number;
  photos: { id: string; participant: string; site: string; addedAt: string }[];
  participants: { id: string; name: string; site: string; submitted: boolean; voted: boolean }[];
  deadline: string | null;
  votes: { cast: number; needed: number };
  votingSeconds: number;
  maxParticipants: number;
  inviteUrl: string | null;
  publishedAt: string | null;
  sites: { name: string; state: 'ready' | 'waiting'; since: string | null }[];
  me: { role: string; name: string | null; submitted: boolean; voted: boolean };
}

let seed = 5000;

/**
 * What these helpers need of a site: a test cluster's node (`ClusterNode`), or a process of the
 * fault tier (test/fault/events-workload.ts).
 */
export interface EventSite {
  readonly name: string;
  readonly node: { readonly url: string };
  /** An admin API client. */
  api(): Promise<Api>;
}

export type ThreeSites = readonly [ClusterNode, ClusterNode, ClusterNode];

/**
 * Three sites shared by one test file's cases (each case makes its own event): started and
 * connected to each other before the file's tests, stopped after them. `n` is the cluster's
 * own node list, so it holds the three nodes from the first test on.
 */
export function useThreeSites(): { readonly cluster: TestCluster; readonly n: ThreeSites } {
  const cluster = new TestCluster({ syncIntervalMs: 500 });
  beforeAll(async () => {
    await cluster.startAll(3);
    await waitConnected(cluster.nodes);
  });
  afterAll(async () => {
    await cleanup();
  });
  return { cluster, n: cluster.nodes as unknown as ThreeSites };
}

/** Waits until a node knows every other node by id (an event's sites are fixed at creation). */
export async function waitConnected(nodes: readonly ClusterNode[]): Promise<void> {
  for (const node of nodes) {
    const client = await node.api();
    await waitFor(
      async () => {
        const res = await client.get<{ peers: { id: string | null; state: string }[] }>(
          '/api/cluster',
        );
        return (
          res.body.peers.filter((p) => p.id !== null && p.state === 'up').length >= nodes.length - 1
        );
      },
      { timeoutMs: 30_000, intervalMs: 100, what: `${node.name} connected to every peer` },
    );
  }
}

export async function createEvent(
  node: ClusterNode,
  body: Record<string, unknown>,
): Promise<EventJson> {
  const res = await (await node.api()).post<EventJson>('/api/events', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** A person who joins at one site with the invite; their cookie identifies them there. */
export class Person {
  private cookie = '';
  constructor(
    readonly name: string,
    readonly node: Pick<EventSite, 'node'>,
  ) {}

  client(): Api {
    return api(this.node.node.url, this.cookie);
  }

  async join(event: EventJson, invite: string): Promise<ApiResponse<EventJson>> {
    const res = await fetch(`${this.node.node.url}/api/events/${event.id}/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: this.cookie },
      body: JSON.stringify({ invite, name: this.name }),
    });
    const set = res.headers.getSetCookie().map((c) => c.split(';')[0] ?? '');
    const mine = set.find((c) => c.startsWith('mosaic_participant='));
    if (mine) this.cookie = mine;
    return toApiResponse<EventJson>(res);
  }

  async upload(eventId: string, file?: Buffer): Promise<ApiResponse<EventJson>> {
    const form = new FormData();
    form.append(
      'file',
      new Blob([file ?? (await makeImage({ seed: seed++, format: 'jpeg' }))]),
      'p.jpg',
    );
    return toApiResponse<EventJson>(
      await this.client().fetch(`/api/events/${eventId}/photos`, { method: 'POST', body: form }),
    );
  }

  vote(
    eventId: string,
    montageVersion: number,
    decision: 'accept' | 'reject',
  ): Promise<ApiResponse<EventJson>> {
    return this.client().post<EventJson>(`/api/events/${eventId}/votes`, {
      montageVersion,
      decision,
    });
  }

  async get(eventId: string): Promise<EventJson> {
    const res = await this.client().get<EventJson>(`/api/events/${eventId}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }
}

export function inviteOf(event: EventJson): string {
  const url = new URL(event.inviteUrl ?? '');
  return url.searchParams.get('invite') ?? '';
}

/** The event as the organiser (admin) sees it at a node. */
export async function eventAt(node: EventSite, id: string): Promise<EventJson> {
  const res = await (await node.api()).get<EventJson>(`/api/events/${id}`);
  if (res.status !== 200)
    throw new Error(`${node.name}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** What every site must agree on. */
function agreed(e: EventJson): string {
  return JSON.stringify([
    e.phase,
    e.round,
    e.montageVersion,
    e.photos.map((p) => [p.id, p.participant, p.site]),
  ]);
}

/**
 * Waits until every node shows the same phase, round, version and photos (in the same order),
 * and `expect` holds; fails with the last difference seen.
 */
export async function waitAgreed(
  nodes: readonly EventSite[],
  id: string,
  expectation: (e: EventJson) => boolean = () => true,
  timeoutMs = 40_000,
): Promise<EventJson> {
  let last = '';
  try {
    return await waitFor(
      async () => {
        const all = await Promise.all(
          nodes.map((n) => eventAt(n, id).catch((e: unknown) => String(e))),
        );
        const views = all.map((v) => (typeof v === 'string' ? v : agreed(v)));
        last = nodes.map((n, i) => `${n.name}: ${views[i] ?? ''}`).join('\n');
        const first = all[0];
        if (typeof first === 'string' || first === undefined) return false;
        if (!views.every((v) => v === views[0])) return false;
        return expectation(first) ? first : false;
      },
      { timeoutMs, intervalMs: 100, what: 'every site agreeing on the event' },
    );
  } catch {
    throw new Error(`Sites did not agree on event ${id}:\n${last}`);
  }
}

/** The montage bytes' SHA-256 at a node, through a client (null when refused). */
export async function montageHash(
  client: Api,
  id: string,
  version?: number,
): Promise<string | null> {
  const q = version === undefined ? '' : `?version=${version}`;
  const res = await client.fetch(`/api/events/${id}/montage${q}`);
  if (res.status !== 200) return null;
  expect(res.headers.get('content-type')).toBe('image/jpeg');
  return createHash('sha256')
    .update(Buffer.from(await res.arrayBuffer()))
    .digest('hex');
}
