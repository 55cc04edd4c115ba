/**
 * On a site of two processes (one PostgreSQL, one S3 bucket), a download streaming from process
 * 1 is cut when an admin disables its account through process 2: process 1 hears of it on the
 * site bus (`access: true`) and checks its requests in flight again (src/http/in-flight.ts).
 * Before, the download went on to its end.
 */
import { request as httpRequest } from 'node:http';
import { expect, test } from 'vitest';
import { follow } from '../helpers/held-answer.js';
import {
  ADMIN_PASSWORD,
  api,
  canLogin,
  login,
  makeImage,
  waitFor,
  type NodeProcess,
  type Picture,
} from '../helpers/node-process.js';
import { siteEnv, startSite, useSharedServers } from '../helpers/shared-servers.js';

const servers = useSharedServers();

test('a download at one process is cut when its account is disabled through another', async () => {
  const env = await siteEnv(servers(), 'in-flight-scaled');
  const [p1, p2] = (await startSite(2, env, ['--name', 'scaled'])) as [NodeProcess, NodeProcess];
  const admin1 = api(p1.url, await login(p1.url, 'admin', ADMIN_PASSWORD));
  const admin2 = api(p2.url, await login(p2.url, 'admin', ADMIN_PASSWORD));
  const added = await admin1.post('/api/users', { username: 'gina', password: 'gina-password-1' });
  expect(added.status).toBe(201);
  // Far more than the connection holds, so that the download waits on its slow reader.
  const file = await makeImage({ width: 3000, height: 3000, seed: 731 });
  const up = await admin1.upload<Picture>({ file, fields: { title: 'big' } });
  expect(up.status).toBe(201);

  const req = httpRequest(new URL(`/api/pictures/${up.body.id}/file`, p1.url), {
    headers: { cookie: await login(p1.url, 'gina', 'gina-password-1') },
  });
  req.end();
  const download = follow(req, { pause: true });
  await waitFor(() => download.received() > 0, { what: 'the download under way' });

  expect((await admin2.patch('/api/users/gina', { disabled: true })).status).toBe(200);
  expect(await canLogin(p1.url, 'gina', 'gina-password-1')).toBe(false);
  await p1.waitForLog(
    (line) => line.msg === 'request cut: its caller lost access' && line['username'] === 'gina',
    20_000,
  );
  download.resume();
  expect(await download.answer).toBe('cut');
  expect(download.received()).toBeLessThan(file.length);
});
