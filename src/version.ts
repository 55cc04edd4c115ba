import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * The package version, read from package.json: one level up from src/, two from dist/src/,
 * three from the bundle in dist/bundle/cli/ (scripts/bundle.mjs).
 */
export const VERSION: string = (() => {
  for (const candidate of ['../package.json', '../../package.json', '../../../package.json']) {
    try {
      const pkg = require(candidate) as { name?: string; version?: string };
      if (pkg.name === 'mosaic' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
})();
