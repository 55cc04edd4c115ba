/**
 * Runs the `mosaic node` children of `mosaic cluster` and stops them together: forwards their
 * output, tells when every one is listening, and on SIGINT/SIGTERM or an unexpected exit stops
 * the others (SIGTERM, then SIGKILL after a grace period) and waits until all have exited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import {
  formatChildLine,
  listeningUrl,
  parseChildLine,
  type LogLevel,
  type NodePlan,
} from './cluster.plan.js';
import { NODE_FLAGS, nodeRuntimeEnv } from './runtime-env.js';

// The memory settings of every node process (see there); re-exported for the benches.
export { nodeRuntimeEnv } from './runtime-env.js';

export interface SuperviseOptions {
  /** The node executable and the script before each plan's args (process.execPath, bin). */
  readonly command: string;
  readonly script: string;
  readonly env: NodeJS.ProcessEnv;
  /** Forwarded JSON log lines below this level are dropped. */
  readonly logLevel: LogLevel;
  /** Called once, when every node logged "node listening"; gets the URLs in plan order. */
  readonly onReady: (urls: readonly string[]) => void;
  /** Messages of the cluster itself (stopping, a child that died). */
  readonly say: (line: string) => void;
  readonly startTimeoutMs?: number;
  readonly stopTimeoutMs?: number;
}

/** How the cluster ended: stopped by a signal, or failed (a child died or never listened). */
export type ClusterOutcome =
  | { readonly kind: 'stopped'; readonly signal: NodeJS.Signals }
  | { readonly kind: 'failed'; readonly reason: string; readonly wasReady: boolean };

interface Child {
  readonly plan: NodePlan;
  readonly process: ChildProcess;
  url: string | undefined;
  closed: boolean;
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
const QUIETER_WHEN_STOPPING = new Set<LogLevel>(['warn', 'info']);
const EXPECTED_SIGNALS = new Set<NodeJS.Signals>([...SIGNALS, 'SIGKILL']);

export function superviseNodes(
  plans: readonly NodePlan[],
  options: SuperviseOptions,
): Promise<ClusterOutcome> {
  const { startTimeoutMs = 60_000, stopTimeoutMs = 10_000 } = options;
  return new Promise((resolve) => {
    let outcome: ClusterOutcome | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let ready = false;

    const alive = () => children.filter((c) => !c.closed);

    // While stopping, the nodes lose each other: their warnings ("peer down") are expected then.
    const threshold = (): LogLevel =>
      outcome !== undefined && QUIETER_WHEN_STOPPING.has(options.logLevel)
        ? 'error'
        : options.logLevel;

    /** Starts stopping everyone (once); the first reason wins. */
    const stop = (why: ClusterOutcome) => {
      if (outcome !== undefined) return;
      outcome = why;
      clearTimeout(startTimer);
      const running = alive();
      if (running.length > 0) {
        options.say(`Stopping ${running.length} node${running.length === 1 ? '' : 's'}...`);
      }
      for (const child of running) child.process.kill('SIGTERM');
      killTimer = setTimeout(() => {
        killAll(`did not stop within ${stopTimeoutMs / 1000} s`);
      }, stopTimeoutMs);
      finishIfDone();
    };

    const killAll = (why: string) => {
      for (const child of alive()) {
        options.say(`${child.plan.name} ${why}: killing it.`);
        child.process.kill('SIGKILL');
      }
    };

    const onSignal = (signal: NodeJS.Signals) => {
      // A second Ctrl-C means "now": no more waiting for a clean shutdown.
      if (outcome !== undefined) killAll('was still running at the second signal');
      else stop({ kind: 'stopped', signal });
    };

    const finishIfDone = () => {
      if (outcome === undefined || alive().length > 0) return;
      clearTimeout(killTimer);
      for (const signal of SIGNALS) process.off(signal, onSignal);
      resolve(outcome);
    };

    const onClosed = (child: Child, code: number | null, signal: NodeJS.Signals | null) => {
      if (child.closed) return;
      child.closed = true;
      const how = signal === null ? `with code ${code}` : `by ${signal}`;
      if (outcome === undefined) {
        const reason = `${child.plan.name} exited unexpectedly (${how}).`;
        options.say(reason);
        stop({ kind: 'failed', reason, wasReady: ready });
      } else if (signal === null ? code !== 0 : !EXPECTED_SIGNALS.has(signal)) {
        // While stopping, only a failed shutdown or a crash is news (SIGKILL was announced).
        options.say(`${child.plan.name} exited ${how}.`);
      }
      finishIfDone();
    };

    const onListening = (child: Child, url: string) => {
      if (child.url !== undefined || outcome !== undefined) return;
      child.url = url;
      if (children.every((c) => c.url !== undefined)) {
        clearTimeout(startTimer);
        ready = true;
        options.onReady(children.map((c) => c.url ?? c.plan.url));
      }
    };

    for (const signal of SIGNALS) process.on(signal, onSignal);

    const children: Child[] = plans.map((plan) => {
      const child: Child = {
        plan,
        // With its memory flags already, so that bin/mosaic.js need not re-execute the node to
        // add them (~20 ms of start-up CPU: docs/benchmarks.md, "Start-up, profiled").
        process: spawn(options.command, [...NODE_FLAGS, options.script, ...plan.args], {
          env: nodeRuntimeEnv(options.env),
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
        url: undefined,
        closed: false,
      };
      forward(child, 'stdout', threshold, (url) => {
        onListening(child, url);
      });
      forward(child, 'stderr', threshold, () => undefined);
      // 'close' comes after the output is drained, so a dying node's last words are shown.
      child.process.once('close', (code, signal) => {
        onClosed(child, code, signal);
      });
      child.process.once('error', (error) => {
        // Spawning failed: no 'close' will follow.
        if (child.process.pid === undefined) {
          options.say(`${plan.name} could not be started: ${error.message}`);
          onClosed(child, null, null);
        }
      });
      return child;
    });

    const startTimer = setTimeout(() => {
      const late = children.filter((c) => c.url === undefined).map((c) => c.plan.name);
      stop({
        kind: 'failed',
        wasReady: false,
        reason: `${late.join(', ')} did not start listening within ${startTimeoutMs / 1000} s.`,
      });
    }, startTimeoutMs);
  });
}

function forward(
  child: Child,
  stream: 'stdout' | 'stderr',
  threshold: () => LogLevel,
  onListening: (url: string) => void,
): void {
  const input = child.process[stream];
  if (input === null) return;
  const output = stream === 'stdout' ? process.stdout : process.stderr;
  createInterface({ input, crlfDelay: Infinity }).on('line', (raw) => {
    const line = parseChildLine(raw);
    if (line === undefined) return;
    const text = formatChildLine(child.plan.name, line, threshold());
    if (text !== undefined) output.write(`${text}\n`);
    // After the line itself, so that the banner comes after every "node listening".
    const url = listeningUrl(line);
    if (url !== undefined) onListening(url);
  });
}
