/**
 * Resumable uploads (tus) in the fault tier: a phone that uploads a picture in chunks, each
 * PATCH through a process of the site picked at random (a load balancer), while processes are
 * killed, cut off, and (a scaled site) its database and store crash. A PATCH that fails is
 * resumed from the offset the site reports (HEAD, again through any process), as tus clients
 * do, until the upload finishes or a patience runs out. An upload is acknowledged when its last
 * PATCH is answered 204, or when a HEAD after a failed PATCH reports every byte there (a tus
 * client such as tus-js-client then reports the upload done): the pictures check then holds it
 * like any other upload.
 */
import { createHash } from 'node:crypto';
import { makeImage } from '../helpers/node-process.js';
import { createUpload, patchUpload, TUS } from '../helpers/tus.js';
import type { FaultNode, History, Rng } from './workload.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const serverError = (status: number | 'error') =>
  typeof status === 'number' && status >= 500 && status !== 503;

/** Attempts (PATCHes and offset queries) before the phone gives up on an upload. */
const PATIENCE = 12;

export class TusWorkload {
  private nextImage: number;

  constructor(
    private readonly rng: Rng,
    private readonly history: History,
    seed: number,
  ) {
    // Image seeds of their own: the API workload counts up from (seed % 10 000) * 100 000.
    this.nextImage = (seed % 10_000) * 100_000 + 90_000;
  }

  /** One upload through the processes of one site (those up now are picked from). */
  async step(site: readonly FaultNode[]): Promise<void> {
    const imageSeed = this.nextImage++;
    const file = await makeImage({ width: 160, height: 120, seed: imageSeed });
    const id = createHash('sha256').update(file).digest('hex');
    const chunk = Math.max(4096, Math.ceil(file.length / this.rng.between(2, 5)));
    const pick = () => this.rng.pick(site.filter((n) => n.up)) ?? this.rng.pick(site);
    let location: string | null = null;
    let offset = 0;
    let last: { node: string; status: number | 'error' } = { node: '?', status: 'error' };
    // A server error is a failure of its own (a fault answers 503 or not at all): kept.
    const record = (node: FaultNode, status: number) => {
      last = { node: node.name, status };
      if (serverError(status)) {
        this.history.add({ kind: 'upload', node: node.name, id, status, how: 'tus' });
      }
    };
    for (let attempt = 0; attempt < PATIENCE; attempt++) {
      const node = pick();
      if (!node) return;
      let lost = false;
      try {
        if (location === null) {
          const res = await createUpload(node.api, file.length, {
            filename: `tus-${imageSeed}.png`,
          });
          await res.body?.cancel();
          record(node, res.status);
          if (res.status === 201) location = res.headers.get('location');
        } else {
          const end = Math.min(file.length, offset + chunk);
          const res = await patchUpload(node.api, location, offset, file.subarray(offset, end));
          await res.body?.cancel();
          record(node, res.status);
          if (res.status === 204) {
            offset = Number(res.headers.get('upload-offset') ?? end);
            if (offset >= file.length) break;
            continue;
          }
          lost = true;
        }
      } catch {
        last = { node: node.name, status: 'error' };
        lost = location !== null;
      }
      if (lost && location !== null) {
        // Refused or lost: ask the site how much it kept (through any process).
        const asked = pick() ?? node;
        const head = await asked.api
          .fetch(location, { method: 'HEAD', headers: TUS })
          .catch(() => null);
        // (A server error counts as one; otherwise `last` stays the PATCH's answer.)
        if (head !== null && serverError(head.status)) record(asked, head.status);
        const kept = head?.status === 200 ? Number(head.headers.get('upload-offset')) : undefined;
        if (kept !== undefined) offset = kept;
        if (kept === file.length) {
          // All there: a tus client takes the upload as done, so the site must have made it.
          last = { node: asked.name, status: 204 };
          break;
        }
      }
      await sleep(this.rng.between(200, 1000));
    }
    const done = offset >= file.length && last.status === 204;
    // Not acknowledged: the last answer, unless it was a success of a step (the create's 201,
    // a chunk's 204: counted as an acknowledged upload, which it is not) or a server error
    // already recorded above (which must count once).
    const failed =
      last.status === 'error' || last.status < 300 || serverError(last.status)
        ? 'error'
        : last.status;
    this.history.add({
      kind: 'upload',
      node: last.node,
      id,
      status: done ? 204 : failed,
      how: 'tus',
    });
  }
}
