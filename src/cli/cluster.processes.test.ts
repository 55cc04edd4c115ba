import { describe, expect, it } from 'vitest';
import { nodeRuntimeEnv } from './cluster.processes.js';

describe('the memory settings of cluster nodes', () => {
  it('adds MALLOC_ARENA_MAX=2, a fixed 4 MiB mmap threshold and a 4 MiB V8 semi-space, keeping other options', () => {
    const env = nodeRuntimeEnv({ PATH: '/bin', NODE_OPTIONS: '--enable-source-maps' });
    expect(env['MALLOC_ARENA_MAX']).toBe('2');
    expect(env['MALLOC_MMAP_THRESHOLD_']).toBe('4194304');
    expect(env['NODE_OPTIONS']).toBe('--enable-source-maps --max-semi-space-size=4');
    expect(env['PATH']).toBe('/bin');
  });

  it('leaves values the operator set alone', () => {
    const env = nodeRuntimeEnv({
      MALLOC_ARENA_MAX: '4',
      MALLOC_MMAP_THRESHOLD_: '131072',
      NODE_OPTIONS: '--max-semi-space-size=8',
    });
    expect(env['MALLOC_ARENA_MAX']).toBe('4');
    expect(env['MALLOC_MMAP_THRESHOLD_']).toBe('131072');
    expect(env['NODE_OPTIONS']).toBe('--max-semi-space-size=8');
  });
});
