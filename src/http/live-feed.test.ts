import { describe, expect, test } from 'vitest';
import type { Op, OpBody } from '../oplog/op.js';
import { albumIds, LiveFeed, pictureIds, type LiveMessage } from './live-feed.js';

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

describe('albumIds', () => {
  test('keeps album operations, once per album, in order', () => {
    const ops = [
      op({ kind: 'album.add', id: 'x1', pictures: [A] }),
      op({ kind: 'picture.delete', id: A }),
      op({ kind: 'album.update', id: 'x2', name: 'n' }),
      op({ kind: 'album.remove', id: 'x1', pictures: [A] }),
      op({ kind: 'album.delete', id: 'x3' }),
    ];
    expect(albumIds(ops)).toEqual(['x1', 'x2', 'x3']);
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

  test('tells of album changes apart from picture ones', () => {
    const feed = new LiveFeed();
    const heard: LiveMessage[] = [];
    feed.subscribe((m) => heard.push(m));
    feed.onOps([
      op({ kind: 'picture.delete', id: A }),
      op({ kind: 'album.add', id: 'x1', pictures: [B] }),
    ]);
    expect(heard).toEqual([
      { type: 'pictures', ids: [A] },
      { type: 'albums', ids: ['x1'] },
    ]);
  });

  test('names the albums holding changed pictures, after the pictures, less those told already', async () => {
    const asked: string[][] = [];
    const feed = new LiveFeed({
      albumsHolding: (ids) => {
        asked.push([...ids]);
        return Promise.resolve(ids.includes(A) ? ['x1', 'x2'] : []);
      },
    });
    // Nobody listens: no lookup.
    await feed.pictures([A]);
    expect(asked).toEqual([]);
    const heard: LiveMessage[] = [];
    feed.subscribe((m) => heard.push(m));
    await feed.pictures([A]);
    await feed.pictures([B]);
    expect(heard).toEqual([
      { type: 'pictures', ids: [A] },
      { type: 'albums', ids: ['x1', 'x2'] },
      { type: 'pictures', ids: [B] },
    ]);
    // An album the operations name already is not named twice.
    heard.length = 0;
    feed.onOps([
      op({ kind: 'picture.update', id: A, title: 't' }),
      op({ kind: 'album.update', id: 'x1', name: 'n' }),
    ]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(heard).toEqual([
      { type: 'pictures', ids: [A] },
      { type: 'albums', ids: ['x1'] },
      { type: 'albums', ids: ['x2'] },
    ]);
  });

  test('a failed lookup is reported and the pictures are still told', async () => {
    const errors: unknown[] = [];
    const feed = new LiveFeed({
      albumsHolding: () => Promise.reject(new Error('store down')),
      onError: (err) => errors.push(err),
    });
    const heard: LiveMessage[] = [];
    feed.subscribe((m) => heard.push(m));
    await feed.pictures([A]);
    expect(heard).toEqual([{ type: 'pictures', ids: [A] }]);
    expect(errors).toHaveLength(1);
  });
});
