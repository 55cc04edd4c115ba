/**
 * How a node's parts are closed, in order, without anything that hangs holding the stop past a
 * supervisor's patience (Docker waits 10 s after SIGTERM, then SIGKILL). Requests still in
 * flight `CLOSE_GRACE_MS` into the stop are cut: the peer client's (a peer that stopped
 * answering would hold the replicator's and the event sender's stops for its 15 s request
 * timeout) and the server's connections (an upload from a phone that went quiet mid-body would
 * hold the server's close until its 5-minute request timeout). What is cut resumes after the
 * restart. The CLI's own limit (cli/node.command.ts) covers whatever else hangs.
 */
import type { FastifyInstance } from 'fastify';
import type { Agent } from '../http/undici-client.js';

export const CLOSE_GRACE_MS = 2_000;

export interface ClosingParts {
  /** Stops the background work and the node's parts before the HTTP server (in order). */
  readonly work: () => Promise<void>;
  readonly app: FastifyInstance;
  /** The peer client's connections. */
  readonly agent: Agent;
  /** Closes the stores, after the server: a request may still use them until then. */
  readonly stores: () => Promise<void>;
}

export async function closeNode(parts: ClosingParts, graceMs = CLOSE_GRACE_MS): Promise<void> {
  const { app, agent } = parts;
  const abandonPeerRequests = setTimeout(() => {
    void agent.destroy();
  }, graceMs);
  await parts.work();
  const cutConnections = setTimeout(() => {
    app.server.closeAllConnections();
  }, graceMs);
  await app.close();
  clearTimeout(cutConnections);
  clearTimeout(abandonPeerRequests);
  if (!agent.destroyed) await agent.close();
  await parts.stores();
}
