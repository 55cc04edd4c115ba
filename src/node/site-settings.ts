/**
 * What every process of a site must share but only each process's environment holds:
 *
 * - the cluster key: it signs every peer request, so a process started with another key fails
 *   the peer requests the balancer sends it (and, leading, every exchange with the peers),
 *   which the peers see as a site that answers now and then;
 * - the bucket (and key prefix) of its bytes: a process on another one stores its uploads where
 *   the others never look, and they repair those pictures as missing their bytes.
 *
 * The process that takes the site's lead records where it runs, a fingerprint of its key (an
 * HMAC, not the key) and its bucket in `meta`; a process that starts while that leader still
 * holds the lease, with another key or bucket, is refused with a sentence. Once every process
 * is stopped the lease expires, so a setting changed on purpose (stop all, start all with the
 * new one) is never refused. The store's endpoint is not compared: machines may reach one
 * store by different addresses.
 */
import { createHmac } from 'node:crypto';
import { hostname } from 'node:os';
import { sql } from 'kysely';
import { parseBlobsUrl } from '../config/blobs-url.js';
import type { NodeConfig } from '../config/node-config.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { MetaRepository } from '../storage/metadata/meta.repository.js';

export const LEAD_SETTINGS_META = 'site-lead-settings';

interface LeadSettings {
  readonly key: string;
  readonly bucket: string;
  readonly host: string;
  readonly pid: number;
}

type Shared = Pick<NodeConfig, 'clusterKey' | 'blobs'>;

/** Tells keys apart without storing anything that would help find one. */
function keyFingerprint(clusterKey: string | undefined): string {
  if (clusterKey === undefined) return 'none';
  return createHmac('sha256', clusterKey).update('mosaic site key check').digest('hex');
}

/** `s3://BUCKET/PREFIX` without the endpoint, region or credentials (or "local files"). */
function bucketOf(blobs: string | undefined): string {
  const parsed = parseBlobsUrl(blobs, {});
  return parsed.kind === 's3' ? `s3://${parsed.bucket}/${parsed.prefix}` : 'local files';
}

/** Records this process's settings as the leader's (called when it takes the lead). */
export async function recordLeadSettings(store: MetadataStore, config: Shared): Promise<void> {
  const lead: LeadSettings = {
    key: keyFingerprint(config.clusterKey),
    bucket: bucketOf(config.blobs),
    host: hostname(),
    pid: process.pid,
  };
  await new MetaRepository(store).set(LEAD_SETTINGS_META, JSON.stringify(lead));
}

/** Refuses to start beside a live leader whose cluster key or bucket is another. */
export async function assertLeadersSettings(
  store: MetadataStore,
  leaseName: string,
  config: Shared,
): Promise<void> {
  const lease = await store.db
    .selectFrom('lease')
    .select(sql<boolean>`expires_at > ${store.dialect.nowMs()}`.as('live'))
    .where('name', '=', leaseName)
    .executeTakeFirst();
  if (lease?.live !== true) return;
  const lead = parse(await new MetaRepository(store).get(LEAD_SETTINGS_META));
  if (lead === null) return;
  const leader = `The process leading this site (pid ${lead.pid} on ${lead.host})`;
  const change = 'stop every process of the site, then start them all with the new one.';
  if (lead.key !== keyFingerprint(config.clusterKey)) {
    throw new Error(
      `${leader} uses another cluster key: every process of a site needs the same ` +
        `MOSAIC_CLUSTER_KEY (--cluster-key). To change it, ${change}`,
    );
  }
  const bucket = bucketOf(config.blobs);
  if (lead.bucket !== bucket) {
    throw new Error(
      `${leader} keeps the bytes in ${lead.bucket}, this one in ${bucket}: every process of a ` +
        `site needs the same bucket (MOSAIC_BLOBS, --blobs). To change it, ${change}`,
    );
  }
}

function parse(raw: string | null): LeadSettings | null {
  if (raw === null) return null;
  try {
    const value = JSON.parse(raw) as Partial<LeadSettings>;
    if (typeof value.key !== 'string' || typeof value.bucket !== 'string') return null;
    return {
      key: value.key,
      bucket: value.bucket,
      host: String(value.host),
      pid: Number(value.pid),
    };
  } catch {
    return null;
  }
}
