import { Command, Option } from 'commander';
import { hostname } from 'node:os';
import { saveToken } from './credentials.js';
import { prompt, readStdin } from './user.command.js';

/**
 * `mosaic login --server URL`: signs in with a password once, creates an API token for this
 * machine (POST /api/tokens) and saves it for `mosaic sync` (see credentials.ts).
 */
export function loginCommand(): Command {
  return new Command('login')
    .description('Sign in to a node and save an API token for mosaic sync')
    .addOption(
      new Option('--server <url>', 'the node, e.g. http://home.example:7070')
        .env('MOSAIC_SERVER')
        .makeOptionMandatory(),
    )
    .option('--username <name>', 'account (default admin)', 'admin')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (flags: { server: string; username: string; passwordStdin?: boolean }) => {
      const server = flags.server;
      const password = flags.passwordStdin
        ? await readStdin()
        : await prompt(`Password for ${flags.username} at ${server}: `);
      const login = await fetch(new URL('/api/auth/login', server), {
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
      const created = await fetch(new URL('/api/tokens', server), {
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
      const { token } = (await created.json()) as { token: string };
      const file = await saveToken(server, flags.username, token);
      console.log(`Signed in to ${server} as ${flags.username}; token saved in ${file}.`);
    });
}

async function errorMessage(res: Response): Promise<string> {
  const text = await res.text();
  try {
    return (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
  } catch {
    return text;
  }
}
