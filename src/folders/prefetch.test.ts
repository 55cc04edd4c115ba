import { describe, expect, it } from 'vitest';
import type { ContentFrame } from './content-frames.js';
import type { ContentSource } from './content-source.js';
import { prefetch } from './prefetch.js';

/** A peer that logs when a request is sent and when it is closed. */
function loggingPeer(log: string[]): ContentSource {
  return {
    baseUrl: 'http://peer.invalid',
    folderBlocks: () => Promise.resolve(null),
    folderContent: () => Promise.resolve(null),
    folderContents: async function* (_folder, wanted): AsyncGenerator<ContentFrame> {
      log.push('sent');
      try {
        for (const w of wanted) yield { hash: w.hash, data: Buffer.from(w.hash) };
      } finally {
        log.push('closed');
      }
    },
  };
}

const wanted = ['a', 'b', 'c'].map((hash) => ({ hash, size: 1 }));

describe('a batch request sent ahead', () => {
  it('is sent at once, and its frames read later are all there, in order', async () => {
    const log: string[] = [];
    const ahead = prefetch(loggingPeer(log), 'folder', wanted);
    await Promise.resolve();
    expect(log).toEqual(['sent']);
    const got: string[] = [];
    for await (const frame of ahead.frames) got.push(frame.hash);
    expect(got).toEqual(['a', 'b', 'c']);
    ahead.cancel(); // read already: nothing to close twice
    expect(log).toEqual(['sent', 'closed']);
  });

  it('is closed when cancelled unread, and when its reader stops early', async () => {
    const log: string[] = [];
    prefetch(loggingPeer(log), 'folder', wanted).cancel();
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(['sent', 'closed']);
    const second = prefetch(loggingPeer(log), 'folder', wanted);
    for await (const frame of second.frames) if (frame.hash === 'a') break;
    expect(log).toEqual(['sent', 'closed', 'sent', 'closed']);
  });
});
