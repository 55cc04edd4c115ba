/**
 * Attack tier, review row 10: the headers of the app and the file routes, a write sent by
 * another site's page with the session cookie, and sign-in behind a TLS proxy.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  ADMIN_PASSWORD,
  REPO_ROOT,
  api,
  login,
  makeImage,
  startNode,
  type NodeProcess,
  type Picture,
  type PictureList,
} from '../helpers/node-process.js';
import { describeEachBackend } from '../helpers/backends.js';

describeEachBackend('security headers', () => {
  let node: NodeProcess;
  let cookie: string;

  beforeAll(async () => {
    node = await startNode();
    cookie = await login(node.url, 'admin', ADMIN_PASSWORD);
  });

  function expectSecurityHeaders(headers: Headers, what: string): void {
    const csp = headers.get('content-security-policy') ?? '';
    const directives = new Map(
      csp.split(';').map((d) => {
        const [name = '', ...values] = d.trim().split(/\s+/);
        return [name, values] as const;
      }),
    );
    expect(directives.get('frame-ancestors'), what).toEqual(["'none'"]);
    const scripts = directives.get('script-src') ?? directives.get('default-src') ?? [];
    // Our own files only; WebAssembly may be compiled (the gallery's layout), JavaScript never
    // evaluated from strings, and no inline script.
    expect(scripts, what).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    expect(directives.get('object-src'), what).toEqual(["'none'"]);
    expect(headers.get('x-content-type-options'), what).toBe('nosniff');
    expect(['same-origin', 'no-referrer', 'strict-origin']).toContain(
      headers.get('referrer-policy'),
    );
  }

  describe('security headers', () => {
    test('the web app, the API, the file routes and the errors carry them', async () => {
      const admin = api(node.url, cookie);
      const upload = await admin.upload<Picture>({
        file: await makeImage({ seed: 3 }),
        fields: { title: 'Headers' },
      });
      expect(upload.status).toBe(201);
      expectSecurityHeaders(upload.headers, 'upload');
      const id = upload.body.id;
      for (const path of [
        '/',
        '/events/evt_x',
        '/api/pictures',
        `/api/pictures/${id}/file`,
        `/api/pictures/${id}/thumb?size=large`,
        '/api/docs/',
        '/api/nope',
        '/healthz',
      ]) {
        const res = await admin.fetch(path);
        expect(res.status, path).toBeLessThan(500);
        expectSecurityHeaders(res.headers, path);
      }
      const anonymous = await fetch(`${node.url}/api/pictures`);
      expect(anonymous.status).toBe(401);
      expectSecurityHeaders(anonymous.headers, '401');
    });

    test('the CSP holds: the app page has no inline script', async () => {
      const page = await (await fetch(`${node.url}/`)).text();
      const built = await readFile(join(REPO_ROOT, 'dist', 'web', 'index.html'), 'utf8');
      const source = await readFile(join(REPO_ROOT, 'web', 'index.html'), 'utf8');
      for (const html of [page, built, source]) {
        const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
        expect(scripts.length).toBeGreaterThan(0);
        for (const [, attributes = '', body = ''] of scripts) {
          expect(attributes).toMatch(/\bsrc=/);
          expect(body.trim()).toBe('');
        }
        expect(html).not.toMatch(/\son[a-z]+=/i); // no inline event handlers either
      }
    });
  });

  describe('writes from another site', () => {
    const upload = async (headers: Record<string, string>, seed: number) => {
      const form = new FormData();
      form.append('title', `From ${JSON.stringify(headers)}`);
      form.append('file', new Blob([await makeImage({ seed })]), 'p.png');
      return fetch(`${node.url}/api/pictures`, { method: 'POST', headers, body: form });
    };
    const count = async () =>
      (await api(node.url, cookie).get<PictureList>('/api/pictures?limit=100')).body.items.length;

    test('a multipart upload with the session cookie and a foreign Origin is refused', async () => {
      const before = await count();
      const foreign = await upload({ cookie, origin: 'https://evil.example' }, 11);
      expect(foreign.status).toBe(403);
      expect(await foreign.json()).toMatchObject({ error: { code: 'forbidden' } });
      const nullOrigin = await upload({ cookie, origin: 'null' }, 12);
      expect(nullOrigin.status).toBe(403);
      const crossSite = await upload({ cookie, 'sec-fetch-site': 'cross-site' }, 13);
      expect(crossSite.status).toBe(403);
      const otherPort = await upload({ cookie, origin: 'http://127.0.0.1:1' }, 14);
      expect(otherPort.status).toBe(403);
      expect(await count()).toBe(before);
      // Nor can another site delete or edit.
      const list = await api(node.url, cookie).get<PictureList>('/api/pictures');
      const id = list.body.items[0]?.id ?? '';
      const del = await fetch(`${node.url}/api/pictures/${id}`, {
        method: 'DELETE',
        headers: { cookie, origin: 'https://evil.example' },
      });
      expect(del.status).toBe(403);
      expect(await count()).toBe(before);
    });

    test('the same page (same Origin), a bearer token and a plain client stay allowed', async () => {
      const before = await count();
      expect((await upload({ cookie, origin: node.url }, 21)).status).toBe(201);
      expect((await upload({ cookie, 'sec-fetch-site': 'same-origin' }, 22)).status).toBe(201);
      expect((await upload({ cookie }, 23)).status).toBe(201);
      const token = await api(node.url, cookie).post<{ token: string }>('/api/tokens', {
        name: 'cli',
      });
      expect(token.status).toBe(201);
      const bearer = {
        authorization: `Bearer ${token.body.token}`,
        origin: 'https://evil.example',
      };
      expect((await upload(bearer, 24)).status).toBe(201);
      expect(await count()).toBe(before + 4);
    });
  });

  describe('behind a TLS proxy', () => {
    const signIn = (url: string, headers: Record<string, string>) =>
      fetch(`${url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
      });

    test('with --trust-proxy the session cookie is Secure when the proxy says https', async () => {
      const proxied = await startNode({ args: ['--trust-proxy', '127.0.0.1'] });
      const res = await signIn(proxied.url, { 'x-forwarded-proto': 'https' });
      expect(res.status).toBe(200);
      const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('mosaic_session='));
      expect(setCookie).toMatch(/;\s*Secure/i);
      // Plain http through the same proxy: no Secure (the browser would drop the cookie).
      const plain = await signIn(proxied.url, { 'x-forwarded-proto': 'http' });
      expect(plain.headers.getSetCookie().join('\n')).not.toMatch(/;\s*Secure/i);
      await proxied.stop();
    });

    test('without it, X-Forwarded-Proto from anyone is not believed', async () => {
      const res = await signIn(node.url, { 'x-forwarded-proto': 'https' });
      expect(res.status).toBe(200);
      expect(res.headers.getSetCookie().join('\n')).not.toMatch(/;\s*Secure/i);
    });

    test('MOSAIC_TRUST_PROXY is the twin of the flag', async () => {
      const proxied = await startNode({ env: { MOSAIC_TRUST_PROXY: 'on' } });
      const res = await signIn(proxied.url, { 'x-forwarded-proto': 'https' });
      expect(res.headers.getSetCookie().join('\n')).toMatch(/;\s*Secure/i);
      await proxied.stop();
    });
  });
});
