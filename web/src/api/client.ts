/**
 * The web app's one way to the server: the public JSON API, same origin, the session cookie
 * sent by the browser (HttpOnly: the app never sees it). Failures become ApiError with the
 * server's `{error: {code, message}}`.
 */
import type {
  CategoryCount,
  ClusterView,
  EventCreate,
  Folder,
  FolderDevice,
  MosaicEvent,
  NewInvite,
  Picture,
  PictureList,
  PicturePatch,
  Timeline,
  User,
} from './types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The ApiError for a response that is not a success, from its JSON body when it has one. */
export function errorFrom(status: number, body: unknown): ApiError {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const error = body.error;
    if (typeof error === 'object' && error !== null) {
      const { code, message } = error as { code?: unknown; message?: unknown };
      if (typeof code === 'string' && typeof message === 'string') {
        return new ApiError(status, code, message);
      }
    }
  }
  return new ApiError(status, `http_${status}`, statusMessage(status));
}

function statusMessage(status: number): string {
  if (status === 0) return 'The server could not be reached.';
  if (status === 401) return 'Please sign in.';
  if (status === 403) return 'You may not do this.';
  if (status === 404) return 'Not found.';
  if (status === 413) return 'The file is too large.';
  if (status === 415) return 'This kind of file is not accepted.';
  if (status >= 500) return 'The server failed; try again.';
  return `The request failed (${status}).`;
}

export interface PictureQuery {
  readonly category?: string;
  readonly q?: string;
  readonly limit?: number;
  readonly cursor?: string | null;
  /**
   * `taken` (date taken, else added) or `added`. Only for a server that has `GET
   * /api/timeline` (issue 15): older ones refuse parameters they do not know.
   */
  readonly sort?: 'taken' | 'added' | undefined;
}

export function picturesPath({ category, q, limit, cursor, sort }: PictureQuery): string {
  const params = new URLSearchParams();
  if (category) params.set('category', category);
  if (q?.trim()) params.set('q', q.trim());
  if (sort) params.set('sort', sort);
  if (limit !== undefined) params.set('limit', String(limit));
  if (cursor) params.set('cursor', cursor);
  const query = params.toString();
  return query ? `/api/pictures?${query}` : '/api/pictures';
}

/** `GET /api/timeline` with the gallery's filter (the search trimmed, as `picturesPath`). */
export function timelinePath({ category, q }: { category?: string; q?: string }): string {
  const params = new URLSearchParams();
  if (category) params.set('category', category);
  if (q?.trim()) params.set('q', q.trim());
  const query = params.toString();
  return query ? `/api/timeline?${query}` : '/api/timeline';
}

export const thumbUrl = (id: string, size: 'small' | 'large' = 'small') =>
  `/api/pictures/${encodeURIComponent(id)}/thumb?size=${size}`;
export const fileUrl = (id: string) => `/api/pictures/${encodeURIComponent(id)}/file`;

/** The most ids a zip link carries (the URL stays under the server's 16 KB request line). */
export const ZIP_LINK_MAX = 200;
/** A plain link to the zip of `ids` (at most ZIP_LINK_MAX): the browser streams it to disk. */
export const zipUrl = (ids: readonly string[]) =>
  `/api/pictures/zip?ids=${ids.map(encodeURIComponent).join(',')}`;
export const montageUrl = (eventId: string, version: number) =>
  `/api/events/${encodeURIComponent(eventId)}/montage?version=${version}`;

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * How long a JSON request may take, answer included. A node that is frozen or cut off without
 * the connection breaking never answers, and a form would say "Saving…" for ever. Uploads
 * (upload.ts, tus-upload.ts) and the live feed do not go through here and have no such limit.
 */
export const JSON_TIMEOUT_MS = 20_000;

/** The sentence for a request that ran out of time (what was typed is still in the form). */
export const TIMEOUT_MESSAGE =
  'The server did not answer in time. Nothing you typed is lost; try again.';

/**
 * A JSON request over `fetchImpl`: the body sent as JSON, the JSON answer returned, a failure
 * thrown as the ApiError of the server's error shape (or of the status when it has none). One
 * that has not been answered in `timeoutMs` is aborted and fails with TIMEOUT_MESSAGE.
 */
