/**
 * Docker cannot run here, so this checks what can be checked without it: compose.yaml parses
 * and describes four nodes that differ only where they must, and the Dockerfile and compose.yaml
 * use only flags and variables that `mosaic node` knows.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
// Not a dependency of Mosaic: `yaml` is in node_modules through vite and @fastify/swagger.
import { parse } from 'yaml';
import { nodeCommand } from '../../src/cli/node.command.js';
import { memoryReexec, NODE_FLAGS } from '../../src/cli/runtime-env.js';
import { ENV_TWINS } from '../../src/config/node-config.js';
import { REPO_ROOT } from '../helpers/node-process.js';

interface Service {
  build?: unknown;
  image?: unknown;
  environment?: Record<string, unknown>;
  ports?: unknown[];
  volumes?: unknown[];
  networks?: unknown;
}

interface Compose {
  services: Record<string, Service>;
  networks?: Record<string, { driver?: string } | null>;
  volumes?: Record<string, unknown>;
}

async function compose(): Promise<Compose> {
  // Compose resolves `<<` merge keys; so must the parser.
  return parse(await readFile(join(REPO_ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as Compose;
}

describe('compose.yaml', () => {
  test('four nodes from one build, each with its name, port, data volume and folder', async () => {
    const { services, networks, volumes } = await compose();
    expect(Object.keys(services)).toEqual(['node1', 'node2', 'node3', 'node4']);
    for (const [index, [name, service]] of Object.entries(services).entries()) {
      const n = index + 1;
      expect(service.build).toBe('.');
      expect(service.image).toBe(services['node1']?.image);
      expect(service.networks).toEqual(['mosaic']);
      expect(service.environment?.['MOSAIC_NAME']).toBe(name);
      expect(service.ports).toEqual([`707${n}:7070`]);
      expect(service.volumes).toEqual([`${name}-data:/data`, `./mosaic-folders/${name}:/folder`]);
    }
    expect(networks?.['mosaic']?.driver).toBe('bridge');
    expect(Object.keys(volumes ?? {})).toEqual([
      'node1-data',
      'node2-data',
      'node3-data',
      'node4-data',
    ]);
  });

  test('the same required secrets and discovery on everywhere; nothing else differs', async () => {
    const { services } = await compose();
    const shared = Object.values(services).map(({ environment = {} }) =>
      Object.fromEntries(Object.entries(environment).filter(([name]) => name !== 'MOSAIC_NAME')),
    );
    expect(new Set(shared.map((env) => JSON.stringify(env))).size).toBe(1);
    expect(shared[0]).toEqual({
      MOSAIC_CLUSTER_KEY: '${MOSAIC_CLUSTER_KEY:?set a cluster key}',
      MOSAIC_ADMIN_PASSWORD: '${MOSAIC_ADMIN_PASSWORD:?set the admin password}',
      MOSAIC_DISCOVERY: 'on',
      MOSAIC_FOLDERS: '/folder',
    });
  });

  test('every variable is an environment twin of mosaic node (or announced as pending)', async () => {
    const known = new Set(Object.values(ENV_TWINS));
    const { services } = await compose();
    for (const service of Object.values(services)) {
      for (const name of Object.keys(service.environment ?? {})) {
        expect(known.has(name), name).toBe(true);
      }
    }
  });
});

describe('Dockerfile', () => {
  test('runs `mosaic node` on /data for every interface with flags the CLI knows', async () => {
    const dockerfile = await readFile(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    const argv = JSON.parse(entrypoint ?? 'null') as string[];
    expect(argv).toEqual([
      'node',
      ...NODE_FLAGS,
      'bin/mosaic.js',
      'node',
      '--data',
      '/data',
      '--host',
      '0.0.0.0',
    ]);
    const flags = new Set(nodeCommand().options.map((option) => option.long));
    expect(flags.has('--data') && flags.has('--host')).toBe(true);

    expect(dockerfile).toMatch(
      /^FROM node:24-bookworm-slim|^ARG NODE_IMAGE=node:24-bookworm-slim$/m,
    );
    expect(dockerfile).toMatch(/^VOLUME \/data$/m);
    // Every memory setting is in place already: bin/mosaic.js need not re-execute the node.
    const env: Record<string, string> = {};
    for (const [, name, value] of (/^ENV (.*)$/m.exec(dockerfile)?.[1] ?? '').matchAll(
      /(\w+)=(\S+)/g,
    )) {
      if (name !== undefined && value !== undefined) env[name] = value;
    }
    expect(memoryReexec(env, argv.slice(1, argv.indexOf('bin/mosaic.js')))).toBeNull();
    expect(dockerfile).toMatch(/^EXPOSE 7070 7077\/udp$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
  });

  test('the build stage has every script `npm run build` runs; the image gets what it builds', async () => {
    const dockerfile = await readFile(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const scripts = [...(pkg.scripts['build'] ?? '').matchAll(/scripts\/[\w.-]+/g)].map(
      (m) => m[0],
    );
    expect(scripts.length).toBeGreaterThan(0);
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.*) \S+$/gm)].flatMap((m) =>
      (m[1] ?? '').split(' '),
    );
    for (const script of scripts) expect(copied).toContain(script);
    for (const built of ['dist/src', 'dist/bundle', 'dist/web', 'dist/compile-cache'])
      expect(dockerfile).toContain(`COPY --from=build /app/${built} ./${built}`);
  });
});
