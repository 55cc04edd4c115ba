/**
 * The upload bench's client (bench/upload.bench.ts): uploads over real HTTP to a node, timed one
 * by one, in runs at a given concurrency, with the CPU the node, this process and the rest of
 * the machine used during each run (from /proc).
 */
import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import { machineCpuSeconds, treeCpuSeconds } from './cpu.js';
import { runPool, sum } from './stats.js';

export interface Api {
  readonly url: string;
  readonly cookie: string;
}

export interface Run {
  readonly uploads: number;
  readonly bytes: number;
  readonly wallMs: number;
  readonly latencies: number[];
  readonly cpu: CpuUse | null;
}

/** CPU seconds so far, from /proc (Linux): the machine's, this bench's and the node's. */
export interface CpuSample {
  readonly busy: number;
  readonly total: number;
  readonly self: number;
  readonly node: number;
}

export interface CpuUse {
  /** CPU seconds the node process used. */
  readonly nodeSec: number;
  /** CPU seconds this bench process (the HTTP client) used. */
  readonly clientSec: number;
  /** Share of the whole machine (all cores) busy with anything else: other processes, steal. */
  readonly others: number;
}

/** `nodePid` null: no node running (its share is then 0). */
export async function sampleCpu(nodePid: number | null): Promise<CpuSample | null> {
  try {
    const { busy, total } = await machineCpuSeconds();
    const own = process.cpuUsage();
    const [node = 0] = nodePid === null ? [] : await treeCpuSeconds([nodePid]);
    return { busy, total, self: (own.user + own.system) / 1e6, node };
  } catch {
    return null;
  }
}

export function cpuUse(a: CpuSample | null, b: CpuSample | null): CpuUse | null {
  if (!a || !b || b.total <= a.total) return null;
  const node = b.node - a.node;
  const self = b.self - a.self;
  return {
    nodeSec: node,
    clientSec: self,
    others: Math.max(0, b.busy - a.busy - node - self) / (b.total - a.total),
  };
}

/** One upload; returns its duration in ms (request start to the whole answer read). */
async function upload(api: Api, file: string, title: string): Promise<number> {
  const form = new FormData();
  form.append('title', title);
  form.append('file', await openAsBlob(file, { type: 'image/jpeg' }), basename(file));
  const t0 = performance.now();
  const res = await fetch(`${api.url}/api/pictures`, {
    method: 'POST',
    headers: { cookie: api.cookie },
    body: form,
  });
  const body = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 201) {
    throw new Error(`Upload of ${basename(file)}: HTTP ${res.status} ${body.slice(0, 300)}`);
  }
  return ms;
}

/** Uploads `files` with `concurrency` requests at a time, and what it cost. */
export async function uploadRun(
  api: Api,
  pid: number | null,
  files: readonly { path: string; size: number }[],
  concurrency: number,
): Promise<Run> {
  const before = await sampleCpu(pid);
  const { wallMs, latencies } = await runPool(files, concurrency, (f) =>
    upload(api, f.path, basename(f.path)),
  );
  const cpu = cpuUse(before, await sampleCpu(pid));
  return { uploads: files.length, bytes: sum(files.map((f) => f.size)), wallMs, latencies, cpu };
}
