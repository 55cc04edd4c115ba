/**
 * For the upload profile: an HTTP server with the app's multipart settings that only drains
 * the bytes, run as a child process (this file, executed by itself), and the two ways to post
 * a file to it.
 */
import { spawn } from 'node:child_process';
import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import multipart from '@fastify/multipart';
import Fastify from 'fastify';

const SELF = fileURLToPath(import.meta.url);

async function drainServer(): Promise<void> {
  const app = Fastify({ bodyLimit: 1024 * 1024 });
  await app.register(multipart, {
    limits: { fileSize: 200 * 1024 * 1024, files: 1, fields: 10, fieldSize: 64 * 1024, parts: 12 },
  });
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => {
    payload.on('error', done);
    payload.on('end', () => {
      done(null, undefined);
    });
    payload.resume();
  });
  app.post('/multipart', async (request) => {
    let bytes = 0;
    for await (const part of request.parts()) {
      if (part.type === 'file')
        for await (const chunk of part.file) bytes += (chunk as Buffer).length;
    }
    return { bytes };
  });
  app.post('/raw', async () => ({ ok: true }));
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`${address}\n`);
}

/** Starts the drain server in a child process; resolves with its URL once it listens. */
export async function startDrainServer(): Promise<{ url: string; pid: number; stop: () => void }> {
  const child = spawn(process.execPath, [SELF], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => {
      reject(new Error(`drain server exited (${String(code)})`));
    });
  });
  if (child.pid === undefined) throw new Error('drain server has no pid');
  return {
    url: line.trim(),
    pid: child.pid,
    stop: () => {
      child.kill('SIGTERM');
    },
  };
}

export async function postMultipart(url: string, file: string): Promise<void> {
  const form = new FormData();
  form.append('title', 'x');
  form.append('file', await openAsBlob(file, { type: 'image/jpeg' }), basename(file));
  const res = await fetch(`${url}/multipart`, { method: 'POST', body: form });
  await res.text();
  if (res.status !== 200) throw new Error(`drain server: HTTP ${res.status}`);
}

export async function postRaw(url: string, file: string): Promise<void> {
  const res = await fetch(`${url}/raw`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: await openAsBlob(file),
  });
  await res.text();
  if (res.status !== 200) throw new Error(`drain server: HTTP ${res.status}`);
}

if (process.argv[1] === SELF) await drainServer();
