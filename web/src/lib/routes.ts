/** The app's pages and their paths: one pure matcher, so links and the router agree. */

export type Route =
  | { readonly page: 'gallery' }
  | { readonly page: 'upload' }
  | { readonly page: 'picture'; readonly id: string }
  | { readonly page: 'events' }
  | { readonly page: 'event'; readonly id: string }
  | { readonly page: 'cluster' }
  | { readonly page: 'albums' }
  | { readonly page: 'album'; readonly id: string }
  | { readonly page: 'trash' }
  | { readonly page: 'account' }
  | { readonly page: 'share'; readonly id: string }
  | { readonly page: 'not-found' };

export function matchRoute(pathname: string): Route {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/') return { page: 'gallery' };
  if (path === '/upload') return { page: 'upload' };
  if (path === '/events') return { page: 'events' };
  if (path === '/cluster') return { page: 'cluster' };
  if (path === '/albums') return { page: 'albums' };
  if (path === '/trash') return { page: 'trash' };
  if (path === '/account') return { page: 'account' };
  const album = /^\/a\/([^/]+)$/.exec(path);
  if (album?.[1]) return { page: 'album', id: decodeURIComponent(album[1]) };
  const share = /^\/s\/([^/]+)$/.exec(path);
  if (share?.[1]) return { page: 'share', id: decodeURIComponent(share[1]) };
  const picture = /^\/p\/([^/]+)$/.exec(path);
  if (picture?.[1]) return { page: 'picture', id: decodeURIComponent(picture[1]) };
  const event = /^\/e\/([^/]+)$/.exec(path);
  if (event?.[1]) return { page: 'event', id: decodeURIComponent(event[1]) };
  return { page: 'not-found' };
}

export const paths = {
  gallery: '/',
  upload: '/upload',
  events: '/events',
  cluster: '/cluster',
  albums: '/albums',
  trash: '/trash',
  account: '/account',
  album: (id: string) => `/a/${encodeURIComponent(id)}`,
  share: (id: string) => `/s/${encodeURIComponent(id)}`,
  picture: (id: string) => `/p/${encodeURIComponent(id)}`,
  event: (id: string) => `/e/${encodeURIComponent(id)}`,
};

/** Event pages (invite links, published montages) and share links work without an account. */
export const needsAccount = (route: Route) => route.page !== 'event' && route.page !== 'share';
