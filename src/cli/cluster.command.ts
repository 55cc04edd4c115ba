/**
 * `mosaic cluster`: a whole cluster on this machine, for trying Mosaic out and for development.
 * Starts N `mosaic node` processes on consecutive ports, each with its own data directory
 * `<data>/node-N/`, all sharing one cluster key (kept in `<data>/cluster.key`) and one admin
 * password, prints where they are, and stops them all on Ctrl-C.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { passwordProblem } from '../accounts/password-rule.js';
import { LOG_LEVELS } from '../config/node-config.js';
import { parseClusterOptions, planNodes, MAX_NODES, type NodePlan } from './cluster.plan.js';
import { superviseNodes } from './cluster.processes.js';
import { nodeCommand } from './node.command.js';

/** bin/mosaic.js, seen from this file compiled to dist/src/cli/. */
const BIN = fileURLToPath(new URL('../../../bin/mosaic.js', import.meta.url));

const KEY_FILE = 'cluster.key';
const MIN_KEY_LENGTH = 16;

/**
 * Variables of this process that name one node; the children must not inherit them (a flag
 * does not always override them: with one node there is no --peer to beat MOSAIC_PEERS).
 */
const PER_NODE_ENV = new Set([
  'MOSAIC_DATA',
  'MOSAIC_PORT',
  'MOSAIC_HOST',
  'MOSAIC_NAME',
  'MOSAIC_PEERS',
  'MOSAIC_ADVERTISE_URL',
  'MOSAIC_DISCOVERY',
  'MOSAIC_FOLDERS',
  'MOSAIC_LOG_LEVEL',
  // Set below when the cluster has one; a node must not pick up a stray one otherwise.
  'MOSAIC_ADMIN_PASSWORD',
]);

interface ClusterFlags {
  nodes: string;
  basePort: string;
  data: string;
  host: string;
  logLevel: string;
}

export function clusterCommand(): Command {
  return new Command('cluster')
    .description(
      'Run a local cluster: N nodes on consecutive ports with one cluster key (Ctrl-C stops all)',
    )
    .option('--nodes <n>', `number of nodes, 1 to ${MAX_NODES}`, '4')
    .option('--base-port <port>', 'HTTP port of node-1; node-N gets base-port + N - 1', '7071')
    .option(
      '--data <dir>',
      "parent of the nodes' data directories (<data>/node-N/)",
      './mosaic-data',
    )
    .option('--host <host>', 'address the nodes listen on', '127.0.0.1')
    .addOption(
      new Option('--log-level <level>', 'lowest level of node log lines to show')
        .choices(LOG_LEVELS)
        .default('warn'),
    )
    .addHelpText(
      'after',
      '\nEnvironment: MOSAIC_CLUSTER_KEY replaces the key kept in <data>/cluster.key;\n' +
        'MOSAIC_ADMIN_PASSWORD sets the password of "admin" on first start (else one is\n' +
        'generated and printed once).',
    )
    .action(async (flags: ClusterFlags) => {
      await runCluster(flags, process.env);
    });
}

async function runCluster(flags: ClusterFlags, env: NodeJS.ProcessEnv): Promise<void> {
  const options = parseClusterOptions({
    nodes: flags.nodes,
    basePort: flags.basePort,
    dataDir: resolve(flags.data),
    host: flags.host,
    logLevel: flags.logLevel,
  });
  const plans = planNodes(options, { withFolders: nodeHasFolderOption() });

  // A node that has data keeps its accounts; only the fresh ones will seed "admin".
  const fresh = plans.filter((plan) => !existsSync(join(plan.dataDir, 'mosaic.db')));
  const admin = adminPassword(fresh.length > 0, env['MOSAIC_ADMIN_PASSWORD']);
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const clusterKey = await loadClusterKey(options.dataDir, env['MOSAIC_CLUSTER_KEY']);
  for (const plan of plans) {
    await mkdir(plan.dataDir, { recursive: true, mode: 0o700 });
    if (plan.folder !== undefined) await mkdir(plan.folder, { recursive: true });
  }

  const inherited = Object.entries(env).filter(([name]) => !PER_NODE_ENV.has(name));
  const childEnv: NodeJS.ProcessEnv = {
    ...Object.fromEntries(inherited),
    MOSAIC_CLUSTER_KEY: clusterKey.key,
    // The same password for every fresh node, so that "admin" is the same account everywhere.
    // Like the key, it travels in the environment: the command line is visible to `ps`.
    ...(admin.password === undefined ? {} : { MOSAIC_ADMIN_PASSWORD: admin.password }),
  };

  const say = (line: string) => process.stdout.write(`[cluster] ${line}\n`);
  say(`Starting ${plans.length} node${plans.length === 1 ? '' : 's'} in ${options.dataDir}...`);
  const outcome = await superviseNodes(plans, {
    command: process.execPath,
    script: BIN,
    env: childEnv,
    logLevel: options.logLevel,
    say,
    onReady: (urls) => {
      process.stdout.write(
        banner({ plans, urls, dataDir: options.dataDir, clusterKey, admin, fresh }),
      );
    },
  });
  if (outcome.kind === 'failed') {
    // Some fresh node may have created "admin" before the failure: its password must not be lost.
    if (!outcome.wasReady && admin.source === 'generated') {
      const names = fresh.map((plan) => plan.name).join(', ');
      say(`The password given to "admin" on ${names}: ${admin.password ?? ''}`);
    }
    throw new Error(`mosaic cluster stopped: ${outcome.reason}`);
  }
  say(`All nodes stopped (${outcome.signal}).`);
}

