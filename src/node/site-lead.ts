/**
 * Work that must run once per site — talking to peers (push, pull, discovery), fetching
 * missing bytes after a restart, the trash sweep — runs in the process that leads the site.
 * A one-process site (SQLite) always leads. Several processes on PostgreSQL elect one through
 * a lease row (LeaseKeeper): its holder leads, and when it dies the lease expires and another
 * process takes the work over within TTL + TTL/3 (4 s by default).
 */
import type { Logger } from 'pino';
import { FailureLog } from '../core/failure-log.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { LeaseKeeper } from '../storage/metadata/lease-keeper.js';
import { LeaseRepository } from '../storage/metadata/lease.repository.js';

export interface LeadWork {
  /** This process now leads: start the site's once-only work. */
  lead(): Promise<void>;
  /** It no longer does (lease lost, or the process is stopping): stop that work. */
  follow(): Promise<void>;
}

export interface SiteLead {
  /** Starts leading when this process may (at once for a site of one process). */
  start(work: LeadWork): Promise<void>;
  leads(): boolean;
  /** The lease's fencing token while this process holds it (null: not held, or no lease). */
  token(): number | null;
  /** The lease's holder id and whether it is held here (for /metrics). */
  readonly holder: string;
  close(): Promise<void>;
}

export const LEAD_LEASE = 'site-lead';

/** Leads at once and for good (a site of one process). */
export function soloLead(): SiteLead {
  let work: LeadWork | null = null;
  let leading = false;
  return {
    holder: 'solo',
    async start(w) {
      work = w;
      leading = true;
      await w.lead();
    },
    leads: () => leading,
    token: () => null,
    async close() {
      if (leading) await work?.follow();
      leading = false;
    },
  };
}

/**
 * Leads while holding the site's lease in the shared database. `beforeLead` runs each time the
 * lease is taken, before the work starts (site-settings.ts records the leader's settings there).
 */
export function leasedLead(
  store: MetadataStore,
  log: Logger,
  ttlMs?: number,
  beforeLead?: () => Promise<void>,
): SiteLead {
  let work: LeadWork | null = null;
  let leading = false;
  // Transitions in order: a lead() still starting finishes before follow() stops it.
  let transitions: Promise<void> = Promise.resolve();
  const step = (fn: () => Promise<void>) => {
    transitions = transitions.then(fn).catch((err: unknown) => {
      log.error({ err }, 'site lead transition failed');
    });
  };
  const leaseFailures = new FailureLog(log, 'site lease (database unreachable?)');
  const keeper = new LeaseKeeper(new LeaseRepository(store.db, store.dialect), {
    name: LEAD_LEASE,
    ...(ttlMs === undefined ? {} : { ttlMs }),
    onAcquired: (token) => {
      log.info({ token }, 'this process now leads the site');
      leading = true;
      step(async () => {
        await beforeLead?.().catch((err: unknown) => {
          log.warn({ err }, 'could not record this process as the leader');
        });
        await work?.lead();
      });
    },
    onLost: (token) => {
      log.warn({ token }, 'this process no longer leads the site');
      leading = false;
      step(async () => {
        await work?.follow();
      });
    },
    // Every TTL/3 while the database is out of reach: told once a minute (FailureLog).
    onError: (err) => {
      leaseFailures.failed(err);
    },
    onAnswered: () => {
      leaseFailures.succeeded();
    },
  });
  return {
    holder: keeper.holder,
    start(w) {
      work = w;
      keeper.start();
      return Promise.resolve();
    },
    leads: () => leading,
    token: () => keeper.heldToken(),
    async close() {
      await keeper.stop();
      await transitions;
    },
  };
}
