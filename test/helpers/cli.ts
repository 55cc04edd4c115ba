/**
 * Runs the real CLI (bin/mosaic.js) to its end, for the tests of what a person sees: its exit
 * code, standard output and standard error. Needs `npm run build` first.
 */
import { spawn } from 'node:child_process';
import { BIN, REPO_ROOT } from './node-process.js';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Added to the environment (this process's MOSAIC_* settings are not inherited). */
  readonly env?: Readonly<Record<string, string>>;
  readonly stdin?: string;
  /** The process is killed after this long (then code is null). */
  readonly timeoutMs?: number;
}

export async function runCli(
  args: readonly string[],
  options: CliOptions = {},
): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('MOSAIC_')) env[key] = value;
  }
  Object.assign(env, { MOSAIC_DISCOVERY: 'off' }, options.env);
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  child.stdin.end(options.stdin ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  return { code, stdout, stderr };
}
