// `npm run build`, last step: the node's code (tsc's output in dist/src and the packages it
// loads) as minified ES modules in dist/bundle/cli/, which bin/mosaic.js runs when present.
// Measured in docs/benchmarks.md ("Memory, fourth pass"): ~1 100 module files became a few dozen,
// so less source text, fewer module records and less start-up CPU.
//
// - Native modules and the heavy packages that are loaded only when a configuration or a first
//   request needs them (pg, the AWS SDK, sharp, tus, exifr, yazl...) stay outside: Node loads
//   them from node_modules on first use, as before. So does anything reached through
//   createRequire (package.json).
// - Dynamic imports of Mosaic's own modules (the PostgreSQL store, S3, migrate) are chunks of
//   their own, loaded when imported.
// - The rest is split into chunks of at most ~CHUNK_BYTES each, one group of whole packages (or
//   of one src/ directory) per chunk, by giving each group an entry of its own that re-exports
//   it: one module of 2 MB is parsed in one piece, and V8's parser memory for it (15.7 MB of
//   zone at its peak, measured with heaptrack) stayed in glibc's heap after it was freed.
// - The bundle sits at the same depth under dist/ as dist/src/cli/, so paths taken from
//   import.meta.url (dist/web, bin/mosaic.js, the HEIC worker beside it) stay the same.
// - dist/bundle/meta.json: which packages and files each output holds (test/node/start-up.test.ts
//   reads it to tell which packages a node loaded). Source maps are linked (.map beside each
//   file): stack traces point into the bundle unless node runs with --enable-source-maps.
import { rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = 'dist/bundle/cli';
const CHUNK_BYTES = 200_000;

/** Loaded from node_modules at run time: native code, or only when first used. */
const EXTERNAL = [
  'better-sqlite3',
  'sharp',
  '@parcel/watcher',
  'pg',
  'pg-*',
  '@aws-sdk/*',
  '@smithy/*',
  '@tus/*',
  'exifr',
  'heic-decode',
  'yazl',
  // The API docs, built at their first request (src/http/api-docs.ts); swagger-ui serves its
  // static files from its own directory.
  '@fastify/swagger',
  '@fastify/swagger-ui',
  'yaml',
];

const ENTRIES = {
  main: 'dist/src/cli/main.js',
  // What the commands run (the node, a device's sync...), imported by their actions once the
  // options are parsed (src/cli/engines.ts); an entry of its own so that
  // scripts/warm-compile-cache.mjs can load it.
  engines: 'dist/src/cli/engines.js',
  // Started as a worker thread by the HEIC decoder, from beside the module that starts it.
  'heic-worker': 'dist/src/pictures/heic-worker.js',
  // Started by the folder scanner's hashing threads (src/folders/hash-threads.ts), likewise.
  'hash-worker': 'dist/src/folders/hash-worker.js',
};

const options = {
  absWorkingDir: ROOT,
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  minifyWhitespace: true,
  minifySyntax: true,
  // Names kept: a stack trace names its functions without a source map (+1 MB of heap).
  minifyIdentifiers: false,
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'linked',
  metafile: true,
  external: EXTERNAL,
  logLevel: 'warning',
  // The packages written as CommonJS call require() for Node's modules and each other's.
  banner: {
    js: "import { createRequire as __mosaicCreateRequire } from 'node:module'; const require = __mosaicCreateRequire(import.meta.url);",
  },
};

/** The package (or Mosaic's src/ directory) a bundled input file belongs to. */
function groupOf(input) {
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (inPackage) return inPackage[1];
  const own = /^dist\/src\/([^/]+)\//.exec(input);
  return own ? `src/${own[1]}` : null;
}

// A chunk's name is its content's hash: the last build's must not stay beside this one's.
await rm(join(ROOT, 'dist/bundle'), { recursive: true, force: true });

// Pass 1: what goes into the node's code, and how large each group comes out.
const first = await build({ ...options, entryPoints: ENTRIES, write: false });
const bytes = new Map();
const files = new Map();
for (const output of Object.values(first.metafile.outputs)) {
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const group = groupOf(input);
    const entry = Object.values(ENTRIES).includes(input);
    if (group === null || group === 'src/cli' || entry || bytesInOutput === 0) continue;
    bytes.set(group, (bytes.get(group) ?? 0) + bytesInOutput);
    files.set(group, (files.get(group) ?? new Set()).add(input));
  }
}

// Groups packed into chunks of at most CHUNK_BYTES (a larger group is a chunk by itself).
const bins = [];
for (const [group, size] of [...bytes].sort((a, b) => b[1] - a[1])) {
  const bin = bins.find((b) => b.size + size <= CHUNK_BYTES);
  if (bin) {
    bin.size += size;
    bin.groups.push(group);
  } else bins.push({ size, groups: [group] });
}

// Pass 2: each bin an entry of its own (never loaded: only its chunk is, through main.js or
// engines.js).
const VIRTUAL = 'mosaic-chunk:';
const groupEntries = Object.fromEntries(bins.map((_, i) => [`part-${i}`, `${VIRTUAL}${i}`]));
const result = await build({
  ...options,
  entryPoints: { ...ENTRIES, ...groupEntries },
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  plugins: [
    {
      name: 'chunk-groups',
      setup(b) {
        b.onResolve({ filter: /^mosaic-chunk:/ }, (args) => ({
          path: args.path,
          namespace: 'mosaic-chunk',
        }));
        b.onLoad({ filter: /.*/, namespace: 'mosaic-chunk' }, (args) => {
          const bin = bins[Number(args.path.slice(VIRTUAL.length))];
          const inputs = (bin?.groups ?? []).flatMap((group) => [...(files.get(group) ?? [])]);
          return {
            contents: inputs
              .map((input) => `export * from ${JSON.stringify(join(ROOT, input))};`)
              .join('\n'),
            resolveDir: ROOT,
            loader: 'js',
          };
        });
      },
    },
  ],
});

// What each output holds, for tests and for whoever reads a stack trace.
const meta = {};
for (const [output, { inputs, bytes: size }] of Object.entries(result.metafile.outputs)) {
  if (output.endsWith('.map')) continue;
  const held = Object.keys(inputs).filter((input) => !input.startsWith(VIRTUAL.slice(0, -1)));
  meta[relative(OUT, output)] = {
    bytes: size,
    packages: [...new Set(held.map(groupOf).filter((g) => g !== null))].sort(),
  };
}
await writeFile(join(ROOT, 'dist/bundle/meta.json'), `${JSON.stringify(meta, null, 1)}\n`);
