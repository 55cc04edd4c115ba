import { describe, expect, it } from 'vitest';
import { memoryReexec, memoryReexecEnv } from './runtime-env.js';

/** Every memory setting of the environment, as a node runs under them. */
const settled = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '4194304',
  NODE_OPTIONS: '--max-semi-space-size=4',
};

describe('whether bin/mosaic.js re-executes a node under its memory settings', () => {
  it('does when any setting is missing, adding only what is missing', () => {
    expect(memoryReexecEnv({ PATH: '/bin' }, [])).toEqual({
      PATH: '/bin',
      MALLOC_ARENA_MAX: '2',
      MALLOC_MMAP_THRESHOLD_: '4194304',
      NODE_OPTIONS: '--max-semi-space-size=4',
    });
    expect(memoryReexecEnv({ MALLOC_ARENA_MAX: '8', NODE_OPTIONS: '--trace-gc' }, [])).toEqual({
      MALLOC_ARENA_MAX: '8',
      MALLOC_MMAP_THRESHOLD_: '4194304',
      NODE_OPTIONS: '--trace-gc --max-semi-space-size=4',
    });
    // A semi-space flag on the command line counts (the re-exec keeps the node's own flags).
    expect(memoryReexecEnv({}, ['--max-semi-space-size=8'])).toEqual({
      MALLOC_ARENA_MAX: '2',
      MALLOC_MMAP_THRESHOLD_: '4194304',
    });
    // An environment set before the fixed mmap threshold came (a Compose file, a unit file).
    expect(
      memoryReexecEnv({ MALLOC_ARENA_MAX: '2', NODE_OPTIONS: '--max-semi-space-size=4' }, []),
    ).toEqual({
      MALLOC_ARENA_MAX: '2',
      MALLOC_MMAP_THRESHOLD_: '4194304',
      NODE_OPTIONS: '--max-semi-space-size=4',
    });
  });

  it('does not when all are set (so never twice), or with MOSAIC_MEMORY_TUNING=off', () => {
    expect(memoryReexecEnv({ ...settled }, [])).toBeNull();
    expect(
      memoryReexecEnv({ MALLOC_ARENA_MAX: '4', MALLOC_MMAP_THRESHOLD_: '131072' }, [
        '--max-semi-space-size=16',
      ]),
    ).toBeNull();
    expect(memoryReexecEnv({ MOSAIC_MEMORY_TUNING: 'off' }, [])).toBeNull();
  });
});

describe('the node flags of the re-exec', () => {
  it('adds its V8 flags to the node flags, even when the environment is set', () => {
    expect(memoryReexec(settled, [])).toEqual({
      env: settled,
      execArgv: ['--heap-growing-percent=50', '--no-wasm-tier-up'],
    });
    expect(memoryReexec({}, ['--trace-gc'])).toEqual({
      env: settled,
      execArgv: ['--trace-gc', '--heap-growing-percent=50', '--no-wasm-tier-up'],
    });
  });

  it('keeps a value the operator gave, and re-executes neither twice nor when opted out', () => {
    expect(memoryReexec(settled, ['--heap-growing-percent=30', '--wasm-tier-up'])).toBeNull();
    expect(memoryReexec(settled, ['--heap-growing-percent=50', '--no-wasm-tier-up'])).toBeNull();
    expect(memoryReexec(settled, ['--no-wasm-tier-up'])).toEqual({
      env: settled,
      execArgv: ['--no-wasm-tier-up', '--heap-growing-percent=50'],
    });
    expect(memoryReexec({ MOSAIC_MEMORY_TUNING: 'off' }, [])).toBeNull();
  });
});
