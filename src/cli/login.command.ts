import { Command, Option } from 'commander';
import { hostname } from 'node:os';
import { savedLogin, saveToken, type SavedLogin } from './credentials.js';
import { prompt, readStdin } from './user.command.js';

/**
 * `mosaic login --server URL`: signs in with a password once, creates an API token for this
 * machine (POST /api/tokens) and saves it for `mosaic sync` (see credentials.ts). The token it
 * saved there before for that server is revoked (DELETE /api/tokens/:id, with that token), so
 * logging in again does not leave one more valid token behind.
 */
export function loginCommand(): Command {
  return new Command('login')
    .description('Sign in to a node and save an API token for mosaic sync')
    .addOption(
      new Option('--server <url>', 'the node, e.g. http://home.example:7070')
        .env('MOSAIC_SERVER')
        .makeOptionMandatory(),
    )
    .option('--username <name>', 'account', 'admin')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (flags: { server: string; username: string; passwordStdin?: boolean }) => {
      const server = flags.server;
      const password = flags.passwordStdin
        ? await readStdin()
        : await prompt(`Password for ${flags.username} at ${server}: `);
      const login = await reach(server, '/api/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: flags.username, password }),
      });
      if (login.status !== 200) {
        process.exitCode = login.status === 401 ? 3 : 1;
        console.error(`Login refused (${login.status}): ${await errorMessage(login)}`);
        return;
      }
      const cookie = login.headers
        .getSetCookie()
        .map((c) => c.split(';')[0] ?? '')
        .find((c) => c.startsWith('mosaic_session='));
      const created = await reach(server, '/api/tokens', {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: cookie ?? '' },
        body: JSON.stringify({ name: `mosaic sync on ${hostname()}`.slice(0, 100) }),
      });
      if (created.status !== 201) {
        process.exitCode = 1;
        console.error(
          `Could not create a token (${created.status}): ${await errorMessage(created)}`,
        );
        return;
      }
      const { token, id } = (await created.json()) as { token: string; id: string };
      const before = await savedLogin(server);
      const file = await saveToken(server, flags.username, token, process.env, id);
      console.log(`Signed in to ${server} as ${flags.username}; token saved in ${file}.`);
      if (before !== null && before.token !== token) await revoke(server, before);
    });
}

/**
 * Revokes the token a new login replaced. One already revoked (or whose account is gone) is
 * left unsaid; a node that does not answer is said, the login stands either way. A token saved
 * by a Mosaic that did not keep its id cannot be named: it is left as it was.
 */
async function revoke(server: string, before: SavedLogin): Promise<void> {
  if (before.tokenId === undefined) return;
  try {
    const res = await reach(server, `/api/tokens/${before.tokenId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${before.token}` },
    });
    if (res.status === 204 || res.status === 401 || res.status === 404) return;
    console.error(
      `Could not revoke the token saved before (${res.status}): ${await errorMessage(res)}`,
    );
  } catch (error) {
    console.error(
      `Could not revoke the token saved before: ${(error as Error).message} ` +
        `Revoke it (id ${before.tokenId}) from the web app's tokens.`,
    );
  }
}

/** fetch, with a network failure said as a sentence naming the server (not "fetch failed"). */
export async function reach(server: string, path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(new URL(path, server), init);
  } catch (error) {
    throw new Error(`Cannot connect to ${new URL(server).origin} (${networkProblem(error)}).`, {
      cause: error,
    });
  }
}

function networkProblem(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  switch (cause?.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'timed out';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to host';
    default:
      return cause?.message ?? (error as Error).message;
  }
}

async function errorMessage(res: Response): Promise<string> {
  const text = await res.text();
  try {
    return (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
  } catch {
    return text;
  }
}
