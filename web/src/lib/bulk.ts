/**
 * Bulk actions over many pictures with the one-picture endpoints: a few requests at a time,
 * progress after each, and every failure kept with its reason for the summary.
 */

export interface BulkFailure {
  readonly id: string;
  readonly message: string;
}

export interface BulkResult {
  readonly done: string[];
  readonly failed: BulkFailure[];
}

export async function runBulk(
  ids: readonly string[],
  action: (id: string) => Promise<unknown>,
  {
    concurrency = 4,
    onProgress,
  }: { concurrency?: number; onProgress?: (finished: number, total: number) => void } = {},
): Promise<BulkResult> {
  const done: string[] = [];
  const failed: BulkFailure[] = [];
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++];
      if (id === undefined) break;
      try {
        await action(id);
        done.push(id);
      } catch (error) {
        failed.push({ id, message: error instanceof Error ? error.message : String(error) });
      }
      onProgress?.(done.length + failed.length, ids.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, ids.length)) }, worker));
  return { done, failed };
}

/**
 * One sentence for the failures: "2 of 5 could not be deleted: You may not do this." Reasons
 * are grouped so that fifty identical refusals read as one.
 */
export function failureSummary(result: BulkResult, verb: string): string | null {
  if (result.failed.length === 0) return null;
  const total = result.done.length + result.failed.length;
  const reasons = [...new Set(result.failed.map((f) => f.message))];
  return `${result.failed.length} of ${total} could not be ${verb}: ${reasons.join(' ')}`;
}
