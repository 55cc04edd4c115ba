#!/usr/bin/env node
// The published entry point: the compiled CLI lives in dist/ (built by `npm run build`,
// which `npm ci` runs through the `prepare` script).
import { statSync } from 'node:fs';
import module from 'node:module';

// libuv's thread pool (4 threads by default) carries file I/O, fsync and sharp's image work.
// A node fetching many blobs or small files needs more: fsyncs issued in parallel are
// committed together by the file system (measured: 4 -> 16 in flight, about 2x the files/s;
// 16 -> 64, a batch of 256 small files' fdatasyncs in 0.6x the time, the same CPU:
// docs/benchmarks.md, "Fsyncs in flight"). A waiting thread costs its stack's touched pages
// only; sharp's decodes are bounded by their own limiter (pictures/images.ts), not by the pool.
// It must be set before the pool is first used, hence before the dynamic import below.
process.env.UV_THREADPOOL_SIZE ??= '64';

// Which build runs: the bundle (dist/bundle/cli/, minified ES modules: scripts/bundle.mjs)
// when `npm run build` made one after tsc's last output, else tsc's output (dist/src/). The
// bundle loads a few dozen modules instead of ~1 100 files: less memory and start-up CPU
// (docs/benchmarks.md, "Memory, fourth pass"). MOSAIC_BUNDLE=off runs dist/src/.
const modifiedMs = (path) => {
  try {
    return statSync(new URL(path, import.meta.url)).mtimeMs;
  } catch {
    return Number.NaN;
  }
};
const bundled =
  process.env.MOSAIC_BUNDLE !== 'off' &&
  !(modifiedMs('../dist/bundle/cli/main.js') < modifiedMs('../dist/src/cli/main.js')) &&
  !Number.isNaN(modifiedMs('../dist/bundle/cli/main.js'));
const code = bundled ? '../dist/bundle/cli/' : '../dist/src/cli/';

// `mosaic node` runs under its memory settings (MALLOC_ARENA_MAX=2, V8 semi-spaces of 4 MiB,
// --heap-growing-percent=50: src/cli/runtime-env.ts), whatever starts it. All are read when a
// process starts, so when one is missing the process replaces itself (execve: same pid, nothing
// left behind) with them set. MOSAIC_MEMORY_TUNING=off runs it as started.
if (process.argv[2] === 'node' && typeof process.execve === 'function') {
  // A plain module without imports, the same in both builds.
  const { memoryReexec } = await import('../dist/src/cli/runtime-env.js');
  const reexec = memoryReexec(process.env, process.execArgv);
  if (reexec !== null) {
    try {
      process.execve(
        process.execPath,
        [process.execPath, ...reexec.execArgv, ...process.argv.slice(1)],
        reexec.env,
      );
    } catch (error) {
      // Not replaced (a platform or sandbox that refuses it): run as started.
      console.error(
        `memory settings not applied: ${error instanceof Error ? error.message : error}`,
      );
    }
  }
}

// V8's compiled code of every module loaded from here on, kept on disk between runs, keyed by
// each file's content and the Node version (a new build or runtime only misses). Measured: ~50 ms
// less start-up CPU of a node, about a tenth (docs/benchmarks.md, "Start-up, profiled"). Kept in
// dist/compile-cache, beside the code it was compiled from and writable only by whoever could
// change that code (Node's default, <tmpdir>/node-compile-cache, is a shared directory another
// local user could have made first and filled); $NODE_COMPILE_CACHE chooses another place,
// NODE_DISABLE_COMPILE_CACHE=1 turns it off. Node 20 has no such cache: skipped.
module.enableCompileCache?.(
  process.env.NODE_COMPILE_CACHE || new URL('../dist/compile-cache', import.meta.url).pathname,
);

const { main } = await import(`${code}main.js`);
// A command that fails ends the process, even if what it opened before failing (a database
// pool, a lease's timer) would keep it alive: a node that cannot start must exit, so that its
// supervisor (Docker's restart policy, systemd) sees it and starts it again.
main(process.argv).catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
