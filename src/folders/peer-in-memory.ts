/**
 * A peer that holds some contents in memory and nothing else: a stand-in for PeerClient where
 * the folder engine runs without HTTP (its unit tests through ./testing.ts, and
 * `bench:folder-cpu`'s worker). It answers single and batched content requests, never a block
 * list, and counts the files it was asked for in batches (`asked`).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ContentSource } from './content-source.js';

/** SHA-256 in hex, as contents are named. */
export const sha256Hex = (data: Buffer | string): string =>
  createHash('sha256').update(data).digest('hex');

/** A peer holding `contents` (by their SHA-256; a map is taken as already named). */
export function peerHolding(
  contents: readonly Buffer[] | ReadonlyMap<string, Buffer>,
): ContentSource & { asked: number } {
  const byHash = new Map<string, Buffer>();
  if (isMap(contents)) for (const [hash, data] of contents) byHash.set(hash, data);
  else for (const data of contents) byHash.set(sha256Hex(data), data);
  const peer = {
    asked: 0,
    baseUrl: 'http://peer.invalid',
    folderBlocks: () => Promise.resolve(null),
    folderContent: (_folder: string, hash: string, start: number) => {
      const data = byHash.get(hash);
      return Promise.resolve(data ? { body: Readable.from([data.subarray(start)]), start } : null);
    },
    folderContents: async function* (_folder: string, wanted: readonly { hash: string }[]) {
      for (const w of wanted) {
        peer.asked++;
        yield { hash: w.hash, data: byHash.get(w.hash) ?? null };
      }
      await Promise.resolve();
    },
  };
  return peer;
}

function isMap(
  contents: readonly Buffer[] | ReadonlyMap<string, Buffer>,
): contents is ReadonlyMap<string, Buffer> {
  return contents instanceof Map;
}
