import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { credentialsFile, forgetToken, savedToken, saveToken } from './credentials.js';

let dir: string | null = null;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('credentials', () => {
  it('saves a token per server under XDG_CONFIG_HOME with mode 0600', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mosaic-cred-'));
    const env = { XDG_CONFIG_HOME: dir };
    const file = await saveToken('http://127.0.0.1:7070/', 'admin', 'mos_a', env);
    await saveToken('http://other:7070', 'bob', 'mos_b', env);
    expect(file).toBe(join(dir, 'mosaic', 'credentials.json'));
    expect(credentialsFile(env)).toBe(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'mosaic'))).mode & 0o777).toBe(0o700);
    expect(await savedToken('http://127.0.0.1:7070', env)).toBe('mos_a');
    expect(await savedToken('http://other:7070/x', env)).toBe('mos_b');
    expect(await savedToken('http://nowhere:1', env)).toBeNull();
  });

  it('forgets one server and keeps the others', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mosaic-cred-'));
    const env = { XDG_CONFIG_HOME: dir };
    await saveToken('http://a:1', 'ann', 'mos_a', env);
    await saveToken('http://b:1', 'bob', 'mos_b', env);
    expect(await forgetToken('http://a:1/', env)).toBe(true);
    expect(await forgetToken('http://a:1', env)).toBe(false);
    expect(await savedToken('http://a:1', env)).toBeNull();
    expect(await savedToken('http://b:1', env)).toBe('mos_b');
    expect((await stat(credentialsFile(env))).mode & 0o777).toBe(0o600);
  });
});
