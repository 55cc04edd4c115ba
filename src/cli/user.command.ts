import { Command } from 'commander';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import type { AccountService } from '../accounts/account.service.js';
import type { AccountRepository } from '../accounts/account.repository.js';

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
        const { NewPassword, Username } = await import('./engines.js');
        whereData(flags); // before asking for the password
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
        await withAccounts(flags, async (service) => {
          await service.addUser(username.data, password.data, flags.admin ? 'admin' : 'user');
        });
        console.log(`Added ${flags.admin ? 'administrator' : 'user'} ${username.data}.`);
      },
    );
  user
    .command('access')
    .description(
      "Make an account an admin or not, disable or enable it, on a node's data (it replicates); " +
        'the way back when no admin can sign in',
    )
    .argument('<name>', 'username')
    .option('--data <dir>', 'data directory (env MOSAIC_DATA)')
    .option('--database <url>', "the site's PostgreSQL (env MOSAIC_DATABASE)")
    .option('--role <role>', 'admin or user')
    .option('--disable', 'disable the account: signed out everywhere, its tokens refused')
    .option('--enable', 'enable the account again')
    .action(
      async (
        name: string,
        flags: {
          data?: string;
          database?: string;
          role?: string;
          disable?: boolean;
          enable?: boolean;
        },
      ) => {
        if (flags.role !== undefined && flags.role !== 'admin' && flags.role !== 'user') {
          throw new Error('--role is admin or user.');
        }
        if (flags.disable && flags.enable) throw new Error('Give --disable or --enable, not both.');
        const disabled = flags.disable ? true : flags.enable ? false : undefined;
        if (flags.role === undefined && disabled === undefined) {
          throw new Error('Give --role, --disable or --enable.');
        }
        const role = flags.role;
        const person = await withAccounts(flags, async (service, accounts) => {
          const found = await accounts.findUser(name);
          if (!found) throw new Error(`No account named ${name}.`);
          return service.changeAccess(found.username, { role, disabled });
        });
        console.log(`${person.username}: ${person.role}${person.disabled ? ', disabled' : ''}.`);
      },
    );
  user
    .command('password')
    .description(
      "Set an account's password on a node's data (it replicates); its sessions end everywhere. " +
        'The way back for a forgotten password',
    )
    .argument('<name>', 'username')
    .option('--data <dir>', 'data directory (env MOSAIC_DATA)')
    .option('--database <url>', "the site's PostgreSQL (env MOSAIC_DATABASE)")
    .option('--password-stdin', 'read the new password from standard input')
    .action(
      async (
        name: string,
        flags: { data?: string; database?: string; passwordStdin?: boolean },
      ) => {
        const { NewPassword } = await import('./engines.js');
        whereData(flags); // before asking for the password
        // The account first: a password typed for a name that is not there is not asked for.
        const found = await withAccounts(flags, (_service, accounts) => accounts.findUser(name));
        if (!found) throw new Error(`No account named ${name}.`);
        const typed = flags.passwordStdin
          ? await readStdin()
          : await prompt(`New password for ${found.username}: `);
        const password = NewPassword.safeParse(typed);
        if (!password.success)
          throw new Error(password.error.issues[0]?.message ?? 'Invalid password.');
        await withAccounts(flags, async (service, accounts) => {
          // Read again: its role may have changed while the password was typed.
          const now = await accounts.findUser(found.username);
          if (!now) throw new Error(`No account named ${name}.`);
          await service.setPassword(now.username, password.data, now.role, true);
        });
        console.log(
          `Password of ${found.username} set; its sessions end at every node. ` +
            'Its API tokens (mosaic sync) stay valid: revoke them in the web app if they leaked.',
        );
      },
    );
  return user;
}

/** Runs `work` on the accounts of the node's data (a data directory, or the site's database). */
async function withAccounts<T>(
  flags: { data?: string; database?: string },
  work: (service: AccountService, accounts: AccountRepository) => Promise<T>,
): Promise<T> {
  const {
    AccountService,
    openReplicaState,
    openSqliteStore,
    openMetadataStore,
    SiteIdentityRepository,
  } = await import('./engines.js');
  const { database, dataDir } = whereData(flags);
  const store = database
    ? await openMetadataStore(database)
    : openSqliteStore(sqliteFileIn(dataDir ?? ''));
  try {
    const identity = await new SiteIdentityRepository(store).load();
    const { accounts, credentials, changes } = openReplicaState(store, identity.id);
    return await work(new AccountService(accounts, credentials, changes), accounts);
  } finally {
    await store.close();
  }
}

/** The node's data: a data directory or the site's database, from the flags or the env. */
function whereData(flags: { data?: string; database?: string }): {
  database: string | undefined;
  dataDir: string | undefined;
} {
  const database = flags.database ?? process.env['MOSAIC_DATABASE'];
  const dataDir = flags.data ?? process.env['MOSAIC_DATA'];
  if (!dataDir && !database) throw new Error('Give the data directory with --data or MOSAIC_DATA.');
  return { database, dataDir };
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
