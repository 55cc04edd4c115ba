// `npm run build`, last step: V8's compile cache (bin/mosaic.js enables it) filled with the
// bundle's modules a node loads at start, so that the first node started after a build does not
// compile them itself (measured: 430 -> 370 ms of CPU to listening; `bench:folder` starts both
// of its nodes right after the build; docs/benchmarks.md, "Start-up, profiled").
// The cache is kept per set of V8 flags: the modules are loaded in a child under the flags of a
// `mosaic node` (src/cli/runtime-env.ts). Importing main.js (the command line) and engines.js
// (what a command imports once its options are parsed) evaluates them and runs nothing else;
// the child writes the cache as it exits, where a node reads it (bin/mosaic.js): dist/compile-cache,
// emptied first (entries of an older build would only take space), or $NODE_COMPILE_CACHE.
// Without a bundle (or on a Node without the cache) nothing is done.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import module from 'node:module';

const main = new URL('../dist/bundle/cli/main.js', import.meta.url);
const engines = new URL('../dist/bundle/cli/engines.js', import.meta.url);
if (existsSync(main) && typeof module.enableCompileCache === 'function') {
  const { NODE_FLAGS, nodeRuntimeEnv } = await import('../dist/src/cli/runtime-env.js');
  const ours = new URL('../dist/compile-cache', import.meta.url).pathname;
  const dir = process.env.NODE_COMPILE_CACHE || ours;
  if (dir === ours) rmSync(ours, { recursive: true, force: true });
  const load = `import module from 'node:module'; module.enableCompileCache(${JSON.stringify(dir)}); await import(${JSON.stringify(main.href)}); await import(${JSON.stringify(engines.href)});`;
  execFileSync(process.execPath, [...NODE_FLAGS, '--input-type=module', '-e', load], {
    env: nodeRuntimeEnv(process.env),
    stdio: 'inherit',
  });
}
