/**
 * compose.scale.yaml cannot be started here (no Docker, no registry), so this checks what can be
 * checked without it: the file parses; site A is three identical processes behind the balancer
 * with PostgreSQL and the S3 store, site B one process; every build context, Dockerfile and file
 * they copy exists; ports, names, credentials and flags agree between the files and with what
 * `mosaic node` and `mosaic migrate` accept.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { migrateCommand } from '../../src/cli/migrate.command.js';
import { parseBlobsUrl } from '../../src/config/blobs-url.js';
import { ENV_TWINS } from '../../src/config/node-config.js';
import { REPO_ROOT } from '../helpers/node-process.js';

interface Service {
  build?: string | { context: string; dockerfile: string };
  image?: string;
  deploy?: { replicas?: number };
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  networks?: string[] | Record<string, { ipv4_address?: string } | null>;
  entrypoint?: string[];
  profiles?: string[];
  depends_on?: unknown;
}

interface Compose {
  services: Record<string, Service>;
  networks: Record<string, { ipam?: { config?: { subnet?: string; ip_range?: string }[] } }>;
  volumes: Record<string, unknown>;
}

/** Read by the AWS SDK, not by Mosaic's config (src/config/blobs-url.ts). */
const SDK_VARIABLES = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);

const read = (path: string) => readFile(join(REPO_ROOT, path), 'utf8');

async function compose(): Promise<Compose> {
  return parse(await read('compose.scale.yaml'), { merge: true }) as Compose;
}

function service(c: Compose, name: string): Service {
  const s = c.services[name];
  if (!s) throw new Error(`no service ${name}`);
  return s;
}

/** `${NAME:?message}` → a sample value, as compose substitutes it. */
function substitute(value: string): string {
  return value.replace(/\$\{([A-Z_]+)(:[-?][^}]*)?\}/g, (_, name: string) => `sample-${name}`);
}

