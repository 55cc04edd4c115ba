/**
 * `mosaic` command line. Each command lives in its own file; this one only wires them.
 */
import { Command } from 'commander';
import { VERSION } from '../version.js';
import { clusterCommand } from './cluster.command.js';
import { nodeCommand } from './node.command.js';
import { userCommand } from './user.command.js';
import { loginCommand, logoutCommand } from './login.command.js';
import { syncCommand } from './sync.command.js';
import { migrateCommand } from './migrate.command.js';

export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command()
    .name('mosaic')
    .description('Self-hosted photo and file sharing across several sites.')
    .version(VERSION)
    .showHelpAfterError();
  program.addCommand(nodeCommand());
  program.addCommand(clusterCommand());
  program.addCommand(userCommand());
  program.addCommand(loginCommand());
  program.addCommand(logoutCommand());
  program.addCommand(syncCommand());
  program.addCommand(migrateCommand());
  await program.parseAsync(argv);
}
