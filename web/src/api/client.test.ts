import { describe, expect, test } from 'vitest';
import {
  ApiError,
  TIMEOUT_MESSAGE,
  createApi,
  errorFrom,
  jsonRequest,
  picturesPath,
  timelinePath,
  type FetchLike,
} from './client';
import { sendMultipart } from './upload';

/** A fetch that answers from a list and records what was asked. */
function fakeFetch(answers: Response[]) {
  const calls: { url: string; init: RequestInit | undefined }[] = [];
  const fetchImpl: FetchLike = (url, init) => {
    calls.push({ url, init });
    const next = answers.shift();
    return next ? Promise.resolve(next) : Promise.reject(new TypeError('offline'));
  };
  return { calls, fetchImpl };
}
const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('the API client', () => {
  test('builds list queries with only what is set', () => {
    expect(picturesPath({})).toBe('/api/pictures');
    expect(picturesPath({ category: 'a b', q: ' sea ', limit: 48, cursor: null })).toBe(
      '/api/pictures?category=a+b&q=sea&limit=48',
    );
    expect(picturesPath({ q: '  ', cursor: 'c1' })).toBe('/api/pictures?cursor=c1');
  });

  test('asks for a sort only when told to (older servers refuse unknown parameters)', () => {
    expect(picturesPath({ limit: 48 })).toBe('/api/pictures?limit=48');
    expect(picturesPath({ sort: 'taken', limit: 48 })).toBe('/api/pictures?sort=taken&limit=48');
  });

  test('the timeline index is null from a server that does not have it', async () => {
    const missing = fakeFetch([json(404, { error: { code: 'not_found', message: 'No.' } })]);
    expect(await createApi(missing.fetchImpl).timeline()).toBeNull();
    const months = { months: [{ month: '2022-07', count: 3 }] };
    const present = fakeFetch([json(200, months)]);
    expect(await createApi(present.fetchImpl).timeline({ category: 'a b' })).toEqual(months);
    expect(present.calls[0]?.url).toBe('/api/timeline?category=a+b');
  });

  test('asks the timeline index with the search the list is asked with', () => {
    expect(timelinePath({})).toBe('/api/timeline');
    expect(timelinePath({ category: 'sea', q: ' harb ' })).toBe(
      '/api/timeline?category=sea&q=harb',
    );
    expect(timelinePath({ q: "%_\\'" })).toBe('/api/timeline?q=%25_%5C%27');
    expect(timelinePath({ q: '  ' })).toBe('/api/timeline');
  });

  test('reads the categories of the library', async () => {
    const categories = [{ name: 'sea', count: 2 }];
    const { calls, fetchImpl } = fakeFetch([json(200, { categories })]);
    expect(await createApi(fetchImpl).categories()).toEqual(categories);
    expect(calls[0]?.url).toBe('/api/categories');
  });

  test('sends JSON and reads JSON', async () => {
    const { calls, fetchImpl } = fakeFetch([
      json(200, { user: { username: 'ann', role: 'user' } }),
    ]);
    const user = await createApi(fetchImpl).login('ann', 'pw');
    expect(user).toEqual({ username: 'ann', role: 'user' });
    expect(calls[0]?.url).toBe('/api/auth/login');
    expect(calls[0]?.init?.method).toBe('POST');
    expect(calls[0]?.init?.body).toBe('{"username":"ann","password":"pw"}');
  });

  test('turns the error shape into an ApiError', async () => {
    const { fetchImpl } = fakeFetch([
      json(409, { error: { code: 'stale_version', message: 'A newer montage exists.' } }),
    ]);
    const error = await createApi(fetchImpl)
      .vote('e1', 3, 'accept')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 409,
      code: 'stale_version',
      message: 'A newer montage exists.',
    });
  });

  test('a body that is not the error shape, or no answer at all, still gives an ApiError', async () => {
    expect(errorFrom(502, 'Bad gateway')).toMatchObject({ status: 502, code: 'http_502' });
    const { fetchImpl } = fakeFetch([new Response(null, { status: 204 })]);
    const api = createApi(fetchImpl);
    await expect(api.deletePicture('x')).resolves.toBeNull();
    await expect(api.cluster()).rejects.toMatchObject({ status: 0, code: 'network' });
  });

  test('a request the server does not answer in time fails with a sentence', async () => {
    // A frozen node: the request is never answered, only aborted.
    let signal: AbortSignal | null | undefined;
    const silent: FetchLike = (_url, init) => {
      signal = init?.signal;
      return new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => {
          reject(new DOMException('aborted', 'AbortError'));
        });
      });
    };
    const request = jsonRequest(silent, { timeoutMs: 30 });
    await expect(request('PATCH', '/api/pictures/x', { title: 't' })).rejects.toMatchObject({
      status: 0,
      code: 'timeout',
      message: TIMEOUT_MESSAGE,
    });
    expect(signal?.aborted).toBe(true);
    // A quick answer is not aborted afterwards.
    const quick = fakeFetch([json(200, { ok: 1 })]);
    await expect(jsonRequest(quick.fetchImpl, { timeoutMs: 30 })('GET', '/x')).resolves.toEqual({
      ok: 1,
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(quick.calls[0]?.init?.signal?.aborted).toBe(false);
  });

  test('encodes ids in paths', async () => {
    const { calls, fetchImpl } = fakeFetch([json(200, {})]);
    await createApi(fetchImpl).event('a/b');
    expect(calls[0]?.url).toBe('/api/events/a%2Fb');
  });
});