/** Whether this build's `mosaic node` has `--folder` (folder sync comes with a later issue). */
function nodeHasFolderOption(): boolean {
  return nodeCommand().options.some((option) => option.long === '--folder');
}

interface ClusterKey {
  readonly key: string;
  /** Where it came from, for the banner. */
  readonly source: 'env' | 'created' | 'file';
  readonly file: string;
}

/**
 * MOSAIC_CLUSTER_KEY if set; else the key in `<data>/cluster.key`, created (mode 0600) on the
 * first run so that a restart, and every node, uses the same one.
 */
async function loadClusterKey(dataDir: string, fromEnv: string | undefined): Promise<ClusterKey> {
  const file = join(dataDir, KEY_FILE);
  if (fromEnv !== undefined && fromEnv !== '') {
    checkKey(fromEnv, 'MOSAIC_CLUSTER_KEY');
    return { key: fromEnv, source: 'env', file };
  }
  try {
    const created = randomBytes(32).toString('base64url');
    // 'wx': never overwrite a key that exists (another run may have just written it).
    await writeFile(file, `${created}\n`, { mode: 0o600, flag: 'wx' });
    return { key: created, source: 'created', file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const key = (await readFile(file, 'utf8')).trim();
  checkKey(key, file);
  // The key lets anyone act as a node of the cluster: keep it private even if copied loosely.
  if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
  return { key, source: 'file', file };
}

function checkKey(key: string, where: string): void {
  if (key.length < MIN_KEY_LENGTH) {
    throw new Error(`The cluster key in ${where} is shorter than ${MIN_KEY_LENGTH} characters.`);
  }
}

interface AdminPassword {
  /** The password given to fresh nodes; undefined when no node is fresh. */
  readonly password: string | undefined;
  readonly source: 'env' | 'generated' | 'existing';
}

/** MOSAIC_ADMIN_PASSWORD, or a generated one when some node will create "admin". */
function adminPassword(anyFresh: boolean, fromEnv: string | undefined): AdminPassword {
  if (fromEnv !== undefined && fromEnv !== '') {
    // Refused as a node would refuse it, before any node starts: only if some node will use it.
    const problem = anyFresh ? passwordProblem(fromEnv) : null;
    if (problem !== null) throw new Error(`MOSAIC_ADMIN_PASSWORD: ${problem}`);
    return { password: fromEnv, source: 'env' };
  }
  if (!anyFresh) return { password: undefined, source: 'existing' };
  return { password: randomBytes(12).toString('base64url'), source: 'generated' };
}

interface BannerInput {
  readonly plans: readonly NodePlan[];
  readonly urls: readonly string[];
  readonly dataDir: string;
  readonly clusterKey: ClusterKey;
  readonly admin: AdminPassword;
  readonly fresh: readonly NodePlan[];
}

function banner({ plans, urls, dataDir, clusterKey, admin, fresh }: BannerInput): string {
  const width = Math.max(...plans.map((p) => p.name.length));
  const rule = '-'.repeat(72);
  const lines = [
    rule,
    `Mosaic cluster: ${plans.length} node${plans.length === 1 ? '' : 's'} running`,
    ...plans.map((plan, i) => `  ${plan.name.padEnd(width)}  ${urls[i] ?? plan.url}`),
    '',
    ...adminLines(admin, plans, fresh),
    '',
    `Data: ${dataDir} (one directory per node: ${plans.map((p) => `${p.name}/`).join(' ')})`,
    clusterKey.source === 'env'
      ? 'Cluster key: from MOSAIC_CLUSTER_KEY'
      : `Cluster key: ${clusterKey.file}${clusterKey.source === 'created' ? ' (new)' : ''}`,
    '',
    'Ctrl-C stops all nodes.',
    rule,
  ];
  return `${lines.join('\n')}\n`;
}

function adminLines(
  admin: AdminPassword,
  plans: readonly NodePlan[],
  fresh: readonly NodePlan[],
): string[] {
  const names = (list: readonly NodePlan[]) => list.map((plan) => plan.name).join(', ');
  const existing = plans.filter((plan) => !fresh.includes(plan));
  if (existing.length > 0) {
    // A fresh node's own "admin" is a seed, which the cluster's account replaces once the node
    // has reached the others (accounts/core/password-claim.ts): no password of its own to tell.
    return [
      `${fresh.length === 0 ? 'The' : `On ${names(existing)} the`} account "admin" already` +
        ' exists: its password was printed at the first start',
      '  (or was the MOSAIC_ADMIN_PASSWORD of that start).',
      ...(fresh.length === 0
        ? []
        : [
            `${names(fresh)} take${fresh.length === 1 ? 's' : ''} it once in touch with the others.`,
          ]),
    ];
  }
  if (admin.source === 'env') {
    return ['Sign in as "admin" with the password in MOSAIC_ADMIN_PASSWORD.'];
  }
  return [
    `Sign in as "admin" with the password: ${admin.password ?? ''}`,
    '  (generated for this cluster, shown only this once and not stored;',
    '   set MOSAIC_ADMIN_PASSWORD to choose it yourself)',
  ];
}
