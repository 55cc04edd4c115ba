/**
 * `mosaic login` as a person runs it: a new login revokes the token the one before saved for
 * that server (no pile of valid "mosaic sync on HOST" tokens), a token already revoked is no
 * error, and a server that is not there is said in a sentence.
 */
import { readFile } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';
import {
  ADMIN_PASSWORD,
  addUser,
  cleanup,
  login,
  makeTempDir,
  startNode,
  type NodeProcess,
} from '../helpers/node-process.js';

let node: NodeProcess;
let config: string;

beforeAll(async () => {
  node = await startNode();
  await addUser(node.dataDir, 'carol', 'carol-password');
  config = await makeTempDir('mosaic-login-config-');
});
afterAll(cleanup);

const loginAsCarol = () =>
  runCli(['login', '--server', node.url, '--username', 'carol', '--password-stdin'], {
    stdin: 'carol-password\n',
    env: { XDG_CONFIG_HOME: config },
  });

async function savedTokens(): Promise<Record<string, { token: string }>> {
  const file = JSON.parse(await readFile(join(config, 'mosaic', 'credentials.json'), 'utf8')) as {
    servers: Record<string, { token: string }>;
  };
  return file.servers;
}

async function savedToken(server = node.url): Promise<string> {
  const saved = (await savedTokens())[new URL(server).origin];
  if (saved === undefined) throw new Error('no token saved');
  return saved.token;
}

/** Between the CLI and the node: a proxy that passes every request but cuts each DELETE. */
async function proxyCuttingDeletes(): Promise<{ server: string; close: () => void }> {
  const proxy = createServer((req, res) => {
    if (req.method === 'DELETE') {
      req.socket.destroy();
      return;
    }
    const target = new URL(req.url ?? '/', node.url);
    const out = httpRequest(target, { method: req.method, headers: req.headers }, (back) => {
      res.writeHead(back.statusCode ?? 502, back.headers);
      back.pipe(res);
    });
    req.pipe(out);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const server = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  return { server, close: () => proxy.close() };
}

async function carolsTokens(): Promise<string[]> {
  const admin = await login(node.url, 'admin', ADMIN_PASSWORD);
  const res = await fetch(`${node.url}/api/tokens?user=carol`, { headers: { cookie: admin } });
  const { items } = (await res.json()) as { items: { id: string }[] };
  return items.map((t) => t.id);
}

const works = async (token: string) =>
  (await fetch(`${node.url}/api/tokens`, { headers: { authorization: `Bearer ${token}` } }))
    .status === 200;

describe('mosaic login', () => {
  it('revokes the token it replaces', async () => {
    const first = await loginAsCarol();
    expect(first.code, first.stderr).toBe(0);
    const firstToken = await savedToken();
    const second = await loginAsCarol();
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toBe('');
    const secondToken = await savedToken();
    expect(secondToken).not.toBe(firstToken);
    expect(await works(firstToken)).toBe(false);
    expect(await works(secondToken)).toBe(true);
    expect(await carolsTokens()).toHaveLength(1);
  });

  it('says nothing of a saved token that was already revoked', async () => {
    const token = await savedToken();
    const [id] = await carolsTokens();
    const res = await fetch(`${node.url}/api/tokens/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(204);
    const again = await loginAsCarol();
    expect(again.code).toBe(0);
    expect(again.stderr).toBe('');
    expect(await carolsTokens()).toHaveLength(1);
  });

  it('says so when the node does not answer the revocation; the login stands', async () => {
    const stale = await savedToken();
    const { server, close } = await proxyCuttingDeletes();
    try {
      const cli = (args: string[]) =>
        runCli(['login', '--server', server, '--username', 'carol', '--password-stdin', ...args], {
          stdin: 'carol-password\n',
          env: { XDG_CONFIG_HOME: config },
        });
      expect((await cli([])).code).toBe(0);
      const run = await cli([]);
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(
        new RegExp(`^Could not revoke the token saved before: Cannot connect to ${server} \\(`),
      );
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      close();
    }
    expect(await works(stale)).toBe(true);
  });

  it.each([
    ['nothing listening', async () => `http://127.0.0.1:${await freePort()}`, 'connection refused'],
    ['no such host', async () => 'http://no-such-host.invalid:7070', 'host not found'],
  ])('%s: one sentence, exit 1', async (_, serverOf, problem) => {
    const server = await serverOf();
    const run = await runCli(['login', '--server', server, '--password-stdin'], {
      stdin: 'whatever-password\n',
      env: { XDG_CONFIG_HOME: config },
    });
    expect(run.stderr.trim()).toBe(`Cannot connect to ${server} (${problem}).`);
    expect(run.code).toBe(1);
  });
});

describe('mosaic logout', () => {
  const logout = (server: string, ...args: string[]) =>
    runCli(['logout', '--server', server, ...args], { env: { XDG_CONFIG_HOME: config } });

  it('revokes the saved token and forgets it; a second logout has nothing to do', async () => {
    expect((await loginAsCarol()).code).toBe(0);
    const token = await savedToken();
    const tokens = (await carolsTokens()).length; // with the one the proxy test left valid
    const run = await logout(node.url);
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe(
      `Signed out of ${new URL(node.url).origin} (carol): its token is revoked and forgotten.`,
    );
    expect(run.code).toBe(0);
    expect(await works(token)).toBe(false);
    expect(await carolsTokens()).toHaveLength(tokens - 1);
    expect((await savedTokens())[new URL(node.url).origin]).toBeUndefined();

    const again = await logout(node.url);
    expect(again.stdout.trim()).toBe(`No token is saved for ${new URL(node.url).origin}.`);
    expect(again.code).toBe(0);
  });

  it('keeps the token when the node cannot revoke it (exit 1); --forget drops it anyway', async () => {
    const { server, close } = await proxyCuttingDeletes();
    try {
      const signIn = await runCli(
        ['login', '--server', server, '--username', 'carol', '--password-stdin'],
        { stdin: 'carol-password\n', env: { XDG_CONFIG_HOME: config } },
      );
      expect(signIn.code, signIn.stderr).toBe(0);
      const token = await savedToken(server);

      const refused = await logout(server);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        /^Could not revoke token \S+: Cannot connect to .*The token stays saved/,
      );
      expect(await savedToken(server)).toBe(token);
      expect(await works(token)).toBe(true);

      const forgot = await logout(server, '--forget');
      expect(forgot.code).toBe(0);
      expect(forgot.stdout).toContain(`Forgot the token for ${server} (carol).`);
      expect((await savedTokens())[server]).toBeUndefined();
    } finally {
      close();
    }
  });
});
