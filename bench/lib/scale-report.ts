/** Figures of `bench:scale` (bench/scale.bench.ts): the types of a measured point and the report. */
import { formatTable, percentile, round } from './stats.js';

/**
 * `first`: each picture's first read at each process (the process's read cache is cold: a GET
 * to the store on S3, unless the process uploaded it); `file`: reads once every process has
 * read every picture (the steady state of a set of pictures that fits the caches).
 */
export type OpKind = 'upload' | 'first' | 'file' | 'gallery';
export const OP_KINDS: readonly OpKind[] = ['upload', 'first', 'file', 'gallery'];

/** CPU seconds of one phase, by who spent them. */
export interface Cpu {
  readonly nodes: number;
  readonly postgres: number;
  readonly swift: number;
  /** This bench process: the HTTP clients (or, for the raw S3 row, the AWS SDK). */
  readonly client: number;
  /** Share of the whole machine busy with anything else (other tenants, other agents). */
  readonly others: number;
}

export interface Phase {
  readonly ok: number;
  readonly errors: number;
  readonly firstError: string | null;
  readonly wallSec: number;
  readonly latencies: number[];
  readonly cpu: Cpu;
}

export interface Point {
  readonly label: string;
  /** 'raw': the S3 store driven straight with the AWS SDK (upload = PUT, file = GET). */
  readonly kind: 'default' | 'scaled' | 'raw';
  readonly processes: number;
  readonly phases: Partial<Record<OpKind, Phase>>;
  /** Pictures the site lists at the end vs uploads answered 201 (warm-up included). */
  readonly listed: number;
  readonly created: number;
  /** Cores the site's processes, PostgreSQL and Swift use while no request comes in. */
  readonly idleCores: number;
}

const serverCpu = (c: Cpu): number => c.nodes + c.postgres + c.swift;
const perOp = (seconds: number, ph: Phase): number => (seconds * 1000) / Math.max(1, ph.ok);
const rate = (ph: Phase): number => ph.ok / ph.wallSec;
const fixed = (x: number): string => String(round(x, 1));

function phaseRow(p: Point, kind: OpKind, ph: Phase): string[] {
  const c = ph.cpu;
  return [
    p.label,
    kind,
    fixed(rate(ph)),
    String(ph.errors),
    fixed(perOp(serverCpu(c), ph)),
    [c.nodes, c.postgres, c.swift].map((x) => fixed(perOp(x, ph))).join(' / '),
    fixed(perOp(c.client, ph)),
    String(round(serverCpu(c) / ph.wallSec, 2)),
    `${Math.round(c.others * 100)}%`,
    `${round(percentile(ph.latencies, 50), 0)} / ${round(percentile(ph.latencies, 95), 0)}`,
  ];
}

export function report(
  points: readonly Point[],
  settings: Record<string, unknown>,
  benchSec: number,
): void {
  const rows = points.flatMap((p) =>
    OP_KINDS.flatMap((kind) => {
      const ph = p.phases[kind];
      return ph ? [phaseRow(p, kind, ph)] : [];
    }),
  );
  const header = ['site', 'op', 'ops/s', 'errors', 'server CPU ms/op', 'node / pg / swift'];
  header.push('client ms/op', 'cores busy', 'others busy', 'p50 / p95 ms');
  console.log(formatTable(header, rows));

  const anchor = points.find((p) => p.kind === 'default');
  const scaled = points.filter((p) => p.kind === 'scaled');
  const ratios = scaled.flatMap((p) =>
    OP_KINDS.map((kind) => {
      const a = anchor?.phases[kind];
      const s = p.phases[kind];
      if (!a || !s) return [p.label, kind, 'n/a', 'n/a', 'n/a'];
      const cpuPerOp = (ph: Phase): number => serverCpu(ph.cpu) / Math.max(1, ph.ok);
      // The site's own processes and its database, not the object store: in a deployment the
      // store runs on machines of its own (here Swift shares the two cores).
      const siteCpuPerOp = (ph: Phase): number =>
        (ph.cpu.nodes + ph.cpu.postgres) / Math.max(1, ph.ok);
      return [
        p.label,
        kind,
        `${round(rate(s) / rate(a), 2)}x`,
        `${round(cpuPerOp(a) / cpuPerOp(s), 2)}x`,
        `${round(cpuPerOp(a) / siteCpuPerOp(s), 2)}x`,
      ];
    }),
  );
  console.log('');
  console.log(
    formatTable(
      [
        'site',
        'op',
        'throughput vs default',
        'per core vs default (target >= 0.7x)',
        'the same, store CPU left out',
      ],
      ratios,
    ),
  );
  console.log('');
  for (const kind of ['file', 'gallery'] as const) {
    const rates = scaled.map((p) => round(rate(p.phases[kind] as Phase), 1));
    const grows = rates.every((r, i) => i === 0 || r > (rates[i - 1] ?? 0));
    console.log(
      `${kind} reads/s through ${scaled.map((p) => p.processes).join(', ')} processes: ` +
        `${rates.join(', ')} (${grows ? 'grows' : 'does not grow'})`,
    );
  }
  console.log(
    `idle cores (processes + PostgreSQL + Swift, no requests): ` +
      points
        .filter((p) => p.kind !== 'raw')
        .map((p) => `${p.label} ${round(p.idleCores, 3)}`)
        .join('; '),
  );
  for (const p of points) {
    if (p.kind !== 'raw' && p.listed !== p.created) {
      console.log(`${p.label}: LOST uploads: ${p.created} answered 201, ${p.listed} listed`);
    }
    for (const kind of OP_KINDS) {
      const ph = p.phases[kind];
      if (ph?.firstError != null) {
        console.log(`${p.label} ${kind}: ${ph.errors} errors, first: ${ph.firstError}`);
      }
    }
  }
  console.log(
    JSON.stringify({
      bench: 'scale',
      ...settings,
      seconds: round(benchSec, 0),
      points: points.map((p) => ({
        site: p.label,
        processes: p.processes,
        created: p.created,
        listed: p.listed,
        idleCores: round(p.idleCores, 3),
        ...Object.fromEntries(
          OP_KINDS.flatMap((kind) => {
            const ph = p.phases[kind];
            if (!ph) return [];
            const c = ph.cpu;
            const ms = (x: number): number => round(perOp(x, ph), 2);
            return [
              [
                kind,
                {
                  perSec: round(rate(ph), 1),
                  ok: ph.ok,
                  errors: ph.errors,
                  cpuMsPerOp: {
                    node: ms(c.nodes),
                    postgres: ms(c.postgres),
                    swift: ms(c.swift),
                    client: ms(c.client),
                  },
                  others: round(c.others, 2),
                  p50: round(percentile(ph.latencies, 50), 0),
                  p95: round(percentile(ph.latencies, 95), 0),
                },
              ],
            ];
          }),
        ),
      })),
    }),
  );
}
