/**
 * A `--import` for a node under a bench: samples every allocation, collected or not (Node's
 * `--heap-prof` keeps only what is still alive at exit, which says nothing of what the GC is
 * busy with), and writes the profile to $BENCH_HEAP_SAMPLE_FILE when the process exits.
 * Profiles open in Chrome's DevTools (Memory tab) or are summed by stack with a script.
 */
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

const file = process.env['BENCH_HEAP_SAMPLE_FILE'];
if (file !== undefined) {
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.startSampling', {
    samplingInterval: 16_384,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  process.on('exit', () => {
    // The in-process session answers synchronously: written before the process ends.
    session.post('HeapProfiler.stopSampling', (error, result) => {
      if (error === null) writeFileSync(file, JSON.stringify(result.profile));
    });
  });
}
