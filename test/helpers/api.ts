/** The HTTP API as the tests drive it: sign-in, JSON requests, uploads, the error shape. */
/** Signs in and returns the session cookie as a `Cookie` header value. */
export async function login(url: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200)
    throw new Error(`login as ${username}: ${res.status} ${await res.text()}`);
  const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0] ?? '');
  const session = cookies.find((c) => c.startsWith('mosaic_session='));
  if (!session) throw new Error(`login as ${username}: no session cookie`);
  return session;
}

/** Whether `username` signs in at `url` with `password` (a 200), with no session kept. */
export async function canLogin(url: string, username: string, password: string): Promise<boolean> {
  const res = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  return res.status === 200;
}

/** The API's shapes, as the tests see them (design.md, "HTTP API"). */
export interface Picture {
  id: string;
  title: string;
  category: string;
  desc: string;
  contentType: string;
  size: number;
  width: number;
  height: number;
  owner: string;
  origin: string;
  createdAt: string;
  updatedAt: string;
}

export interface PictureList {
  items: Picture[];
  nextCursor: string | null;
}

export interface ErrorBody {
  error: { code: string; message: string };
}

export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON, or the raw text when the body is not JSON. */
  readonly body: T;
}

/** A cookie string (from login) or an API token. */
export type Auth = string | { readonly token: string };

export interface Upload {
  readonly file: Uint8Array;
  readonly filename?: string;
  readonly fields?: Readonly<Record<string, string>>;
}

export interface Api {
  /** Raw fetch with the credentials added (for bodies that are not JSON). */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  request<T = unknown>(method: string, path: string, json?: unknown): Promise<ApiResponse<T>>;
  get<T = unknown>(path: string): Promise<ApiResponse<T>>;
  post<T = unknown>(path: string, json?: unknown): Promise<ApiResponse<T>>;
  patch<T = unknown>(path: string, json: unknown): Promise<ApiResponse<T>>;
  delete<T = unknown>(path: string): Promise<ApiResponse<T>>;
  /** multipart/form-data POST to /api/pictures; fields go before the file. */
  upload<T = unknown>(upload: Upload): Promise<ApiResponse<T>>;
}

export function api(url: string, auth?: Auth): Api {
  const withAuth = (init: RequestInit = {}): RequestInit => {
    const headers = new Headers(init.headers);
    if (typeof auth === 'string') headers.set('cookie', auth);
    else if (auth) headers.set('authorization', `Bearer ${auth.token}`);
    return { ...init, headers };
  };
  const client: Api = {
    fetch: (path, init) => fetch(`${url}${path}`, withAuth(init)),
    async request<T>(method: string, path: string, json?: unknown) {
      const init: RequestInit =
        json === undefined
          ? { method }
          : { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) };
      return toApiResponse<T>(await client.fetch(path, init));
    },
    get: (path) => client.request('GET', path),
    post: (path, json) => client.request('POST', path, json),
    patch: (path, json) => client.request('PATCH', path, json),
    delete: (path) => client.request('DELETE', path),
    async upload<T>({ file, filename = 'photo.jpg', fields = {} }: Upload) {
      const form = new FormData();
      for (const [name, value] of Object.entries(fields)) form.append(name, value);
      form.append('file', new Blob([file]), filename);
      return toApiResponse<T>(await client.fetch('/api/pictures', { method: 'POST', body: form }));
    },
  };
  return client;
}

/** Reads a fetch Response into an ApiResponse (JSON parsed when the server says JSON). */
export async function toApiResponse<T = unknown>(res: Response): Promise<ApiResponse<T>> {
  const text = await res.text();
  let body: unknown = text;
  if (res.headers.get('content-type')?.includes('json')) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: body as T };
}
