import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, AF_UNIX, SOCK_STREAM } from '../../src/index.js';

test('path walk errors: ENOENT, ENOTDIR, EACCES, EADDRINUSE', () => {
  const host = new World().addHost('h');
  const root = host.spawn();
  const user = host.spawn({ uid: 1000 });
  root.mkdir('/srv', 0o700);
  const s = root.socket(AF_UNIX, SOCK_STREAM, 0);
  root.bind(s, { family: AF_UNIX, path: '/srv/sock' });
  const u = user.socket(AF_UNIX, SOCK_STREAM, 0);
  assert.throws(() => user.bind(u, { family: AF_UNIX, path: '/nope/x' }), { code: 'ENOENT' });
  assert.throws(() => user.bind(u, { family: AF_UNIX, path: '/srv/x' }), { code: 'EACCES' });
  assert.throws(() => user.bind(u, { family: AF_UNIX, path: '/srv/sock/x' }), { code: 'EACCES' });
  assert.throws(
    () => root.bind(root.socket(AF_UNIX, SOCK_STREAM, 0), { family: AF_UNIX, path: '/srv/sock/x' }),
    {
      code: 'ENOTDIR',
    },
  );
  assert.throws(
    () => root.bind(root.socket(AF_UNIX, SOCK_STREAM, 0), { family: AF_UNIX, path: '/srv/sock' }),
    {
      code: 'EADDRINUSE',
    },
  );
  assert.throws(() => root.mkdir('/srv'), { code: 'EEXIST' });
});

test("sticky /tmp: a user cannot unlink another user's socket", () => {
  const host = new World().addHost('h');
  const a = host.spawn({ uid: 1000 });
  const b = host.spawn({ uid: 1001 });
  a.bind(a.socket(AF_UNIX, SOCK_STREAM, 0), { family: AF_UNIX, path: '/tmp/a' });
  assert.throws(() => b.unlink('/tmp/a'), { code: 'EPERM' });
  a.unlink('/tmp/a');
  assert.throws(() => a.unlink('/tmp/a'), { code: 'ENOENT' });
});