describe('compose.scale.yaml', () => {
  test('site A: three identical processes from the Mosaic image, on PostgreSQL and S3', async () => {
    const c = await compose();
    expect(Object.keys(c.services).sort()).toEqual(
      ['migrate', 'postgres', 's3', 'site-a', 'site-a-lb', 'site-b'].sort(),
    );
    const a = service(c, 'site-a');
    expect(a.build).toBe('.');
    expect(a.image).toBe('mosaic:local');
    expect(a.deploy?.replicas).toBe(3);
    // Stateless: no named volume (only the image's anonymous /data for scratch space).
    expect(a.volumes).toBeUndefined();
    expect(a.ports).toBeUndefined();
    const env = a.environment ?? {};
    expect(env['MOSAIC_DATABASE']).toMatch(
      /^postgres:\/\/postgres:\$\{POSTGRES_PASSWORD:\?[^}]+\}@postgres:5432\/mosaic$/,
    );
    const blobs = parseBlobsUrl(substitute(env['MOSAIC_BLOBS'] ?? ''), {
      AWS_ACCESS_KEY_ID: env['AWS_ACCESS_KEY_ID'],
      AWS_SECRET_ACCESS_KEY: substitute(env['AWS_SECRET_ACCESS_KEY'] ?? ''),
    });
    expect(blobs).toMatchObject({ kind: 's3', endpoint: 'http://s3:8080' });
    // The store's account is the one Mosaic signs with.
    const s3 = service(c, 's3');
    expect(s3.environment?.['S3_ACCESS_KEY']).toBe(env['AWS_ACCESS_KEY_ID']);
    expect(s3.environment?.['S3_SECRET_KEY']).toBe(env['AWS_SECRET_ACCESS_KEY']);
    expect(service(c, 'postgres').environment?.['POSTGRES_DB']).toBe('mosaic');
  });

  test('site B is one process of its own; the sites name each other by URL', async () => {
    const c = await compose();
    const a = service(c, 'site-a').environment ?? {};
    const b = service(c, 'site-b');
    const env = b.environment ?? {};
    expect(env['MOSAIC_DATABASE']).toBeUndefined();
    expect(env['MOSAIC_BLOBS']).toBeUndefined();
    expect(b.volumes).toEqual(['site-b-data:/data']);
    expect(env['MOSAIC_PEERS']).toBe(a['MOSAIC_ADVERTISE_URL']);
    expect(a['MOSAIC_PEERS']).toBe(env['MOSAIC_ADVERTISE_URL']);
    expect(a['MOSAIC_ADVERTISE_URL']).toBe('http://site-a-lb:7070');
    expect(env['MOSAIC_CLUSTER_KEY']).toBe(a['MOSAIC_CLUSTER_KEY']);
    expect(service(c, 'site-a-lb').ports).toEqual(['7071:7070']);
    expect(b.ports).toEqual(['7072:7070']);
  });

  test('every MOSAIC_ variable is an environment twin of mosaic node', async () => {
    const known = new Set(Object.values(ENV_TWINS));
    const c = await compose();
    for (const name of ['site-a', 'site-b']) {
      for (const variable of Object.keys(service(c, name).environment ?? {})) {
        expect(known.has(variable) || SDK_VARIABLES.has(variable), `${name}: ${variable}`).toBe(
          true,
        );
      }
    }
  });

  test('the balancer sends to the three processes, checks /healthz, and is the trusted proxy', async () => {
    const c = await compose();
    const cfg = await read('docker/lb/haproxy.cfg');
    const template = /^\s*server-template \w+ (\d+) ([\w-]+):(\d+) check$/m.exec(cfg);
    const slots = Number(template?.[1]);
    expect(slots).toBeGreaterThanOrEqual(service(c, 'site-a').deploy?.replicas ?? Infinity);
    expect(template?.slice(2)).toEqual(['site-a', '7070']);
    expect(cfg).toMatch(/^\s*option httpchk GET \/healthz$/m);
    expect(cfg).toMatch(/^\s*bind :7070$/m);
    const lb = service(c, 'site-a-lb');
    const address = (lb.networks as Record<string, { ipv4_address?: string }>)['mosaic-scale']
      ?.ipv4_address;
    expect(service(c, 'site-a').environment?.['MOSAIC_TRUST_PROXY']).toBe(address);
    const ipam = c.networks['mosaic-scale']?.ipam?.config?.[0];
    expect(ipam?.subnet).toBe('172.30.70.0/24');
    // Given-out addresses never collide with the balancer's fixed one.
    expect(ipam?.ip_range).toBe('172.30.70.128/25');
    expect(address).toBe('172.30.70.10');
  });

  test('the migrate service runs mosaic migrate with flags it knows, on site A storage', async () => {
    const c = await compose();
    const m = service(c, 'migrate');
    expect(m.profiles).toEqual(['migrate']);
    const [node, bin, command, ...flags] = m.entrypoint ?? [];
    expect([node, bin, command]).toEqual(['node', 'bin/mosaic.js', 'migrate']);
    const known = new Set(migrateCommand().options.map((o) => o.long));
    for (const flag of flags.filter((f) => f.startsWith('--')))
      expect(known.has(flag), flag).toBe(true);
    const env = m.environment ?? {};
    const a = service(c, 'site-a').environment ?? {};
    for (const name of [
      'MOSAIC_DATABASE',
      'MOSAIC_BLOBS',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
    ]) {
      expect(env[name], name).toBe(a[name]);
    }
    // migrate reads --database and --blobs from these variables.
    const envOf = new Map(migrateCommand().options.map((o) => [o.long, o.envVar]));
    expect(envOf.get('--database')).toBe('MOSAIC_DATABASE');
    expect(envOf.get('--blobs')).toBe('MOSAIC_BLOBS');
  });

  test('every image builds from files that exist, on the Dockerfile base image', async () => {
    const c = await compose();
    const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(await read('Dockerfile'))?.[1];
    expect(base).toBe('node:24-bookworm-slim');
    for (const [name, s] of Object.entries(c.services)) {
      if (s.build === undefined || typeof s.build === 'string') continue;
      const dockerfile = await read(join(s.build.context, s.build.dockerfile));
      expect(dockerfile, name).toMatch(new RegExp(`^ARG BASE_IMAGE=${base}$`, 'm'));
      expect(dockerfile, name).toMatch(/^FROM \$\{BASE_IMAGE\}$/m);
      const lines = dockerfile.replace(/\\\n\s*/g, ' ').split('\n');
      for (const line of lines.filter((l) => l.startsWith('COPY '))) {
        const parts = line.trim().split(/\s+/).slice(1, -1);
        for (const source of parts) {
          expect(existsSync(join(REPO_ROOT, s.build.context, source)), `${name}: ${source}`).toBe(
            true,
          );
        }
      }
    }
  });

  test('the S3 store: rings, backend ports and the proxy pipeline agree', async () => {
    const dockerfile = await read('docker/s3/Dockerfile');
    const ringPorts = new Map<string, string>(
      [...dockerfile.matchAll(/(object|container|account):(\d{4})/g)].map((m) => [
        m[1] ?? '',
        m[2] ?? '',
      ]),
    );
    expect([...ringPorts.keys()].sort()).toEqual(['account', 'container', 'object']);
    for (const [name, port] of ringPorts) {
      const conf = await read(`docker/s3/${name}-server.conf`);
      expect(conf, name).toMatch(new RegExp(`^bind_port = ${port}$`, 'm'));
      expect(conf).toMatch(/^devices = \/srv\/node$/m);
    }
    const proxy = await read('docker/s3/proxy-server.conf');
    expect(proxy).toMatch(/^bind_port = 8080$/m);
    const pipeline = /^pipeline = (.*)$/m.exec(proxy)?.[1]?.split(' ') ?? [];
    // s3api before tempauth, which needs the cache; slo for multipart uploads.
    for (const part of ['cache', 's3api', 'tempauth', 'slo', 'proxy-server']) {
      expect(pipeline, part).toContain(part);
    }
    expect(pipeline.indexOf('cache')).toBeLessThan(pipeline.indexOf('s3api'));
    expect(pipeline.indexOf('s3api')).toBeLessThan(pipeline.indexOf('tempauth'));
    expect(dockerfile).toMatch(/^VOLUME \/srv\/node\/d1$/m);
    expect(await read('docker/s3/entrypoint.sh')).toMatch(/user_\$\{account\}_\$\{user\}/);
  });
});
