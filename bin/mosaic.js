#!/usr/bin/env node
// The published entry point: the compiled CLI lives in dist/ (built by `npm run build`,
// which `npm ci` runs through the `prepare` script).
//
// libuv's thread pool (4 threads by default) carries file I/O, fsync and sharp's image work.
// A node fetching many blobs while making thumbnails needs more: fsyncs issued in parallel are
// committed together by the file system (measured: 4 -> 16 in flight, about 2x the files/s).
// It must be set before the pool is first used, hence before the dynamic import below.
process.env.UV_THREADPOOL_SIZE ??= '16';

const { main } = await import('../dist/src/cli/main.js');
main(process.argv).catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
