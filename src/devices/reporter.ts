/**
 * What `mosaic sync` tells a person: on a terminal, a progress bar for large transfers (stderr)
 * and one summary line per sync (stdout); otherwise quiet JSON log lines (pino), one per sync.
 */
import type { Logger } from 'pino';

export interface SyncSummary {
  readonly sent: { ops: number; files: number; bytes: number };
  readonly received: { ops: number; files: number; bytes: number };
  readonly inSync: boolean;
}

export interface Reporter {
  progress(direction: 'up' | 'down', label: string, done: number, total: number): void;
  summary(summary: SyncSummary): void;
  /** A problem worth telling (server unreachable, ...). */
  warn(message: string, detail?: Record<string, unknown>): void;
}

export function jsonReporter(log: Logger): Reporter {
  return {
    progress: () => undefined,
    summary: (s) => {
      log.info(s, 'synced');
    },
    warn: (message, detail) => {
      log.warn(detail ?? {}, message);
    },
  };
}

export function terminalReporter(
  out: NodeJS.WriteStream = process.stdout,
  err: NodeJS.WriteStream = process.stderr,
): Reporter {
  let lastDraw = 0;
  let drawing = false;
  const endBar = () => {
    if (drawing) err.write('\n');
    drawing = false;
  };
  return {
    progress(direction, label, done, total) {
      const now = Date.now();
      if (done < total && now - lastDraw < 100) return;
      lastDraw = now;
      const width = 30;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
      const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
      err.write(
        `\r${direction === 'up' ? '↑' : '↓'} ${label.length > 40 ? `…${label.slice(-39)}` : label} [${bar}] ${String(pct).padStart(3)}% ${formatBytes(done)}/${formatBytes(total)}  `,
      );
      drawing = true;
      if (done >= total) endBar();
    },
    summary(s) {
      endBar();
      const time = new Date().toTimeString().slice(0, 8);
      out.write(
        `${time} synced: sent ${s.sent.ops} changes (${s.sent.files} files, ${formatBytes(s.sent.bytes)}), ` +
          `received ${s.received.ops} changes (${s.received.files} files, ${formatBytes(s.received.bytes)})` +
          `${s.inSync ? ' — in sync' : ' — not in sync yet'}\n`,
      );
    },
    warn(message) {
      endBar();
      err.write(`${message}\n`);
    },
  };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i] ?? 'TiB'}`;
}
