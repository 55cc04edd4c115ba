#!/usr/bin/env node
// The published entry point: the compiled CLI lives in dist/ (built by `npm run build`,
// which `npm ci` runs through the `prepare` script).
//
// libuv's thread pool (4 threads by default) carries file I/O, fsync and sharp's image work.
// A node fetching many blobs while making thumbnails needs more: fsyncs issued in parallel are
// committed together by the file system (measured: 4 -> 16 in flight, about 2x the files/s).
// It must be set before the pool is first used, hence before the dynamic import below.
process.env.UV_THREADPOOL_SIZE ??= '16';

// `mosaic node` runs under its memory settings (MALLOC_ARENA_MAX=2, V8 semi-spaces of 4 MiB,
// --heap-growing-percent=50: src/cli/runtime-env.ts), whatever starts it. All are read when a
// process starts, so when one is missing the process replaces itself (execve: same pid, nothing
// left behind) with them set. MOSAIC_MEMORY_TUNING=off runs it as started.
if (process.argv[2] === 'node' && typeof process.execve === 'function') {
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

// V8's compiled code of the modules is kept on disk (Node's compile cache, in the system's temp
// directory; checked against each file's content), so a restart compiles little: measured in
// docs/benchmarks.md, "Catch-up, second pass". Written at exit, and once the node has run a
// while (a node is usually stopped by a signal). NODE_DISABLE_COMPILE_CACHE=1 turns it off.
const { enableCompileCache, flushCompileCache } = await import('node:module');
if (typeof enableCompileCache === 'function') {
  enableCompileCache();
  setTimeout(() => flushCompileCache(), 10_000).unref();
}

const { main } = await import('../dist/src/cli/main.js');
main(process.argv).catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
