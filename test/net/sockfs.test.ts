import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, AF_UNIX, SOCK_STREAM, AF_INET6, SOCK_DGRAM } from '../../src/index.js';
import { SOCK_INODE, SOCKET_I, SOCKFS_MAGIC, sockfs_ops } from '../../src/net/sockfs.js';
import { sock_from_file } from '../../src/net/socket.js';

test('every socket has a sockfs inode with a unique number and a socket:[ino] name', () => {
  const host = new World().addHost('h');
  const t = host.spawn({ uid: 1000, gid: 100 });
  const a = t.socket(AF_UNIX, SOCK_STREAM, 0);
  const [b, c] = t.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  const names = [a, b, c].map((fd) => t.fdName(fd));
  for (const n of names) assert.match(n, /^socket:\[\d+\]$/);
  assert.equal(new Set(names).size, 3);
  const file = t.kernelTask.files.fcheck(a)!;
  const sock = sock_from_file(file)!;
  const inode = SOCK_INODE(sock);
  assert.equal(SOCKET_I(inode), sock);
  assert.equal(file.f_inode, inode);
  assert.equal(inode.i_sb?.s_magic, SOCKFS_MAGIC);
  assert.equal(inode.i_sb?.s_op, sockfs_ops);
  assert.equal(inode.i_uid, 1000, 'owned by the creator');
  assert.equal(inode.i_gid, 100);
  assert.equal(names[0], `socket:[${inode.i_ino}]`);
  assert.equal(sock.sk?.sk_socket, sock, 'sk->sk_socket points back');
});

test('sockfs is registered and listed as a nodev filesystem', () => {
  const host = new World().addHost('h');
  assert.match(host.procFilesystems(), /^nodev\tsockfs$/m);
});

test('sockets cannot seek; unknown families are EAFNOSUPPORT', () => {
  const t = new World().addHost('h').spawn();
  const a = t.socket(AF_UNIX, SOCK_STREAM, 0);
  assert.throws(() => t.lseek(a, 0, 0), { code: 'ESPIPE' });
  assert.throws(() => t.socket(46, SOCK_STREAM, 0), { code: 'EAFNOSUPPORT' });
  assert.throws(() => t.socket(-1, SOCK_STREAM, 0), { code: 'EAFNOSUPPORT' });
  assert.throws(() => t.socket(AF_INET6, SOCK_STREAM, 0), { code: 'EAFNOSUPPORT' });
  assert.throws(() => t.socket(AF_UNIX, 11, 0), { code: 'EINVAL' });
});
