/**
 * Moves the file at `from` to `rel` below the directory `rootFd` without replacing anything
 * (renameat2 with RENAME_NOREPLACE, else a link and an unlink), every directory on the way
 * resolved by the kernel without following a symbolic link (openat2, RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS); throws Node-shaped errors with `syscall` 'openat2', 'renameat2', 'linkat'
 * or 'unlink'. `byLink`: link and unlink at once, as where the file system lacks the flag.
 */
export function moveBeneath(from: string, rootFd: number, rel: string, byLink?: boolean): void;

/** Opens `rel` below `rootFd` (open(2) `flags`, plus O_CLOEXEC), no symbolic link resolved. */
export function openBeneath(rootFd: number, rel: string, flags: number): number;
