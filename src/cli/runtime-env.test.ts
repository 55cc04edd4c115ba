import { describe, expect, it } from 'vitest';
import { memoryReexec, memoryReexecEnv } from './runtime-env.js';

describe('whether bin/mosaic.js re-executes a node under its memory settings', () => {
  it('does when either setting is missing, adding only what is missing', () => {
    expect(memoryReexecEnv({ PATH: '/bin' }, [])).toEqual({
      PATH: '/bin',
      MALLOC_ARENA_MAX: '2',
      NODE_OPTIONS: '--max-semi-space-size=4',
    });
    expect(memoryReexecEnv({ MALLOC_ARENA_MAX: '8', NODE_OPTIONS: '--trace-gc' }, [])).toEqual({
      MALLOC_ARENA_MAX: '8',
      NODE_OPTIONS: '--trace-gc --max-semi-space-size=4',
    });
    // A semi-space flag on the command line counts (the re-exec keeps the node's own flags).
    expect(memoryReexecEnv({}, ['--max-semi-space-size=8'])).toEqual({ MALLOC_ARENA_MAX: '2' });
  });

  it('does not when both are set (so never twice), or with MOSAIC_MEMORY_TUNING=off', () => {
    expect(
      memoryReexecEnv({ MALLOC_ARENA_MAX: '2', NODE_OPTIONS: '--max-semi-space-size=4' }, []),
    ).toBeNull();
    expect(memoryReexecEnv({ MALLOC_ARENA_MAX: '4' }, ['--max-semi-space-size=16'])).toBeNull();
    expect(memoryReexecEnv({ MOSAIC_MEMORY_TUNING: 'off' }, [])).toBeNull();
  });
});

describe('the node flags of the re-exec', () => {
  const settled = { MALLOC_ARENA_MAX: '2', NODE_OPTIONS: '--max-semi-space-size=4' };

  it('adds its V8 flags to the node flags, even when the environment is set', () => {
    expect(memoryReexec(settled, [])).toEqual({
      env: settled,
      execArgv: ['--heap-growing-percent=50', '--no-wasm-tier-up'],
    });
    expect(memoryReexec({}, ['--trace-gc'])).toEqual({
      env: { MALLOC_ARENA_MAX: '2', NODE_OPTIONS: '--max-semi-space-size=4' },
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
