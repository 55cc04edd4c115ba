import nodeModule from 'node:module';
import { Command, Option } from 'commander';
import { LOG_LEVELS, resolveNodeConfig } from '../config/node-config.js';

/** How long a stop may take before the process exits anyway (Docker waits 10 s). */
const STOP_LIMIT_MS = 8_000;

export function nodeCommand(): Command {
  return new Command('node')
    .description('Run one Mosaic node')
    .option('--data <dir>', 'data directory, required (env MOSAIC_DATA)')
    .option('--port <port>', 'HTTP port, 0 for any free port (env MOSAIC_PORT, default 7070)')
    .option('--host <host>', 'address to listen on (env MOSAIC_HOST, default 127.0.0.1)')
    .option('--name <name>', 'node name shown to people (env MOSAIC_NAME)')
    .addOption(
      new Option('--log-level <level>', 'log level (env MOSAIC_LOG_LEVEL, default info)').choices(
        LOG_LEVELS,
      ),
    )
    .option(
      '--max-upload-bytes <n>',
      'largest accepted upload (env MOSAIC_MAX_UPLOAD_BYTES, default 200 MiB)',
    )
    .option(
      '--trash-retention-days <n>',
      'days deleted bytes are kept (env MOSAIC_TRASH_DAYS, default 30)',
    )
    .option(
      '--peer <url>',
      'a peer node, repeatable (env MOSAIC_PEERS, comma-separated)',
      collect,
      [],
    )
    .option(
      '--folder <[name=]dir>',
      'a folder to keep in sync with the cluster, repeatable (env MOSAIC_FOLDERS, comma-separated)',
      collect,
      [],
    )
    .option(
      '--folder-user <folder=user>',
      'an account (not an admin) that may sync the folder from a device, repeatable (env MOSAIC_FOLDER_USERS)',
      collect,
      [],
    )
    .option('--cluster-key <key>', 'shared secret of the cluster (env MOSAIC_CLUSTER_KEY)')
    .addOption(
      new Option(
        '--discovery <on|off>',
        'find peers on the LAN (env MOSAIC_DISCOVERY, default on)',
      ).choices(['on', 'off']),
    )
    .option(
      '--discovery-port <port>',
      'UDP port for LAN discovery (env MOSAIC_DISCOVERY_PORT, default 7077)',
    )
    .option(
      '--sync-interval-ms <ms>',
      'anti-entropy interval (env MOSAIC_SYNC_INTERVAL_MS, default 5000)',
    )
    .option('--advertise-url <url>', 'URL peers use to reach this node (env MOSAIC_ADVERTISE_URL)')
    .option(
      '--database <url>',
      'where metadata lives: postgres://USER:PASS@HOST/DB, shared by every process of a site (env MOSAIC_DATABASE, default: SQLite under --data)',
    )
    .option(
      '--blobs <url>',
      'where bytes live: s3://BUCKET[/PREFIX]?endpoint=URL&region=R for an S3 store (env MOSAIC_BLOBS, default: files under --data)',
    )
    .option(
      '--trust-proxy <on|off|addresses>',
      'believe X-Forwarded-* from this reverse proxy (env MOSAIC_TRUST_PROXY, default off)',
    )
    .option(
      '--metrics-token <token>',
      'bearer token that may read /metrics, e.g. for Prometheus (env MOSAIC_METRICS_TOKEN)',
    )
    .action(
      async (
        flags: Record<string, string | undefined> & {
          peer: string[];
          folder: string[];
          folderUser: string[];
        },
      ) => {
        const config = resolveNodeConfig(
          {
            dataDir: flags['data'],
            port: flags['port'],
            host: flags['host'],
            name: flags['name'],
            logLevel: flags['logLevel'],
            maxUploadBytes: flags['maxUploadBytes'],
            trashRetentionDays: flags['trashRetentionDays'],
            peers: flags.peer,
            folders: flags.folder,
            folderUsers: flags.folderUser,
            clusterKey: flags['clusterKey'],
            discovery: flags['discovery'],
            discoveryPort: flags['discoveryPort'],
            syncIntervalMs: flags['syncIntervalMs'],
            advertiseUrl: flags['advertiseUrl'],
            blobs: flags['blobs'],
            database: flags['database'],
            trustProxy: flags['trustProxy'],
            metricsToken: flags['metricsToken'],
          },
          process.env,
        );
        // The handlers go in before the node starts: it answers (and says "node listening")
        // before its leases and folder scans are up, and a SIGTERM then must still close it
        // (exit 0) rather than end the process by the signal's default action.
        // The node's code is loaded here, not at the CLI's start (engines.ts).
        const started = import('./engines.js').then(({ startNode }) => startNode(config));
        const stopping = { signal: null as NodeJS.Signals | null, compacting: (): void => {} };
        const stop = (signal: NodeJS.Signals) => {
          if (stopping.signal !== null) return;
          stopping.signal = signal;
          // The close cuts what is still in flight after 2 s (node.ts); whatever else holds it
          // (a database that stopped answering) must not keep the process past a supervisor's
          // patience: every store is safe to leave as a SIGKILL would.
          setTimeout(() => {
            console.error(
              `mosaic node: not stopped ${STOP_LIMIT_MS / 1000} s after ${signal}; exiting`,
            );
            process.exit(1);
          }, STOP_LIMIT_MS).unref();
          // A node still starting is closed as soon as its start is done.
          void started.then((node) => {
            stopping.compacting();
            node.app.log.info({ signal }, 'stopping');
            return node.close().then(
              () => process.exit(0),
              (err: unknown) => {
                console.error(err);
                process.exit(1);
              },
            );
          });
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        await started;
        if (stopping.signal !== null) return;
        // The code compiled to get here, on disk now (bin/mosaic.js enables the cache) rather
        // than at exit, which a node killed hard never reaches. Nothing to write when it all
        // came from the cache.
        nodeModule.flushCompileCache();
        const { compactHeapWhenIdle } = await import('./engines.js');
        stopping.compacting = compactHeapWhenIdle();
      },
    );
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
