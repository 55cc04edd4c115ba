/**
 * The health check behind `/healthz`: the parts a node cannot work without (its metadata store,
 * its object store), each asked with a short timeout. The HTTP layer only renders the report;
 * the composition root says which parts there are and how each is asked.
 *
 * Probes run at most once per `cacheMs` whatever the request rate (the route is public, and a
 * load balancer asks every process every few seconds): callers in between share the last
 * report, and concurrent callers share the probe under way.
 */
import { UnavailableError } from '../core/errors.js';

export type HealthPart = 'database' | 'blobs';

export interface PartHealth {
  readonly ok: boolean;
  /** How long the probe took (or the timeout, when it did not answer). */
  readonly ms: number;
  /** Why it failed, for the operator: never a secret (no URL with a password). */
  readonly error?: string;
}

export interface HealthReport {
  readonly ok: boolean;
  readonly parts: Readonly<Partial<Record<HealthPart, PartHealth>>>;
}

/** The port the HTTP layer asks. */
export interface HealthCheck {
  check(): Promise<HealthReport>;
}

/** A probe resolves when the part answers; it is given a signal aborted at the timeout. */
export type Probe = (signal: AbortSignal) => Promise<void>;

export interface HealthCheckOptions {
  readonly timeoutMs?: number;
  readonly cacheMs?: number;
  readonly now?: () => number;
}

export const DEFAULT_HEALTH_TIMEOUT_MS = 2000;

export function healthCheck(
  probes: Readonly<Partial<Record<HealthPart, Probe>>>,
  options: HealthCheckOptions = {},
): HealthCheck {
  const timeoutMs = options.timeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
  const cacheMs = options.cacheMs ?? 1000;
  const now = options.now ?? Date.now;
  let last: { at: number; report: HealthReport } | null = null;
  let running: Promise<HealthReport> | null = null;

  const runAll = async (): Promise<HealthReport> => {
    const entries = Object.entries(probes) as [HealthPart, Probe][];
    const results = await Promise.all(
      entries.map(async ([part, probe]) => [part, await runProbe(probe, timeoutMs)] as const),
    );
    const parts = Object.fromEntries(results) as Partial<Record<HealthPart, PartHealth>>;
    return { ok: results.every(([, r]) => r.ok), parts };
  };

  return {
    check() {
      if (last !== null && now() - last.at < cacheMs) return Promise.resolve(last.report);
      running ??= runAll().then((report) => {
        last = { at: now(), report };
        running = null;
        return report;
      });
      return running;
    },
  };
}

async function runProbe(probe: Probe, timeoutMs: number): Promise<PartHealth> {
  const started = performance.now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    await Promise.race([probe(controller.signal), timeout]);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (error) {
    return {
      ok: false,
      ms: Math.round(performance.now() - started),
      error: describe(error),
    };
  } finally {
    clearTimeout(timer);
  }
}

function describe(outcome: unknown): string {
  if (!(outcome instanceof Error)) return String(outcome);
  // "Unavailable" says what a client may do; the operator wants what failed underneath.
  const error =
    outcome instanceof UnavailableError && outcome.cause instanceof Error ? outcome.cause : outcome;
  const code = (error as { code?: unknown }).code;
  const text = typeof code === 'string' && !error.message.includes(code) ? `${code}: ` : '';
  return `${text}${error.message}`.slice(0, 300);
}
