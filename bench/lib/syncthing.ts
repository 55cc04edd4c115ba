/**
 * Two Syncthing instances on 127.0.0.1 sharing one folder, for the side-by-side folder bench.
 * Only used when the `syncthing` binary is on the PATH (Debian: `apt-get install syncthing`).
 * Each instance gets its own home, a loopback listen address, no discovery, relays, NAT
 * traversal, usage reports or upgrades (nothing may leave the machine), and otherwise Syncthing's
 * default folder settings (watcher on, 10 s watcher delay), as a user would run it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './nodes.js';

export interface SyncthingPair {
  /** Files in the folder as each instance has indexed them, and what the second still needs. */
  status(): Promise<{ files: [number, number]; need: [number, number] }>;
  readonly pids: readonly (number | undefined)[];
  stop(): Promise<void>;
}

export function syncthingVersion(): string | null {
  try {
    return execFileSync('syncthing', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

interface Instance {
  readonly home: string;
  readonly id: string;
  readonly gui: string;
  readonly listen: string;
  readonly key: string;
  proc?: ChildProcess;
}

const FOLDER_ID = 'bench';

export async function startSyncthingPair(
  dir: string,
  roots: readonly [string, string],
): Promise<SyncthingPair> {
  const instances: Instance[] = [];
  for (let i = 0; i < 2; i++) {
    const home = join(dir, `syncthing-${i + 1}`);
    execFileSync(
      'syncthing',
      ['generate', `--home=${home}`, '--no-default-folder', '--skip-port-probing'],
      { stdio: 'ignore' },
    );
    const id = execFileSync('syncthing', ['serve', `--home=${home}`, '--device-id'], {
      encoding: 'utf8',
    }).trim();
    if (!/^[A-Z0-9-]{50,}$/.test(id)) throw new Error(`not a Syncthing device id: ${id}`);
    const instance: Instance = {
      home,
      id,
      gui: `127.0.0.1:${await freePort()}`,
      listen: `tcp://127.0.0.1:${await freePort()}`,
      key: randomBytes(16).toString('hex'),
    };
    await isolate(instance);
    instances.push(instance);
  }
  for (const instance of instances) {
    instance.proc = spawn(
      'syncthing',
      [
        'serve',
        `--home=${instance.home}`,
        '--no-browser',
        '--no-restart',
        '--no-upgrade',
        `--gui-address=http://${instance.gui}`,
        `--gui-apikey=${instance.key}`,
      ],
      { stdio: 'ignore', env: { ...process.env, STNODEFAULTFOLDER: '1', STNOUPGRADE: '1' } },
    );
  }
  const [a, b] = instances as [Instance, Instance];
  for (const instance of instances) await waitForApi(instance);
  for (const [self, other, root] of [
    [a, b, roots[0]],
    [b, a, roots[1]],
  ] as const) {
    await rest(self, 'POST', '/rest/config/devices', {
      deviceID: other.id,
      name: other === a ? 's1' : 's2',
      addresses: [other.listen],
    });
    await rest(self, 'POST', '/rest/config/folders', {
      id: FOLDER_ID,
      label: FOLDER_ID,
      path: root,
      devices: [{ deviceID: self.id }, { deviceID: other.id }],
    });
  }
  return {
    // `syncthing serve` may run the real work in a child of a monitor process: measure the
    // largest of the process and its children, read when asked (the worker can be restarted).
    get pids() {
      return instances.map((i) => largestOf(i.proc?.pid));
    },
    async status() {
      const [sa, sb] = (await Promise.all(
        instances.map((i) => rest(i, 'GET', `/rest/db/status?folder=${FOLDER_ID}`)),
      )) as [FolderStatus, FolderStatus];
      return { files: [sa.localFiles, sb.localFiles], need: [sa.needFiles, sb.needFiles] };
    },
    async stop() {
      await Promise.all(
        instances.map(
          (i) =>
            new Promise<void>((resolve) => {
              if (!i.proc || i.proc.exitCode !== null) {
                resolve();
                return;
              }
              i.proc.once('exit', () => {
                resolve();
              });
              i.proc.kill('SIGKILL');
            }),
        ),
      );
    },
  };
}

/** Of a process and its children, the one with the highest peak RSS (VmHWM). */
function largestOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const hwm = (p: number) => {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      return 0;
    }
  };
  // Go starts a child from whichever OS thread runs the call: read every thread's children.
  const children: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const list = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of list.split(/\s+/).filter(Boolean)) children.push(Number(child));
    }
  } catch {
    // gone, or no children
  }
  return [pid, ...children].reduce((best, p) => (hwm(p) > hwm(best) ? p : best), pid);
}

interface FolderStatus {
  localFiles: number;
  needFiles: number;
}

/** Loopback only: no discovery, relays, NAT traversal, usage reports or crash reports. */
async function isolate(instance: Instance): Promise<void> {
  const file = join(instance.home, 'config.xml');
  const replacements: [RegExp, string][] = [
    [
      /<listenAddress>default<\/listenAddress>/,
      `<listenAddress>${instance.listen}</listenAddress>`,
    ],
    [/<globalAnnounceEnabled>true</, '<globalAnnounceEnabled>false<'],
    [/<localAnnounceEnabled>true</, '<localAnnounceEnabled>false<'],
    [/<relaysEnabled>true</, '<relaysEnabled>false<'],
    [/<natEnabled>true</, '<natEnabled>false<'],
    [/<startBrowser>true</, '<startBrowser>false<'],
    [/<urAccepted>0</, '<urAccepted>-1<'],
    [/<crashReportingEnabled>true</, '<crashReportingEnabled>false<'],
    [/<autoUpgradeIntervalH>\d+</, '<autoUpgradeIntervalH>0<'],
  ];
  let xml = await readFile(file, 'utf8');
  for (const [pattern, value] of replacements) {
    if (!pattern.test(xml)) throw new Error(`unexpected Syncthing config: no ${String(pattern)}`);
    xml = xml.replace(pattern, value);
  }
  await writeFile(file, xml);
}

async function rest(instance: Instance, method: string, path: string, body?: unknown) {
  const res = await fetch(`http://${instance.gui}${path}`, {
    method,
    headers: { 'X-API-Key': instance.key, 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`syncthing ${method} ${path}: ${res.status} ${text}`);
  return text === '' ? null : (JSON.parse(text) as unknown);
}

async function waitForApi(instance: Instance): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      await rest(instance, 'GET', '/rest/system/ping');
      return;
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
