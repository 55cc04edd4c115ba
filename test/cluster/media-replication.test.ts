/**
 * Photo facts never travel as operations: a replica reads them from the bytes it fetches. Two
 * real nodes: a JPEG with EXIF and an iPhone HEIC uploaded at n1 show the same facts, the same
 * timeline order and month index at n2, and n2 makes the HEIC's thumbnail itself.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, type ClusterNode } from '../helpers/cluster.js';
import { cleanup, waitFor, type Picture } from '../helpers/node-process.js';

const HEIC = new URL('../fixtures/iphone.heic', import.meta.url);

type FactPicture = Picture & {
  takenAt: string | null;
  camera: { make: string | null; model: string | null } | null;
  gps: { latitude: number; longitude: number } | null;
};

let cluster: TestCluster;
let n1: ClusterNode;
let n2: ClusterNode;

beforeAll(async () => {
  cluster = new TestCluster({ syncIntervalMs: 500 });
  [n1, n2] = (await cluster.startAll(2)) as [ClusterNode, ClusterNode];
});

afterAll(cleanup);

describe('photo facts across nodes', () => {
  it('a replica derives the same facts from the bytes it fetched, and orders the same', async () => {
    const jpeg = await sharp({
      create: { width: 120, height: 80, channels: 3, background: { r: 10, g: 200, b: 90 } },
    })
      .jpeg()
      .withExif({
        IFD0: { Make: 'Google', Model: 'Pixel 8' },
        IFD2: { DateTimeOriginal: '2012:09:30 07:45:00', OffsetTimeOriginal: '+09:00' },
        IFD3: {
          GPSLatitudeRef: 'N',
          GPSLatitude: '35/1 39/1 2900/100',
          GPSLongitudeRef: 'E',
          GPSLongitude: '139/1 44/1 2800/100',
        },
      })
      .toBuffer();
    const a1 = await n1.api();
    const uploaded: FactPicture[] = [];
    for (const [file, title] of [
      [jpeg, 'Tokyo morning'],
      [await readFile(HEIC), 'Phone'],
    ] as const) {
      const res = await a1.upload<FactPicture>({ file, fields: { title } });
      expect(res.status).toBe(201);
      uploaded.push(res.body);
    }
    const a2 = await n2.api();
    for (const picture of uploaded) {
      const there = await waitFor(
        async () => {
          const res = await a2.get<FactPicture>(`/api/pictures/${picture.id}`);
          return res.status === 200 && res.body.takenAt !== null ? res.body : undefined;
        },
        { timeoutMs: 20_000, what: `${picture.title} with its facts at n2` },
      );
      expect(there.takenAt).toBe(picture.takenAt);
      expect(there.camera).toEqual(picture.camera);
      expect(there.gps).toEqual(picture.gps);
    }
    const order = async (node: ClusterNode) =>
      (
        await (await node.api()).get<{ items: FactPicture[] }>('/api/pictures?sort=taken')
      ).body.items.map((p) => p.title);
    expect(await order(n2)).toEqual(['Phone', 'Tokyo morning']);
    expect(await order(n2)).toEqual(await order(n1));
    const months = async (node: ClusterNode) =>
      (await (await node.api()).get('/api/timeline')).body;
    expect(await months(n2)).toEqual(await months(n1));
    // n2 decodes the HEIC itself for its thumbnail.
    const thumb = await a2.fetch(`/api/pictures/${uploaded[1]?.id ?? ''}/thumb`);
    expect(thumb.status).toBe(200);
    expect((await sharp(Buffer.from(await thumb.arrayBuffer())).metadata()).width).toBe(320);
  });
});
