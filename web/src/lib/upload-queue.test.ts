import { describe, expect, test } from 'vitest';
import {
  applyToWaiting,
  formatSize,
  isStalled,
  isWaiting,
  STALL_MS,
  newItems,
  nextToStart,
  notQueued,
  outcome,
  resumeOffline,
  summarize,
  summaryText,
  titleFromFileName,
  updateItem,
  uploadButtonLabel,
  validate,
  type UploadItem,
} from './upload-queue';

let n = 0;
const key = () => `k${++n}`;
const file = (name: string, size = 100) => ({ name, size, type: 'image/jpeg' });

describe('titleFromFileName', () => {
  test.each([
    ['IMG_2041.JPG', 'IMG 2041'],
    ['sunset_on-the-beach.png', 'sunset on the beach'],
    ['beach day.final.jpeg', 'beach day.final'],
    ['C:\\photos\\cat.gif', 'cat'],
    ['.hidden', '.hidden'],
    ['___.png', 'Untitled'],
    ['noextension', 'noextension'],
  ])('%s -> %s', (name, title) => {
    expect(titleFromFileName(name)).toBe(title);
  });

  test('keeps titles within the server limit', () => {
    expect(titleFromFileName(`${'x'.repeat(300)}.jpg`)).toHaveLength(200);
  });
});

describe('the queue', () => {
  const items = () =>
    newItems(
      [file('a.jpg', 100), file('b.jpg', 300), file('c.jpg', 600)],
      { category: 'trip', desc: '' },
      key,
    );

  test('a file picked again while it waits or is sent is not queued twice (it came back a duplicate)', () => {
    const photo = { ...file('IMG_1.jpg', 100), lastModified: 1 };
    const other = { ...file('IMG_2.jpg', 100), lastModified: 1 };
    const queue = newItems([photo], { category: '', desc: '' }, key);
    // Picked again, alone or twice in one pick: only the new one (once) goes in.
    expect(notQueued([photo, other, other], queue)).toEqual([other]);
    // Another file of the same name (another size or date) is another picture.
    const renamed = { ...file('IMG_1.jpg', 200), lastModified: 1 };
    expect(notQueued([renamed], queue)).toEqual([renamed]);
    // Once removed or cancelled it may be picked again.
    const [item] = queue;
    if (!item) throw new Error('an item');
    expect(notQueued([photo], [{ ...item, status: 'cancelled' }])).toEqual([photo]);
  });

  test('new items take their title from the name and the shared fields', () => {
    const [a] = items();
    expect(a).toMatchObject({ title: 'a', category: 'trip', status: 'ready', progress: 0 });
  });

  test('an upload that has not moved for STALL_MS is stalled; one that moves, or is not sent, is not', () => {
    const [a] = items();
    if (!a) throw new Error('an item');
    const t = 1_000_000;
    const sending = { ...a, status: 'uploading' as const, movedAt: t };
    expect(isStalled(sending, t + STALL_MS)).toBe(false);
    expect(isStalled(sending, t + STALL_MS + 1)).toBe(true);
    expect(isStalled({ ...sending, movedAt: t + 10_000 }, t + STALL_MS + 1)).toBe(false);
    expect(isStalled({ ...sending, status: 'offline' }, t + STALL_MS + 1)).toBe(false);
    expect(isStalled(a, t + STALL_MS + 1)).toBe(false); // ready: never started
  });

  test('starts at most `concurrency` at once, in order', () => {
    let q = items();
    expect(nextToStart(q, 2)).toEqual([q[0]?.key, q[1]?.key]);
    q = updateItem(q, q[0]?.key ?? '', { status: 'uploading' });
    expect(nextToStart(q, 2)).toEqual([q[1]?.key]);
    q = updateItem(q, q[1]?.key ?? '', { status: 'uploading' });
    expect(nextToStart(q, 2)).toEqual([]);
    q = updateItem(q, q[0]?.key ?? '', { status: 'failed', error: 'x' });
    // A failed item waits for a retry; the next ready one goes.
    expect(nextToStart(q, 2)).toEqual([q[2]?.key]);
  });

  test('"for all" fields change only the items not sent yet', () => {
    let q = items();
    q = updateItem(q, q[0]?.key ?? '', { status: 'created' });
    q = applyToWaiting(q, { category: 'home' });
    expect(q.map((i) => i.category)).toEqual(['trip', 'home', 'home']);
  });

  test('summarizes by bytes', () => {
    let q = items();
    q = updateItem(q, q[0]?.key ?? '', { status: 'created', progress: 1 });
    q = updateItem(q, q[1]?.key ?? '', { status: 'uploading', progress: 0.5 });
    const s = summarize(q);
    expect(s).toMatchObject({ total: 3, created: 1, active: 1, failed: 0 });
    expect(s.progress).toBeCloseTo((100 + 150) / 1000);
    expect(summarize([]).progress).toBe(0);
  });

  test('a file the server refused is not sent again, and counts as not usable', () => {
    let q = items();
    q = updateItem(q, q[0]?.key ?? '', { status: 'refused', error: 'Not an image' });
    q = updateItem(q, q[1]?.key ?? '', { status: 'failed', error: 'offline' });
    expect(q.filter(isWaiting).map((i) => i.key)).toEqual([q[1]?.key, q[2]?.key]);
    expect(nextToStart(q, 5)).toEqual([q[2]?.key]);
    expect(summarize(q)).toMatchObject({ refused: 1, failed: 1 });
  });

  test('the summary and the button say what the rows say', () => {
    let q = items();
    q = updateItem(q, q[0]?.key ?? '', { status: 'created', progress: 1 });
    q = updateItem(q, q[1]?.key ?? '', { status: 'refused', error: 'Not an image' });
    q = updateItem(q, q[2]?.key ?? '', { status: 'refused', error: 'Damaged' });
    expect(summaryText(summarize(q))).toBe('1 uploaded, 2 could not be used · 3 in all');
    expect(uploadButtonLabel(q, false)).toBe('Done: 2 not uploaded');
    expect(uploadButtonLabel(q, true)).toBe('Uploading…');
    const allIn = q.map((i) => ({ ...i, status: 'created' as const }));
    expect(uploadButtonLabel(allIn, false)).toBe('All sent');
    q = updateItem(q, q[2]?.key ?? '', { status: 'cancelled' });
    expect(summaryText(summarize(q))).toBe(
      '1 uploaded, 1 could not be used, 1 cancelled · 3 in all',
    );
  });

  test('cut off while offline: waits (not a failure to retry), then goes again by itself', () => {
    let q = items();
    q = updateItem(q, q[0]?.key ?? '', { status: 'offline' });
    expect(q.filter(isWaiting).map((i) => i.key)).toEqual([q[1]?.key, q[2]?.key]);
    q = updateItem(q, q[1]?.key ?? '', { status: 'offline' });
    q = updateItem(q, q[2]?.key ?? '', { status: 'offline' });
    expect(uploadButtonLabel(q, false)).toBe('Waiting for the connection…');
    expect(summaryText(summarize(q))).toBe('0 uploaded, 3 waiting for the connection · 3 in all');
    expect(resumeOffline(q).map((i) => i.status)).toEqual(['ready', 'ready', 'ready']);
  });

  test('validates the title and category', () => {
    const [a] = items() as [UploadItem];
    expect(validate(a)).toBeNull();
    expect(validate({ ...a, title: '  ' })).toMatch(/required/);
    expect(validate({ ...a, category: 'x'.repeat(65) })).toMatch(/64/);
  });
});

