/** The app's pages and their paths: one pure matcher, so links and the router agree. */

export type Route =
  | { readonly page: 'gallery' }
  | { readonly page: 'upload' }
  | { readonly page: 'picture'; readonly id: string }
  | { readonly page: 'events' }
  | { readonly page: 'event'; readonly id: string }
  | { readonly page: 'cluster' }
  | { readonly page: 'not-found' };

export function matchRoute(pathname: string): Route {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/') return { page: 'gallery' };
  if (path === '/upload') return { page: 'upload' };
  if (path === '/events') return { page: 'events' };
  if (path === '/cluster') return { page: 'cluster' };
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
  picture: (id: string) => `/p/${encodeURIComponent(id)}`,
  event: (id: string) => `/e/${encodeURIComponent(id)}`,
};

/** Event pages work without an account (invite links, published montages). */
export const needsAccount = (route: Route) => route.page !== 'event';
