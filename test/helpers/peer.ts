/**
 * Speaking the peer protocol from a test, as a node that holds the cluster key would: signed
 * requests (src/replication/peer-auth.ts), and the id of a running node (from its hello).
 */
import { afterAll, beforeAll } from 'vitest';
import { ANY_NODE, signRequest } from '../../src/replication/peer-auth.js';
import { TestCluster, type ClusterNode } from './cluster.js';
import { cleanup } from './node-process.js';

/** The node id the test signs as (any 16 hex digits the cluster has not used). */
export const TESTER_ID = 'fedcba9876543210';

export interface SignedRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
}

/** A signed request for node `to` (ANY_NODE only for a hello), ready to be sent anywhere. */
export function signed(
  key: string,
  to: string,
  method: 'GET' | 'POST',
  path: string,
  payload?: unknown,
  { nodeId = TESTER_ID, now = Date.now() }: { nodeId?: string; now?: number } = {},
): SignedRequest {
  const body = payload === undefined ? undefined : JSON.stringify(payload);
  const headers = signRequest(key, { method, path, nodeId, url: '', to, body: body ?? '' }, now);
  if (body !== undefined) headers['content-type'] = 'application/json';
  return { method, path, headers, body };
}

/** Sends a signed request to the node at `url`; the answer's status and parsed JSON (or text). */
export async function send(
  url: string,
  req: SignedRequest,
): Promise<{ status: number; body: unknown }> {
  const init: RequestInit = { method: req.method, headers: req.headers };
  if (req.body !== undefined) init.body = req.body;
  const res = await fetch(`${url}${req.path}`, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body };
}

/** The node id of the node at `url`, from a signed hello. */
export async function nodeIdAt(url: string, key: string): Promise<string> {
  const hello = { nodeId: TESTER_ID, name: 'tester', url: null };
  const res = await send(url, signed(key, ANY_NODE, 'POST', '/peer/hello', hello));
  const id = (res.body as { nodeId?: unknown }).nodeId;
  if (res.status !== 200 || typeof id !== 'string') {
    throw new Error(`hello to ${url}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return id;
}

/** An HLC string for `wall` ms, counter 0, issued by `node`. */
export function hlcAt(wall: number, node: string, counter = 0): string {
  return `${String(wall).padStart(16, '0')}-${counter.toString(16).padStart(4, '0')}-${node}`;
}

/** The node a file of peer-API tests speaks to, and the cluster whose key the test signs with. */
export interface PeerTarget {
  readonly cluster: TestCluster;
  /** Set once the file's tests run. */
  node: ClusterNode;
  /** The node's id, from its hello; set once the file's tests run. */
  nodeId: string;
}

/** One node started (and its id read) before the file's tests, stopped after them. */
export function usePeerTarget(): PeerTarget {
  const target = { cluster: new TestCluster() } as PeerTarget;
  beforeAll(async () => {
    await target.cluster.reserve(1);
    target.node = await target.cluster.start(0);
    target.nodeId = await nodeIdAt(target.node.node.url, target.cluster.key);
  });
  afterAll(async () => {
    await cleanup();
  });
  return target;
}
