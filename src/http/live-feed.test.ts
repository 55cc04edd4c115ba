import { describe, expect, test } from 'vitest';
import type { Op, OpBody } from '../oplog/op.js';
import { LiveFeed, pictureIds, type LiveMessage } from './live-feed.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
let seq = 0;
const op = (body: OpBody): Op => ({ origin: 'n1', seq: ++seq, hlc: String(seq), body });

describe('pictureIds', () => {
  test('keeps picture operations, once per picture, in order', () => {
    const ops = [
      op({ kind: 'picture.update', id: B, title: 't' }),
      op({ kind: 'user.put', username: 'u' } as unknown as OpBody),
      op({ kind: 'picture.delete', id: A }),
      op({ kind: 'picture.update', id: B, category: 'c' }),
    ];
    expect(pictureIds(ops)).toEqual([B, A]);
  });
});

describe('LiveFeed', () => {
  test('tells every subscriber of picture changes, nothing of the rest, and lets go', () => {
    const feed = new LiveFeed();
    const heard: LiveMessage[] = [];
    const off = feed.subscribe((m) => heard.push(m));
    feed.onOps([op({ kind: 'user.put', username: 'u' } as unknown as OpBody)]);
    feed.onOps([op({ kind: 'picture.delete', id: A })]);
    expect(heard).toEqual([{ type: 'pictures', ids: [A] }]);
    expect(feed.subscribers).toBe(1);
    off();
    feed.publish({ type: 'pictures', ids: [B] });
    expect(heard).toHaveLength(1);
    expect(feed.subscribers).toBe(0);
  });
});
