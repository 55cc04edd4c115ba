import { Command } from 'commander';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { existsSync } from 'node:fs';

export function userCommand(): Command {
  const user = new Command('user').description('Manage accounts');
  user
    .command('add')
    .description("Add an account to a node's data directory (it replicates to the cluster)")
    .argument('<name>', 'username')
    .option('--data <dir>', 'data directory (env MOSAIC_DATA)')
    .option(
      '--database <url>',
      "the site's PostgreSQL, when its nodes run with --database (env MOSAIC_DATABASE)",
    )
    .option('--password-stdin', 'read the password from standard input')
    .option('--admin', 'make the account an administrator')
    .action(
      async (
        name: string,
        flags: { data?: string; database?: string; passwordStdin?: boolean; admin?: boolean },
      ) => {
        // Loaded here, not at the CLI's start (engines.ts).
        const {
          AccountService,
          NewPassword,
          Username,
          openReplicaState,
          openSqliteStore,
          openMetadataStore,
          SiteIdentityRepository,
        } = await import('./engines.js');
        const database = flags.database ?? process.env['MOSAIC_DATABASE'];
        const dataDir = flags.data ?? process.env['MOSAIC_DATA'];
        if (!dataDir && !database)
          throw new Error('Give the data directory with --data or MOSAIC_DATA.');
        const username = Username.safeParse(name);
        if (!username.success)
          throw new Error(username.error.issues[0]?.message ?? 'Invalid username.');
        const typed = flags.passwordStdin
          ? await readStdin()
          : await prompt(`Password for ${name}: `);
        // The rules of the API's (POST /api/users, password changes and resets).
        const password = NewPassword.safeParse(typed);
        if (!password.success)
          throw new Error(password.error.issues[0]?.message ?? 'Invalid password.');

        // Writing through the node's own change log makes the account an operation like any
        // other, so it replicates. WAL lets this run while the node is up; on PostgreSQL the
        // site's processes see the new row at once.
        const store = database
          ? await openMetadataStore(database)
          : openSqliteStore(sqliteFileIn(dataDir ?? ''));
        try {
          const identity = await new SiteIdentityRepository(store).load();
          const { accounts, changes } = openReplicaState(store, identity.id);
          await new AccountService(accounts, changes).addUser(
            username.data,
            password.data,
            flags.admin ? 'admin' : 'user',
          );
          console.log(`Added ${flags.admin ? 'administrator' : 'user'} ${username.data}.`);
        } finally {
          await store.close();
        }
      },
    );
  return user;
}

function sqliteFileIn(dataDir: string): string {
  const dbFile = join(dataDir, 'mosaic.db');
  if (!existsSync(dbFile))
    throw new Error(`No Mosaic node data in ${dataDir} (run "mosaic node" first).`);
  return dbFile;
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Asks for a password on the terminal without echoing it. */
export async function prompt(question: string): Promise<string> {
  if (!process.stdin.isTTY)
    throw new Error('No terminal to ask for a password: use --password-stdin.');
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  const output = rl as unknown as { _writeToOutput: (s: string) => void };
  process.stdout.write(question);
  output._writeToOutput = () => undefined;
  try {
    return await new Promise<string>((resolve) => {
      rl.question('', resolve);
    });
  } finally {
    rl.close();
    process.stdout.write('\n');
  }
}
