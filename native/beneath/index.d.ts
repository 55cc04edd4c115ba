/**
 * Links the file at `from` to `rel` below the directory `rootFd`, every directory on the way
 * resolved by the kernel without following a symbolic link (openat2, RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS); throws Node-shaped errors with `syscall` 'openat2' or 'linkat'.
 */
export function linkBeneath(from: string, rootFd: number, rel: string): void;

/** Opens `rel` below `rootFd` (open(2) `flags`, plus O_CLOEXEC), no symbolic link resolved. */
export function openBeneath(rootFd: number, rel: string, flags: number): number;
