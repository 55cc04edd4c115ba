import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Agent } from '../http/undici-client.js';
import { Faults } from '../faults/faults.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { EventSender } from './event-sender.js';
import type { OutboxRepository, OutboxRow } from './outbox.repository.js';

/** An outbox that only counts how often it is looked at, and holds what a test puts in it. */
function countingOutbox() {
  const state = { looks: 0, rows: [] as OutboxRow[] };
  const outbox = {
    due: () => {
      state.looks++;
      return Promise.resolve(state.rows.splice(0));
    },
    acked: () => Promise.resolve(),
    retryLater: () => Promise.resolve(),
  } as unknown as OutboxRepository;
  return { state, outbox };
}

describe('the event outbox loop', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('looks every 100 ms while busy and once a second when idle', async () => {
    const { state, outbox } = countingOutbox();
    const sender = new EventSender({
      key: null,
      self: () => ({ id: 'a', name: 'a', url: 'http://127.0.0.1:1' }),
      agent: {} as unknown as Agent,
      faults: Faults.none(),
      store: { db: {} } as unknown as MetadataStore,
      outbox,
      log: pino({ level: 'silent' }),
    });
    sender.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(state.looks).toBe(10);
    // Idle now: one look a second, not ten.
    const before = state.looks;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(state.looks - before).toBeLessThanOrEqual(6);
    expect(state.looks - before).toBeGreaterThanOrEqual(4);
    // A message that fails to go (nobody listens there): looked at every 100 ms again.
    state.rows.push({
      id: 1,
      site: { id: 'b', name: 'b', url: 'http://127.0.0.1:1' },
      path: '/peer/events/x',
      body: '{}',
      attempts: 0,
    } as unknown as OutboxRow);
    await vi.advanceTimersByTimeAsync(1_000);
    const busyAgain = state.looks;
    await vi.advanceTimersByTimeAsync(500);
    expect(state.looks - busyAgain).toBeGreaterThanOrEqual(4);
    await sender.stop();
    const stopped = state.looks;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(state.looks).toBe(stopped);
  });
});
