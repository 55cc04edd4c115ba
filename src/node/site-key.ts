/**
 * The cluster key is the one setting every process of a site must share that only each
 * process's environment holds: it signs every peer request, so a process started with another
 * key fails the peer requests the balancer sends it (and, leading, every exchange with the
 * peers), which the peers see as a site that answers now and then.
 *
 * The process that takes the site's lead records where it runs and a fingerprint of its key (an
 * HMAC, not the key) in `meta`; a process that starts while that leader still holds the lease,
 * with another key, is refused with a sentence. Once every process is stopped the lease
 * expires, so a key changed on purpose (stop all, start all with the new key) is never refused.
 */
import { createHmac } from 'node:crypto';
import { hostname } from 'node:os';
import { sql } from 'kysely';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { MetaRepository } from '../storage/metadata/meta.repository.js';

export const LEAD_KEY_META = 'site-lead-cluster-key';

interface LeadKey {
  readonly fingerprint: string;
  readonly host: string;
  readonly pid: number;
}

/** Tells keys apart without storing anything that would help find one. */
export function keyFingerprint(clusterKey: string | undefined): string {
  if (clusterKey === undefined) return 'none';
  return createHmac('sha256', clusterKey).update('mosaic site key check').digest('hex');
}

/** Records this process's key as the leader's (called when it takes the lead). */
export async function recordLeadKey(
  store: MetadataStore,
  clusterKey: string | undefined,
): Promise<void> {
  const lead: LeadKey = {
    fingerprint: keyFingerprint(clusterKey),
    host: hostname(),
    pid: process.pid,
  };
  await new MetaRepository(store).set(LEAD_KEY_META, JSON.stringify(lead));
}

/** Refuses to start beside a live leader whose cluster key is another. */
export async function assertLeadersKey(
  store: MetadataStore,
  leaseName: string,
  clusterKey: string | undefined,
): Promise<void> {
  const lease = await store.db
    .selectFrom('lease')
    .select(sql<boolean>`expires_at > ${store.dialect.nowMs()}`.as('live'))
    .where('name', '=', leaseName)
    .executeTakeFirst();
  if (lease?.live !== true) return;
  const lead = parse(await new MetaRepository(store).get(LEAD_KEY_META));
  if (lead === null || lead.fingerprint === keyFingerprint(clusterKey)) return;
  throw new Error(
    `The process leading this site (pid ${lead.pid} on ${lead.host}) uses another cluster ` +
      `key: every process of a site needs the same MOSAIC_CLUSTER_KEY (--cluster-key). To ` +
      `change it, stop every process of the site, then start them all with the new one.`,
  );
}

function parse(raw: string | null): LeadKey | null {
  if (raw === null) return null;
  try {
    const value = JSON.parse(raw) as Partial<LeadKey>;
    if (typeof value.fingerprint !== 'string') return null;
    return { fingerprint: value.fingerprint, host: String(value.host), pid: Number(value.pid) };
  } catch {
    return null;
  }
}
