import { describe, expect, test } from 'vitest';
import {
  formatChildLine,
  listeningUrl,
  nodeUrl,
  parseChildLine,
  parseClusterOptions,
  planNodes,
  type ClusterOptions,
} from './cluster.plan.js';

const defaults = {
  nodes: '4',
  basePort: '7071',
  dataDir: '/d',
  host: '127.0.0.1',
  logLevel: 'warn',
};

describe('parseClusterOptions', () => {
  test('accepts the defaults and coerces numbers', () => {
    expect(parseClusterOptions(defaults)).toEqual({
      nodes: 4,
      basePort: 7071,
      dataDir: '/d',
      host: '127.0.0.1',
      logLevel: 'warn',
    });
  });

  test.each([
    [{ nodes: '0' }, /at least 1/],
    [{ nodes: '33' }, /at most 32/],
    [{ nodes: '2.5' }, /whole number/],
    [{ nodes: '' }, /whole number/],
    [{ basePort: '0' }, /at least 1/],
    [{ basePort: '70000' }, /at most 65535/],
    [{ basePort: '0x10' }, /whole number/],
    [{ basePort: '65533', nodes: '4' }, /last node port/],
    [{ logLevel: 'loud' }, /Invalid option/],
  ])('refuses %o', (override, message) => {
    expect(() => parseClusterOptions({ ...defaults, ...override })).toThrow(message);
  });

  test('the last port may be 65535', () => {
    expect(parseClusterOptions({ ...defaults, basePort: '65532' }).basePort).toBe(65532);
  });
});

describe('planNodes', () => {
  const options: ClusterOptions = {
    nodes: 3,
    basePort: 7071,
    dataDir: '/data',
    host: '127.0.0.1',
    logLevel: 'warn',
  };

  test('consecutive ports, own data dirs, every other node as a peer, discovery off', () => {
    const plans = planNodes(options, { withFolders: false });
    expect(plans.map((p) => [p.name, p.port, p.url, p.dataDir, p.folder])).toEqual([
      ['node-1', 7071, 'http://127.0.0.1:7071', '/data/node-1', undefined],
      ['node-2', 7072, 'http://127.0.0.1:7072', '/data/node-2', undefined],
      ['node-3', 7073, 'http://127.0.0.1:7073', '/data/node-3', undefined],
    ]);
    expect(plans[1]?.args).toEqual([
      'node',
      '--data',
      '/data/node-2',
      '--port',
      '7072',
      '--host',
      '127.0.0.1',
      '--name',
      'node-2',
      '--log-level',
      'info',
      '--discovery',
      'off',
      '--advertise-url',
      'http://127.0.0.1:7072',
      '--peer',
      'http://127.0.0.1:7071',
      '--peer',
      'http://127.0.0.1:7073',
    ]);
    // Secrets travel in the environment, never on the command line.
    expect(plans.flatMap((p) => p.args)).not.toContain('--cluster-key');
  });

  test('passes --folder <data>/node-N/folder only when mosaic node knows it', () => {
    const plans = planNodes({ ...options, nodes: 1 }, { withFolders: true });
    expect(plans[0]?.folder).toBe('/data/node-1/folder');
    expect(plans[0]?.args.slice(-2)).toEqual(['--folder', '/data/node-1/folder']);
    expect(plans[0]?.args).not.toContain('--peer');
  });

  test('children log at info at least (the cluster waits for "node listening")', () => {
    const level = (logLevel: ClusterOptions['logLevel']) => {
      const args = planNodes({ ...options, logLevel }, { withFolders: false })[0]?.args ?? [];
      return args[args.indexOf('--log-level') + 1];
    };
    expect(level('silent')).toBe('info');
    expect(level('error')).toBe('info');
    expect(level('debug')).toBe('debug');
  });
});

test('nodeUrl reaches wildcard addresses through loopback and brackets IPv6', () => {
  expect(nodeUrl('0.0.0.0', 7071)).toBe('http://127.0.0.1:7071');
  expect(nodeUrl('::', 7071)).toBe('http://[::1]:7071');
  expect(nodeUrl('fe80::1', 7071)).toBe('http://[fe80::1]:7071');
  expect(nodeUrl('localhost', 7071)).toBe('http://localhost:7071');
});

describe('child output', () => {
  const json = (fields: Record<string, unknown>) =>
    parseChildLine(JSON.stringify({ time: 1, pid: 2, hostname: 'h', node: 'node-1', ...fields }));

  test('JSON lines below the threshold are dropped, others prefixed and compacted', () => {
    const info = json({ level: 30, msg: 'hello' });
    const warn = json({ level: 40, msg: 'peer down', peer: 'http://x' });
    if (info === undefined || warn === undefined) throw new Error('parsed nothing');
    expect(formatChildLine('node-1', info, 'warn')).toBeUndefined();
    expect(formatChildLine('node-1', warn, 'warn')).toBe(
      '[node-1] WARN peer down {"peer":"http://x"}',
    );
    expect(formatChildLine('node-1', info, 'info')).toBe('[node-1] INFO hello');
    expect(formatChildLine('node-1', warn, 'silent')).toBeUndefined();
  });

  test('plain lines always show; blank lines are skipped', () => {
    const plain = parseChildLine('listen EADDRINUSE: address already in use');
    if (plain === undefined) throw new Error('parsed nothing');
    expect(formatChildLine('node-2', plain, 'silent')).toBe(
      '[node-2] listen EADDRINUSE: address already in use',
    );
    expect(parseChildLine('  ')).toBeUndefined();
  });

  test('listeningUrl finds the URL of "node listening" only', () => {
    const line = json({ level: 30, msg: 'node listening', url: 'http://127.0.0.1:7071' });
    const other = json({ level: 30, msg: 'Server listening at', url: 'http://127.0.0.1:7071' });
    if (line === undefined || other === undefined) throw new Error('parsed nothing');
    expect(listeningUrl(line)).toBe('http://127.0.0.1:7071');
    expect(listeningUrl(other)).toBeUndefined();
    expect(listeningUrl({ kind: 'plain', text: 'node listening' })).toBeUndefined();
  });
});
