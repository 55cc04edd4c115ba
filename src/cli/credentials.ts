/**
 * API tokens saved by `mosaic login`, per server, in the user's config directory
 * (`$XDG_CONFIG_HOME/mosaic/credentials.json`, else `~/.config/mosaic/`), readable by the user
 * only (directory 0700, file 0600).
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What is saved for a server. tokenId: to revoke the token when a new login replaces it. */
export interface SavedLogin {
  token: string;
  username: string;
  tokenId?: string;
}

interface Credentials {
  servers: Record<string, SavedLogin>;
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_CONFIG_HOME'];
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.config'), 'mosaic');
}

export function credentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'credentials.json');
}

/** A server's key: its origin (scheme, host, port), so `http://h:1/` and `http://h:1` match. */
export function serverKey(url: string): string {
  return new URL(url).origin;
}

async function load(env: NodeJS.ProcessEnv): Promise<Credentials> {
  try {
    const parsed = JSON.parse(await readFile(credentialsFile(env), 'utf8')) as Partial<Credentials>;
    return { servers: parsed.servers ?? {} };
  } catch {
    return { servers: {} };
  }
}

export async function savedToken(
  server: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | null> {
  return (await load(env)).servers[serverKey(server)]?.token ?? null;
}

/** What is saved for a server (the token, its account and, since logins save it, its id). */
export async function savedLogin(
  server: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SavedLogin | null> {
  return (await load(env)).servers[serverKey(server)] ?? null;
}

export async function saveToken(
  server: string,
  username: string,
  token: string,
  env: NodeJS.ProcessEnv = process.env,
  tokenId?: string,
): Promise<string> {
  const all = await load(env);
  all.servers[serverKey(server)] = {
    token,
    username,
    ...(tokenId === undefined ? {} : { tokenId }),
  };
  return store(all, env);
}

/** Forgets what is saved for a server; whether anything was. */
export async function forgetToken(
  server: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<boolean> {
  const all = await load(env);
  const key = serverKey(server);
  if (all.servers[key] === undefined) return false;
  const servers = Object.fromEntries(Object.entries(all.servers).filter(([k]) => k !== key));
  await store({ servers }, env);
  return true;
}

/** Writes the file whole, aside then renamed, readable by the user only. */
async function store(all: Credentials, env: NodeJS.ProcessEnv): Promise<string> {
  await mkdir(configDir(env), { recursive: true, mode: 0o700 });
  const file = credentialsFile(env);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600); // in case a umask or an old file got in the way
  await rename(tmp, file);
  return file;
}
