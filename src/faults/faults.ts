/**
 * Fault injection for tests, inert unless MOSAIC_FAULTS is set. The value is either inline JSON
 * or `@/path/to/file.json`; a file is re-read when it changes, so a test can cut and heal links
 * while the node runs.
 *
 *   {
 *     "blockPeers": ["<node id or name>", ...],  // no peer traffic with these, either way
 *     "dropPeerMessages": 0.2,                   // drop this share of outgoing peer requests
 *     "delayPeerMs": 50,                         // delay outgoing peer requests
 *     "throttleBlobKBps": 500,                   // serve blobs to peers at most this fast
 *     "throttleUploadKBps": 500,                 // receive device uploads at most this fast
 *     "crashAt": ["<named point>", ...]          // exit abruptly (SIGKILL) on reaching one
 *   }
 *
 * Named crash points of group photo events (two-phase commit, docs/events.md) are listed in
 * EVENT_CRASH_POINTS.
 */
import { readFileSync, statSync } from 'node:fs';
import { Transform } from 'node:stream';
import { z } from 'zod';

/** Where the event protocol can be made to crash (`crashAt`), in the order the steps happen. */
export const EVENT_CRASH_POINTS = [
  'coordinator.after-log-prepare',
  'coordinator.after-votes',
  'coordinator.after-log-decision',
  'coordinator.after-send-decision-some',
  'participant.after-log-prepared',
  'participant.after-log-commit',
] as const;

export type EventCrashPoint = (typeof EVENT_CRASH_POINTS)[number];

const FaultSpecSchema = z.strictObject({
  blockPeers: z.array(z.string()).default([]),
  dropPeerMessages: z.number().min(0).max(1).default(0),
  delayPeerMs: z.number().int().min(0).default(0),
  throttleBlobKBps: z.number().int().min(0).default(0),
  throttleUploadKBps: z.number().int().min(0).default(0),
  crashAt: z.array(z.string()).default([]),
});

export type FaultSpec = z.infer<typeof FaultSpecSchema>;

const NONE: FaultSpec = {
  blockPeers: [],
  dropPeerMessages: 0,
  delayPeerMs: 0,
  throttleBlobKBps: 0,
  throttleUploadKBps: 0,
  crashAt: [],
};

export class Faults {
  private cached: { mtimeMs: number; spec: FaultSpec } | null = null;

  private constructor(private readonly source: { inline: FaultSpec } | { file: string } | null) {}

  static none(): Faults {
    return new Faults(null);
  }

  static fromEnv(env: NodeJS.ProcessEnv): Faults {
    const raw = env['MOSAIC_FAULTS'];
    if (raw === undefined || raw.trim() === '') return Faults.none();
    if (raw.startsWith('@')) return new Faults({ file: raw.slice(1) });
    return new Faults({ inline: FaultSpecSchema.parse(JSON.parse(raw)) });
  }

  get active(): boolean {
    return this.source !== null;
  }

  spec(): FaultSpec {
    if (this.source === null) return NONE;
    if ('inline' in this.source) return this.source.inline;
    try {
      const { mtimeMs } = statSync(this.source.file);
      if (this.cached?.mtimeMs !== mtimeMs) {
        const spec = FaultSpecSchema.parse(JSON.parse(readFileSync(this.source.file, 'utf8')));
        this.cached = { mtimeMs, spec };
      }
      return this.cached.spec;
    } catch {
      return NONE; // no file (yet) or a file being written: no faults
    }
  }

  /** Whether traffic with this peer (by node id or name) is cut. */
  isBlocked(...peer: (string | null | undefined)[]): boolean {
    if (this.source === null) return false;
    const blocked = this.spec().blockPeers;
    return peer.some((p) => p != null && blocked.includes(p));
  }

  /** Exits the process at once, like a power cut, when `point` is configured. */
  crashPoint(point: string): void {
    if (this.source === null || !this.spec().crashAt.includes(point)) return;
    process.stderr.write(`MOSAIC_FAULTS: crashing at ${point}\n`);
    process.kill(process.pid, 'SIGKILL');
  }

  /** A stream that passes bytes at the configured blob throttle, or null when there is none. */
  blobThrottle(): Transform | null {
    return throttle(this.source === null ? 0 : this.spec().throttleBlobKBps);
  }

  /** The same for bytes uploaded by devices, as the node receives them. */
  uploadThrottle(): Transform | null {
    return throttle(this.source === null ? 0 : this.spec().throttleUploadKBps);
  }

  /** Applies drop and delay faults to an outgoing peer message; false means drop it. */
  async beforePeerSend(): Promise<boolean> {
    if (this.source === null) return true;
    const { dropPeerMessages, delayPeerMs } = this.spec();
    if (delayPeerMs > 0) await new Promise((r) => setTimeout(r, delayPeerMs));
    return Math.random() >= dropPeerMessages;
  }
}

function throttle(kbps: number): Transform | null {
  if (kbps === 0) return null;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      setTimeout(
        () => {
          done(null, chunk);
        },
        (chunk.length / (kbps * 1024)) * 1000,
      );
    },
  });
}
