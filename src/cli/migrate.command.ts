import { Command, Option } from 'commander';

/**
 * `mosaic migrate --from-data DIR --database postgres://… --blobs s3://…`: moves a stopped
 * one-process node into PostgreSQL and S3 (src/storage/migrate/migrate.ts). Safe to run again:
 * after a crash it finishes the job, after success it does nothing.
 */
export function migrateCommand(): Command {
  return new Command('migrate')
    .description(
      'Move a stopped one-process node (SQLite + local files) into PostgreSQL and an S3 store',
    )
    .requiredOption('--from-data <dir>', "the node's data directory (the node must be stopped)")
    .addOption(
      new Option('--database <url>', 'postgres://…').env('MOSAIC_DATABASE').makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--blobs <url>',
        's3://BUCKET[/PREFIX]?endpoint=URL&region=R (credentials as for mosaic node)',
      )
        .env('MOSAIC_BLOBS')
        .makeOptionMandatory(),
    )
    .action(async (flags: { fromData: string; database: string; blobs: string }) => {
      try {
        // Loaded here, not at the CLI's start: it brings pg and the AWS SDK with it.
        const { migrateSite } = await import('../storage/migrate/migrate.js');
        const report = await migrateSite({
          dataDir: flags.fromData,
          database: flags.database,
          blobs: flags.blobs,
          log: (line) => {
            console.log(line);
          },
        });
        console.log(
          report.state === 'migrated'
            ? `Done: site ${report.siteId} is now in PostgreSQL and the object store.`
            : `Nothing to do: site ${report.siteId} was already migrated.`,
        );
      } catch (error) {
        console.error(`mosaic migrate: ${error instanceof Error ? error.message : String(error)}`);
        process.exitCode = 1;
      }
    });
}
