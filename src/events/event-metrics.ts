/**
 * Prometheus metrics of group photo events at one site: events by phase, the 2PC transactions
 * this site coordinated (by kind and decision, with their duration) and the outbox depth
 * (messages not yet acknowledged by another site: a growing depth means a site is unreachable).
 */
import { Gauge, Histogram, type Registry } from 'prom-client';
import type { Phase } from './core/types.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import type { EventRepository } from './event.repository.js';
import type { OutboxRepository } from './outbox.repository.js';
import type { TxCoordinator } from './two-phase.coordinator.js';

const PHASES: readonly Phase[] = ['creating', 'collecting', 'voting', 'published', 'aborted'];

export function registerEventMetrics(
  registry: Registry,
  store: MetadataStore,
  repos: { readonly repo: EventRepository; readonly outbox: OutboxRepository },
  coordinator: TxCoordinator,
): void {
  new Gauge({
    name: 'mosaic_events',
    help: 'Events held at this site, by phase',
    labelNames: ['phase'],
    registers: [registry],
    async collect() {
      const counts = await repos.repo.countByPhase(store.db);
      for (const phase of PHASES) this.set({ phase }, counts[phase] ?? 0);
    },
  });
  new Gauge({
    name: 'mosaic_event_outbox_depth',
    help: 'Event protocol messages waiting for another site to acknowledge them',
    registers: [registry],
    async collect() {
      this.set(await repos.outbox.size(store.db));
    },
  });
  const transactions = new Histogram({
    name: 'mosaic_event_2pc_seconds',
    help: 'Two-phase commit transactions coordinated here, by kind and decision: time to decide',
    labelNames: ['kind', 'decision'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  coordinator.onDecided((kind, decision, ms) => {
    transactions.observe({ kind, decision }, ms / 1000);
  });
}
