/**
 * The memory settings of a node process (measured in docs/benchmarks.md, "Memory"), the node's
 * own whatever starts it: `bin/mosaic.js` re-executes `mosaic node` with them when they are
 * missing, and `mosaic cluster` starts its nodes with them. A value already set wins;
 * `MOSAIC_MEMORY_TUNING=off` leaves the process as it was started.
 * - MALLOC_ARENA_MAX=2: glibc otherwise gives each of the ~20 threads (libuv pool, V8 workers)
 *   that allocates its own malloc arena, and freed memory in them is rarely returned;
 * - V8's young generation capped at 4 MiB semi-spaces (`--max-semi-space-size=4`): Node 24's
 *   default lets it grow to 64 MiB x2 under allocation bursts (a catch-up), kept afterwards;
 *   idle RSS fell by ~20 MB with no measurable cost to catch-up.
 * Both are read when the process starts (glibc's tunables, V8's heap set-up: a flag set later by
 * `v8.setFlagsFromString` does not resize it), hence the environment and a re-exec.
 * Plain module (no imports): the bin loads it before anything else.
 */

const SEMI_SPACE_FLAG = '--max-semi-space-size';

/** `env` with the memory settings added where it does not set them already. */
export function nodeRuntimeEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const nodeOptions = env['NODE_OPTIONS'] ?? '';
  return {
    ...env,
    MALLOC_ARENA_MAX: env['MALLOC_ARENA_MAX'] ?? '2',
    NODE_OPTIONS: nodeOptions.includes(SEMI_SPACE_FLAG)
      ? nodeOptions
      : `${nodeOptions} ${SEMI_SPACE_FLAG}=4`.trim(),
  };
}

/**
 * The environment to re-execute this process with so that it runs under the memory settings,
 * or null when it already does (or opted out, or the settings came as node flags). `execArgv`:
 * the node flags this process got (`node --max-semi-space-size=8 bin/mosaic.js` counts as set).
 */
export function memoryReexecEnv(
  env: NodeJS.ProcessEnv,
  execArgv: readonly string[],
): NodeJS.ProcessEnv | null {
  if (env['MOSAIC_MEMORY_TUNING'] === 'off') return null;
  const semiSpaceSet =
    execArgv.some((arg) => arg.startsWith(SEMI_SPACE_FLAG)) ||
    (env['NODE_OPTIONS'] ?? '').includes(SEMI_SPACE_FLAG);
  if (semiSpaceSet && env['MALLOC_ARENA_MAX'] !== undefined) return null;
  // A semi-space flag given on the command line stays there (the re-exec keeps execArgv).
  return semiSpaceSet ? { ...env, MALLOC_ARENA_MAX: '2' } : nodeRuntimeEnv(env);
}
