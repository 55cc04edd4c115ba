import { Command, Option } from 'commander';
import { hostname } from 'node:os';
import { forgetToken, savedLogin, saveToken, type SavedLogin } from './credentials.js';
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
      // The token this one replaces is revoked; one saved by an older version, without its id,
      // cannot be named and is left as it was. The login stands either way.
      if (before?.tokenId !== undefined && before.token !== token) {
        const why = await revoke(server, { ...before, tokenId: before.tokenId });
        if (why !== null) {
          console.error(
            `Could not revoke the token saved before${why} ` +
              `Revoke it (id ${before.tokenId}) from the web app's tokens.`,
          );
        }
      }
    });
}

/**
 * `mosaic logout --server URL`: revokes the token `mosaic login` saved for that server and
 * forgets it. When the node cannot be reached the token is kept (exit 1), so that a later
 * logout can still revoke it; `--forget` drops it unrevoked (a node that is gone for good).
 */
export function logoutCommand(): Command {
  return new Command('logout')
    .description('Revoke the API token mosaic login saved for a node, and forget it')
    .addOption(
      new Option('--server <url>', 'the node, e.g. http://home.example:7070')
        .env('MOSAIC_SERVER')
        .makeOptionMandatory(),
    )
    .option('--forget', 'forget the token even if the node cannot revoke it')
    .action(async (flags: { server: string; forget?: boolean }) => {
      const server = new URL(flags.server).origin;
      const saved = await savedLogin(server);
      if (saved === null) {
        console.log(`No token is saved for ${server}.`);
        return;
      }
      const problem =
        saved.tokenId === undefined
          ? 'The token was saved by an older mosaic login, without its id: only the web app can revoke it.'
          : await revoke(server, { ...saved, tokenId: saved.tokenId }).then((why) =>
              why === null ? null : `Could not revoke token ${saved.tokenId}${why}`,
            );
      if (problem !== null && flags.forget !== true) {
        process.exitCode = 1;
        console.error(
          `${problem} The token stays saved: run mosaic logout again when ${server} answers, ` +
            'or add --forget to drop it (then revoke it from the web app).',
        );
        return;
      }
      await forgetToken(server);
      if (problem !== null) console.error(`${problem} Forgotten here all the same.`);
      console.log(
        problem === null
          ? `Signed out of ${server} (${saved.username}): its token is revoked and forgotten.`
          : `Forgot the token for ${server} (${saved.username}).`,
      );
    });
}

/**
 * DELETEs a saved token; null when it is revoked (or was already, or its account is gone), else
 * why not, to follow "Could not revoke …": " (403): message." or ": Cannot connect to …".
 */
async function revoke(
  server: string,
  saved: SavedLogin & { tokenId: string },
): Promise<string | null> {
  try {
    const res = await reach(server, `/api/tokens/${saved.tokenId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${saved.token}` },
    });
    if (res.status === 204 || res.status === 401 || res.status === 404) return null;
    return sentence(` (${res.status}): ${await errorMessage(res)}`);
  } catch (error) {
    return sentence(`: ${(error as Error).message}`);
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

/** Ends `text` with one full stop. */
function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