export function jsonRequest(
  fetchImpl: FetchLike = (input, init) => fetch(input, init),
  { timeoutMs = JSON_TIMEOUT_MS }: { timeoutMs?: number } = {},
) {
  return async function request<T>(method: string, path: string, json?: unknown): Promise<T> {
    // An AbortController and setTimeout rather than AbortSignal.timeout: the same clock as the
    // page's other timers (a test can move it on), and a timer that is cleared when done.
    const abort = new AbortController();
    const timer = setTimeout(() => {
      abort.abort();
    }, timeoutMs);
    const init: RequestInit = {
      method,
      credentials: 'same-origin',
      headers: {},
      signal: abort.signal,
    };
    if (json !== undefined) {
      init.headers = { 'content-type': 'application/json' };
      init.body = JSON.stringify(json);
    }
    let res: Response;
    let text: string;
    try {
      res = await fetchImpl(path, init);
      text = await res.text();
    } catch {
      // Only the timer aborts.
      if (abort.signal.aborted) throw new ApiError(0, 'timeout', TIMEOUT_MESSAGE);
      throw new ApiError(0, 'network', statusMessage(0));
    } finally {
      clearTimeout(timer);
    }
    let body: unknown = null;
    if (text && res.headers.get('content-type')?.includes('json')) {
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
    }
    if (!res.ok) throw errorFrom(res.status, body);
    return body as T;
  };
}

export function createApi(fetchImpl: FetchLike = (input, init) => fetch(input, init)) {
  const request = jsonRequest(fetchImpl);

  const id = encodeURIComponent;
  return {
    /** Who is signed in, or null (a signed-out visitor is not an error here). */
    session: () => request<{ user: User | null }>('GET', '/api/auth/session').then((r) => r.user),
    login: (username: string, password: string) =>
      request<{ user: User }>('POST', '/api/auth/login', { username, password }).then(
        (r) => r.user,
      ),
    logout: () => request<null>('POST', '/api/auth/logout'),

    pictures: (query: PictureQuery) => request<PictureList>('GET', picturesPath(query)),
    picture: (pictureId: string) => request<Picture>('GET', `/api/pictures/${id(pictureId)}`),
    /** The visible pictures among `ids` (200 at most) and the ids that are not (deleted, gone). */
    lookup: (ids: readonly string[]) =>
      request<{ items: Picture[]; missing: string[] }>('POST', '/api/pictures/lookup', { ids }),
    updatePicture: (pictureId: string, patch: PicturePatch) =>
      request<Picture>('PATCH', `/api/pictures/${id(pictureId)}`, patch),
    deletePicture: (pictureId: string) => request<null>('DELETE', `/api/pictures/${id(pictureId)}`),
    /**
     * The year/month index of what the gallery lists with this filter (the same category and
     * search as `pictures`), or null from a server that does not have it yet.
     */
    timeline: (filter: { category?: string; q?: string } = {}) =>
      request<Timeline>('GET', timelinePath(filter)).then(
        (t) => (Array.isArray(t.months) ? t : null),
        () => null,
      ),
    /** Every category of the library (pictures not in the trash), with its count. */
    categories: () =>
      request<{ categories: CategoryCount[] }>('GET', '/api/categories').then((r) => r.categories),

    cluster: () => request<ClusterView>('GET', '/api/cluster'),
    folders: () => request<Folder[]>('GET', '/api/folders'),
    folderDevices: (folder: string) =>
      request<FolderDevice[]>('GET', `/api/folders/${id(folder)}/devices`),
    removeDevice: (folder: string, deviceId: string) =>
      request<null>('DELETE', `/api/folders/${id(folder)}/devices/${id(deviceId)}`),

    events: () => request<{ items: MosaicEvent[] }>('GET', '/api/events').then((r) => r.items),
    event: (eventId: string, invite?: string | null) =>
      request<MosaicEvent>(
        'GET',
        `/api/events/${id(eventId)}${invite ? `?invite=${encodeURIComponent(invite)}` : ''}`,
      ),
    deleteEvent: (eventId: string) => request<null>('DELETE', `/api/events/${id(eventId)}`),
    removeParticipant: (eventId: string, participantId: string) =>
      request<null>(
        'DELETE',
        `/api/events/${id(eventId)}/participants/${encodeURIComponent(participantId)}`,
      ),
    newInvite: (eventId: string) =>
      request<NewInvite>('POST', `/api/events/${id(eventId)}/invite`, {}),
    recoverEvent: (eventId: string, code: string) =>
      request<MosaicEvent>('POST', `/api/events/${id(eventId)}/recover`, { code }),
    createEvent: (body: EventCreate) => request<MosaicEvent>('POST', '/api/events', body),
    joinEvent: (eventId: string, invite: string, name: string) =>
      request<MosaicEvent>('POST', `/api/events/${id(eventId)}/join`, { invite, name }),
    vote: (eventId: string, montageVersion: number, decision: 'accept' | 'reject') =>
      request<MosaicEvent>('POST', `/api/events/${id(eventId)}/votes`, {
        montageVersion,
        decision,
      }),
  };
}

export type Api = ReturnType<typeof createApi>;

/** The app's client (the browser's fetch). */
export const api = createApi();
