import { expect, test } from 'vitest';
import { matchRoute, needsAccount, paths } from './routes';

test('paths and the matcher agree', () => {
  const id = 'a'.repeat(64);
  expect(matchRoute('/')).toEqual({ page: 'gallery' });
  expect(matchRoute('/upload/')).toEqual({ page: 'upload' });
  expect(matchRoute(paths.picture(id))).toEqual({ page: 'picture', id });
  expect(matchRoute(paths.event('e 1'))).toEqual({ page: 'event', id: 'e 1' });
  expect(matchRoute('/events')).toEqual({ page: 'events' });
  expect(matchRoute('/cluster')).toEqual({ page: 'cluster' });
  expect(matchRoute('/p/')).toEqual({ page: 'not-found' });
  expect(matchRoute('/p/x/y')).toEqual({ page: 'not-found' });
});

test('only event pages work without an account (invite links, published montages)', () => {
  expect(needsAccount({ page: 'event', id: 'e' })).toBe(false);
  expect(needsAccount({ page: 'gallery' })).toBe(true);
});

test('albums, trash, account and share links have their paths; a share link needs no account', () => {
  const album = 'b'.repeat(32);
  expect(matchRoute(paths.album(album))).toEqual({ page: 'album', id: album });
  expect(matchRoute(paths.share(album))).toEqual({ page: 'share', id: album });
  expect(matchRoute('/albums/')).toEqual({ page: 'albums' });
  expect(matchRoute('/trash')).toEqual({ page: 'trash' });
  expect(matchRoute('/account')).toEqual({ page: 'account' });
  expect(needsAccount({ page: 'share', id: album })).toBe(false);
  expect(needsAccount({ page: 'album', id: album })).toBe(true);
  expect(needsAccount({ page: 'trash' })).toBe(true);
});