describe('outcome', () => {
  const id = 'f'.repeat(64);
  test('201 is a new picture, 200 one that was already there', () => {
    expect(outcome(201, { id })).toEqual({ status: 'created', pictureId: id });
    expect(outcome(200, { id, title: 'Beach' })).toEqual({
      status: 'duplicate',
      pictureId: id,
      existingTitle: 'Beach',
    });
  });

  test('413 says the limit the server gave', () => {
    const body = {
      error: {
        code: 'payload_too_large',
        message: 'The upload is larger than the limit of 1048576 bytes.',
      },
    };
    // The file itself is refused: not retried with the failures.
    expect(outcome(413, body)).toEqual({
      status: 'refused',
      error: 'Too large: this node accepts files up to 1.0 MB.',
    });
    expect(outcome(413, null)).toMatchObject({ error: /Too large/ });
  });

  test("415 and 422 are refused in the server's words; other errors use its message", () => {
    expect(outcome(415, null)).toMatchObject({ status: 'refused', error: /Not an image/ });
    const damaged = 'This file is damaged or is not a picture Mosaic can read.';
    expect(outcome(415, { error: { code: 'unsupported_media_type', message: damaged } })).toEqual({
      status: 'refused',
      error: damaged,
    });
    const undecodable = 'The image could not be decoded (truncated or corrupt).';
    expect(outcome(422, { error: { code: 'invalid_image', message: undecodable } })).toEqual({
      status: 'refused',
      error: undecodable,
    });
    expect(outcome(401, null)).toMatchObject({ status: 'failed', error: /sign in/ });
    expect(
      outcome(400, { error: { code: 'validation_failed', message: 'Invalid upload: title' } }),
    ).toEqual({
      status: 'failed',
      error: 'Invalid upload: title',
    });
    expect(outcome(500, 'oops')).toEqual({ status: 'failed', error: 'Upload failed (500).' });
  });
});

test('formatSize', () => {
  expect(formatSize(20)).toBe('20 B');
  expect(formatSize(1536)).toBe('1.5 KB');
  expect(formatSize(333 * 1024)).toBe('333 KB');
  expect(formatSize(5 * 1024 ** 3)).toBe('5.0 GB');
});
