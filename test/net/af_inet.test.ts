import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  World,
  AF_INET,
  SOCK_SEQPACKET,
  SOCK_DGRAM,
  SOCK_RAW,
  SOL_SOCKET,
  SO_PROTOCOL,
  SO_DOMAIN,
} from '../../src/index.js';
import { inet_register_protosw, type InetProtosw } from '../../src/net/ipv4/af_inet.js';
import { Sock, type Proto } from '../../src/net/core/sock.js';
import * as net from '../../src/net/socket.js';

// A transport that only exists to be found: sockets of it can be created, queried and closed.
function toyProtosw(type: number, protocol: number): InetProtosw {
  const prot: Proto = { name: `toy-${protocol}`, alloc: (n) => new Sock(n) };
  const ops: net.ProtoOps = {
    family: AF_INET,
    owner: 'toy',
    release: (sock) => ((sock.sk = null), 0),
    bind: net.sock_no_bind,
    connect: net.sock_no_connect,
    socketpair: net.sock_no_socketpair,
    accept: net.sock_no_accept,
    getname: net.sock_no_getname,
    poll: () => 0,
    ioctl: net.sock_no_ioctl,
    compat_ioctl: net.sock_no_ioctl,
    listen: net.sock_no_listen,
    shutdown: net.sock_no_shutdown,
    setsockopt: net.sock_no_setsockopt,
    getsockopt: net.sock_no_getsockopt,
    compat_setsockopt: net.sock_no_setsockopt,
    compat_getsockopt: net.sock_no_getsockopt,
    sendmsg: net.sock_no_sendmsg,
    recvmsg: net.sock_no_recvmsg,
    mmap: net.sock_no_mmap,
    sendpage: net.sock_no_sendpage,
    splice_read: net.sock_no_splice_read,
  };
  return { type, protocol, prot, ops, flags: 0 };
}

test('inet_create: no transport for the type is ESOCKTNOSUPPORT; bad protocol numbers EINVAL', () => {
  const t = new World().addHost('h').spawn();
  assert.throws(() => t.socket(AF_INET, SOCK_SEQPACKET, 0), { code: 'ESOCKTNOSUPPORT' });
  assert.throws(() => t.socket(AF_INET, SOCK_DGRAM, 300), { code: 'EINVAL' });
  assert.throws(() => t.socket(AF_INET, SOCK_DGRAM, -1), { code: 'EINVAL' });
});

test('inet_create finds transports by exact protocol or wildcard, as inetsw does', () => {
  const host = new World().addHost('h');
  const t = host.spawn();
  inet_register_protosw(host.netns, toyProtosw(SOCK_DGRAM, 17));
  inet_register_protosw(host.netns, toyProtosw(SOCK_RAW, 0));
  const u = t.socket(AF_INET, SOCK_DGRAM, 0);
  assert.equal(t.getsockopt(u, SOL_SOCKET, SO_PROTOCOL), 17, 'protocol 0 takes the first entry');
  assert.equal(t.getsockopt(u, SOL_SOCKET, SO_DOMAIN), AF_INET);
  assert.equal(t.getsockopt(t.socket(AF_INET, SOCK_DGRAM, 17), SOL_SOCKET, SO_PROTOCOL), 17);
  assert.throws(() => t.socket(AF_INET, SOCK_DGRAM, 6), { code: 'EPROTONOSUPPORT' });
  // A wildcard entry accepts any protocol; raw sockets need CAP_NET_RAW.
  assert.equal(t.getsockopt(t.socket(AF_INET, SOCK_RAW, 1), SOL_SOCKET, SO_PROTOCOL), 1);
  const user = host.spawn({ uid: 1000 });
  assert.throws(() => user.socket(AF_INET, SOCK_RAW, 1), { code: 'EPERM' });
  t.close(u);
});
