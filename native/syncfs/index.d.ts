/** Flushes every dirty page of the file system holding `fd` (syncfs(2)), on libuv's pool. */
export function syncfs(fd: number): Promise<void>;
