/**
 * The memory settings of a node process (measured in docs/benchmarks.md, "Memory"), the node's
 * own whatever starts it: `bin/mosaic.js` re-executes `mosaic node` with them when they are
 * missing, and `mosaic cluster` starts its nodes with them. A value already set wins;
 * `MOSAIC_MEMORY_TUNING=off` leaves the process as it was started.
 * - MALLOC_ARENA_MAX=2: glibc otherwise gives each of the ~20 threads (libuv pool, V8 workers)
 *   that allocates its own malloc arena, and freed memory in them is rarely returned;
 * - MALLOC_MMAP_THRESHOLD_=4 MiB, fixed: glibc otherwise raises its threshold to the size of each
 *   mapped block freed (up to 32 MiB) and then serves blocks that large from the arenas, which
 *   keep them. A sign-in's 16 MiB scrypt raised it, and a 10 000-file sync then peaked at
 *   157-165 MB against 133-144 (docs/benchmarks.md, "The peak before the sign-in"). Fixed, a
 *   block of 4 MiB or more is mapped for itself and given back when freed: a new node's start
 *   with a sign-in peaked at 120-145 MB against 134-157. Its price: an upload of a 20 MB image
 *   maps its buffers afresh each time (node CPU +7-18 % per such upload, in two runs); a
 *   200 KB photo's cost the same;
 * - V8's young generation capped at 4 MiB semi-spaces (`--max-semi-space-size=4`): Node 24's
 *   default lets it grow to 64 MiB x2 under allocation bursts (a catch-up), kept afterwards;
 *   idle RSS fell by ~20 MB with no measurable cost to catch-up.
 * - V8's old generation grown by at most 50 % over what the last full GC kept
 *   (`--heap-growing-percent=50`; V8 otherwise picks a factor of 1.1 to 4 from its GC speed, and
 *   a burst that promotes garbage, like a rescan at 100 000 files, grew the old space far past
 *   what was live, kept afterwards): 100 000-file restart 170-184 -> 150 MB, a 10 000-file
 *   sender 164-167 -> 158-161 MB, no measurable CPU; 20 % cut a few MB more but cost 20 % more
 *   CPU on that restart (docs/benchmarks.md, "Memory, third pass"). A flag NODE_OPTIONS
 *   refuses, so it goes on the command line of the re-exec (`NODE_FLAGS`), like the next one.
 * - WebAssembly kept at its baseline code (`--no-wasm-tier-up`): the only WebAssembly a node runs
 *   is undici's HTTP parser (llhttp, the peer client), one large function whose optimizing
 *   compile took a 13 MB transient (three zone segments of 1.9 + 3.7 + 7.5 MB on a V8 worker
 *   thread) in the middle of a sync: the sender's peak of a 10 000-file sync. The parser took
 *   8-16 ms of CPU in that whole sync (docs/benchmarks.md, "Memory, fifth pass").
 * All are read when the process starts (glibc's tunables, V8's heap set-up: a flag set later by
 * `v8.setFlagsFromString` does not resize it), hence the environment and a re-exec.
 * Plain module (no imports): the bin loads it before anything else.
 */

const SEMI_SPACE_FLAG = '--max-semi-space-size';

/** Node flags of a `mosaic node` that NODE_OPTIONS does not accept, given on its command line. */
export const NODE_FLAGS: readonly string[] = ['--heap-growing-percent=50', '--no-wasm-tier-up'];

/** A flag's name without its value, `--no-x` and `--x` the same (the operator's choice wins). */
const flagName = (flag: string): string => (flag.split('=')[0] ?? flag).replace(/^--no-/, '--');

/** glibc's malloc settings of a node (its tunables, read once as a process starts). */
export const MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: String(4 * 1024 * 1024),
};

/** The malloc settings `env` does not set. */
const missingMalloc = (env: NodeJS.ProcessEnv): Record<string, string> =>
  Object.fromEntries(Object.entries(MALLOC_ENV).filter(([name]) => env[name] === undefined));

/** `env` with the memory settings added where it does not set them already. */
export function nodeRuntimeEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const nodeOptions = env['NODE_OPTIONS'] ?? '';
  return {
    ...env,
    ...missingMalloc(env),
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
  const malloc = missingMalloc(env);
  if (semiSpaceSet && Object.keys(malloc).length === 0) return null;
  // A semi-space flag given on the command line stays there (the re-exec keeps execArgv).
  return semiSpaceSet ? { ...env, ...malloc } : nodeRuntimeEnv(env);
}

/**
 * How to re-execute this process under every memory setting: its environment
 * (`memoryReexecEnv`) and its node flags with NODE_FLAGS added where missing; null when nothing
 * is missing (so never twice) or with MOSAIC_MEMORY_TUNING=off. A flag already given with
 * another value (`--heap-growing-percent=30`) is kept as given.
 */
export function memoryReexec(
  env: NodeJS.ProcessEnv,
  execArgv: readonly string[],
): { env: NodeJS.ProcessEnv; execArgv: string[] } | null {
  if (env['MOSAIC_MEMORY_TUNING'] === 'off') return null;
  const missing = NODE_FLAGS.filter(
    (flag) => !execArgv.some((arg) => flagName(arg) === flagName(flag)),
  );
  const newEnv = memoryReexecEnv(env, execArgv);
  if (newEnv === null && missing.length === 0) return null;
  return { env: newEnv ?? env, execArgv: [...execArgv, ...missing] };
}