/** A scripted XMLHttpRequest. */
function fakeXhr() {
  const xhr = {
    status: 0,
    responseText: '',
    withCredentials: false,
    upload: { onprogress: null },
    onload: null,
    onerror: null,
    onabort: null,
    opened: '',
    open(method: string, url: string) {
      xhr.opened = `${method} ${url}`;
    },
    send() {},
    abort() {
      (xhr.onabort as (() => void) | null)?.();
    },
  };
  return xhr;
}

describe('sendMultipart', () => {
  test('reports progress and resolves with the status and the parsed body', async () => {
    const xhr = fakeXhr();
    const seen: number[] = [];
    const handle = sendMultipart(
      '/api/pictures',
      new FormData(),
      (f) => seen.push(f),
      () => xhr,
    );
    expect(xhr.opened).toBe('POST /api/pictures');
    const progress = xhr.upload.onprogress as unknown as (e: Partial<ProgressEvent>) => void;
    progress({ lengthComputable: true, loaded: 50, total: 200 });
    progress({ lengthComputable: false, loaded: 60, total: 0 });
    xhr.status = 200;
    xhr.responseText = '{"id":"abc"}';
    (xhr.onload as unknown as () => void)();
    await expect(handle.promise).resolves.toEqual({ status: 200, body: { id: 'abc' } });
    expect(seen).toEqual([0.25, 1]);
  });

  test('an error status is an answer too; a body that is not JSON is null', async () => {
    const xhr = fakeXhr();
    const handle = sendMultipart(
      '/u',
      new FormData(),
      () => undefined,
      () => xhr,
    );
    xhr.status = 413;
    xhr.responseText = 'too big';
    (xhr.onload as unknown as () => void)();
    await expect(handle.promise).resolves.toEqual({ status: 413, body: null });
  });

  test('rejects on a network failure and on abort', async () => {
    const failing = fakeXhr();
    const h1 = sendMultipart(
      '/u',
      new FormData(),
      () => undefined,
      () => failing,
    );
    (failing.onerror as unknown as () => void)();
    await expect(h1.promise).rejects.toThrow(/could not be reached/);
    const aborted = fakeXhr();
    const h2 = sendMultipart(
      '/u',
      new FormData(),
      () => undefined,
      () => aborted,
    );
    h2.abort();
    await expect(h2.promise).rejects.toThrow(/Cancelled/);
  });
});
