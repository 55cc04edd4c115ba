import type { Transaction } from 'kysely';
import type { MetadataStore } from './dialect.js';
import type { Schema } from './schema.js';

/**
 * Whether `error` aborted a transaction only because of another transaction, so that running
 * it again may succeed: PostgreSQL's deadlock_detected (40P01) and serialization_failure
 * (40001). SQLite has neither (one writer at a time).
 */
export function isTransientConflict(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  return code === '40P01' || code === '40001';
}

export interface RetryOptions {
  /** Runs in all, the first included (default 4). */
  readonly attempts?: number;
  /** The pause before a rerun is random in [0, base × 2^(rerun − 1)) ms (default 20). */
  readonly baseDelayMs?: number;
  /** Told of each aborted run before it is run again. */
  readonly onRetry?: (error: unknown, attempt: number) => void;
  readonly random?: () => number;
}

/**
 * `store.transaction(fn)`, run again when PostgreSQL aborted it for a deadlock or a
 * serialization failure, a few times, after a random pause (so that the two transactions do not
 * meet again in step). Any other error, or the last attempt's, is thrown. Only for an `fn` whose
 * every effect is inside `trx` (rolled back with it) and that may run again from the start:
 * nothing before the commit may be sent, announced or kept in memory beyond the transaction.
 */
export async function transactionWithRetry<T>(
  store: MetadataStore,
  fn: (trx: Transaction<Schema>) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 4;
  const base = options.baseDelayMs ?? 20;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.transaction(fn);
    } catch (error) {
      if (attempt >= attempts || !isTransientConflict(error)) throw error;
      options.onRetry?.(error, attempt);
      const pause = random() * base * 2 ** (attempt - 1);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
