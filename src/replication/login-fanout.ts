/**
 * Carries sign-in outcomes (LoginLimiter events) to the other nodes, so that per-account and
 * per-address back-off is cluster-wide. Best effort and deliberately *not* in the op log: the
 * events are short-lived (forgotten after an hour) and a flood of guesses must not grow the
 * permanent log. Events are batched (every 200 ms) and sent signed to every peer that is up
 * (`POST /peer/auth/events`); a peer that is down misses them, which only lets it count fewer.
 */
import { z } from 'zod';
import type { Logger } from 'pino';
import type { LoginEvent, LoginLimiter } from '../accounts/login-limiter.js';
import type { PeerClient } from './peer-client.js';

export const MAX_EVENTS_PER_MESSAGE = 1000;
const MAX_BUFFERED = 10_000;
const FLUSH_MS = 200;

export const LoginEventsRequest = z.strictObject({
  events: z
    .array(
      z.strictObject({
        scope: z.enum(['account', 'address']),
        key: z.string().min(1).max(128),
        at: z.number().int().nonnegative(),
        outcome: z.enum(['failure', 'success']),
      }),
    )
    .max(MAX_EVENTS_PER_MESSAGE),
});
export const LoginEventsResponse = z.strictObject({ received: z.number().int() });

export class LoginFanout {
  private buffer: LoginEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly stopListening: () => void;

  constructor(
    limiter: LoginLimiter,
    private readonly peers: () => PeerClient[],
    private readonly log: Logger,
  ) {
    this.stopListening = limiter.onEvents((events) => {
      this.buffer.push(...events);
      if (this.buffer.length > MAX_BUFFERED)
        this.buffer.splice(0, this.buffer.length - MAX_BUFFERED);
      this.timer ??= setTimeout(() => {
        this.flush();
      }, FLUSH_MS);
    });
  }

  stop(): void {
    this.stopListening();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private flush(): void {
    this.timer = null;
    const events = this.buffer.splice(0, MAX_EVENTS_PER_MESSAGE);
    if (this.buffer.length > 0) {
      this.timer = setTimeout(() => {
        this.flush();
      }, FLUSH_MS);
    }
    for (const peer of this.peers()) {
      peer.loginEvents(events).catch((err: unknown) => {
        this.log.debug({ err, peer: peer.baseUrl }, 'sign-in events not delivered');
      });
    }
  }
}
