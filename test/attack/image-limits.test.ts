/**
 * Issue 12, row 5: eight parallel uploads of PNGs declaring 16000 x 16000 RGBA took a node from
 * 113 to 915 MB and 7.5 CPU-s. Against a real node process: those uploads are refused from the
 * header (422, the error shape, no server path) without decoding, the node's peak memory
 * (VmHWM of its process) stays bounded, images under the limit are decoded a few at a time, and
 * ordinary uploads still work.
 */
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_PASSWORD,
  api,
  login,
  makeImage,
  startNode,
  type Api,
  type ErrorBody,
  type NodeProcess,
  type PictureList,
} from '../helpers/node-process.js';
import { describeEachBackend } from '../helpers/backends.js';

describeEachBackend('image decoding limits', () => {
  let node: NodeProcess;
  let client: Api;

  beforeAll(async () => {
    node = await startNode();
    client = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
  });

  /** Peak and current resident memory of the node process, in MB (Linux /proc). */
  function memoryMb(): { peak: number; now: number } {
    const status = readFileSync(`/proc/${String(node.process.pid)}/status`, 'utf8');
    const kb = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1]);
    return { peak: Math.round(kb('VmHWM') / 1024), now: Math.round(kb('VmRSS') / 1024) };
  }

  /** A uniform RGBA PNG, quick to make (compression level 1). */
  async function uniformPng(width: number, height: number): Promise<Buffer> {
    return sharp({ create: { width, height, channels: 4, background: '#336699' } })
      .png({ compressionLevel: 1 })
      .toBuffer();
  }

  /** The same image with a text chunk after the header: different bytes, so a different picture. */
  function variant(png: Buffer, n: number): Buffer {
    const data = Buffer.from(`Comment\0variant ${String(n)}`, 'latin1');
    const body = Buffer.concat([Buffer.from('tEXt', 'ascii'), data]);
    const chunk = Buffer.alloc(body.length + 8);
    chunk.writeUInt32BE(data.length, 0);
    body.copy(chunk, 4);
    chunk.writeUInt32BE(crc32(body), body.length + 4);
    const afterHeader = 8 + 25; // signature, IHDR
    return Buffer.concat([png.subarray(0, afterHeader), chunk, png.subarray(afterHeader)]);
  }

  describe('image decoding limits', () => {
    it('refuses 8 parallel uploads declaring 16000 x 16000 from the header, quickly, in bounded memory', async () => {
      const bomb = await uniformPng(16_000, 16_000);
      const before = memoryMb();
      const started = performance.now();
      const responses = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          client.upload<ErrorBody>({
            file: variant(bomb, i),
            filename: `bomb-${String(i)}.png`,
            fields: { title: `bomb ${String(i)}` },
          }),
        ),
      );
      const seconds = (performance.now() - started) / 1000;
      const after = memoryMb();
      console.log(
        `8 x ${(bomb.length / 1e6).toFixed(1)} MB PNG (16000 x 16000): ${seconds.toFixed(1)} s, ` +
          `node peak ${String(before.peak)} -> ${String(after.peak)} MB`,
      );
      for (const res of responses) {
        expect(res.status).toBe(422);
        expect(res.body.error.code).toBe('invalid_image');
        expect(res.body.error.message).toBe(
          'The image is 16000 x 16000 pixels (256 megapixels); this node accepts at most 100 megapixels.',
        );
        expect(JSON.stringify(res.body)).not.toContain(node.dataDir);
      }
      expect(after.peak - before.peak).toBeLessThan(150);
      expect(seconds).toBeLessThan(20);
      const list = await client.get<PictureList>('/api/pictures');
      expect(list.body.items).toEqual([]);
    });

    it('decodes images at the limit a few at a time: 8 parallel 100-megapixel uploads', async () => {
      const big = await uniformPng(10_000, 10_000);
      const before = memoryMb();
      const started = performance.now();
      const responses = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          client.upload({
            file: variant(big, i),
            filename: `big-${String(i)}.png`,
            fields: { title: `big ${String(i)}` },
          }),
        ),
      );
      const seconds = (performance.now() - started) / 1000;
      const after = memoryMb();
      console.log(
        `8 x 100 Mpx PNG accepted: ${seconds.toFixed(1)} s, ` +
          `node peak ${String(before.peak)} -> ${String(after.peak)} MB`,
      );
      expect(responses.map((r) => r.status)).toEqual(Array.from({ length: 8 }, () => 201));
      // One decode of 100 Mpx costs about 80 MB; all eight at once cost over 600 (measured).
      expect(after.peak - before.peak).toBeLessThan(450);
    });

    it('still takes an ordinary photo and serves its thumbnails', async () => {
      const photo = await makeImage({ width: 1200, height: 900, format: 'jpeg', seed: 7 });
      const res = await client.upload<{ id: string }>({
        file: photo,
        fields: { title: 'ordinary' },
      });
      expect(res.status).toBe(201);
      for (const size of ['small', 'large']) {
        const thumb = await client.fetch(`/api/pictures/${res.body.id}/thumb?size=${size}`);
        expect(thumb.status).toBe(200);
        expect(thumb.headers.get('content-type')).toContain('image/webp');
      }
    });
  });
});
