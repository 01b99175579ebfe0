// The send side as packetdrill sees it: skbs of the size goal on the write queue, TSO bursts
// with the PSH flag GSO leaves on their last segment, MSG_MORE, send-buffer accounting,
// TCP_CM_INQ after a FIN, the chronographs of TCP_INFO, and a qdisc that drops everything.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outcome as run } from '../packetdrill/inline.js';

/** A passive connection with a peer MSS of 1000, window 32896, accepted as fd 4. */
const ACCEPTED = [
  '`../common/defaults.sh`',
  '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3',
  '+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0',
  '+0 bind(3, ..., ...) = 0',
  '+0 listen(3, 1) = 0',
  '+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>',
  '+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>',
  '+.01 < . 1:1(0) ack 1 win 257',
  '+0 accept(3, ..., ...) = 4',
];

test('a write cut short by cwnd ends its last burst with PSH; a lone segment has none', async () => {
  const r = await run([
    ...ACCEPTED,
    '+.01 write(4, ..., 11000) = 11000',
    // Initial cwnd 10: the tail of the write waits, yet the last burst's last segment has PSH.
    '+0 > P. 1:10001(10000) ack 1',
    '+.01 < . 1:1(0) ack 10001 win 257',
    '+0 > P. 10001:11001(1000) ack 1',
    '+.01 < . 1:1(0) ack 11001 win 257',
    '+0 write(4, ..., 1000) = 1000',
    '+0 > P. 11001:12001(1000) ack 1',
  ]);
  assert.deepEqual(r, { ok: true, errors: [] });
});

test('without PSH expectations the burst boundary shows: strict segments see PSH mid-write', async () => {
  const r = await run([...ACCEPTED, '+.01 write(4, ..., 11000) = 11000', '+0 > . 1:10001(10000) ack 1']);
  assert.equal(r.ok, false);
  assert.match(r.errors[0]!, /tcp_psh: expected: 0 \(0x0\) vs actual: 1/);
});

test('MSG_MORE holds a small segment back until a write without it', async () => {
  const r = await run([
    ...ACCEPTED,
    '+0 setsockopt(4, SOL_TCP, TCP_NODELAY, [1], 4) = 0',
    '+.01 send(4, ..., 40, MSG_MORE) = 40',
    '+.2 send(4, ..., 40, 0) = 40',
    '+0 > P. 1:81(80) ack 1',
  ]);
  assert.deepEqual(r, { ok: true, errors: [] });
});

test('TCP_NOTSENT_LOWAT: new skbs wait for unsent bytes to fall, the tail skb still fills up', async () => {
  const r = await run([
    ...ACCEPTED,
    '+0 setsockopt(4, SOL_TCP, TCP_NOTSENT_LOWAT, [4000], 4) = 0',
    '+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0',
    // The first skb (size goal 16000) goes out as far as cwnd allows; what is left of it takes
    // more data up to the size goal; then 16000 unsent bytes block a new skb.
    '+0 write(4, ..., 59000) = 26000',
    '+0 > P. 1:10001(10000) ack 1',
  ]);
  assert.deepEqual(r, { ok: true, errors: [] });
});

test('the send buffer is charged the payload plus one small head per skb', async () => {
  const r = await run([
    '`../common/defaults.sh\nsysctl -q net.ipv4.tcp_wmem="4096 50000 4194304"\nsysctl -q net.ipv4.tcp_min_tso_segs=10`',
    ...ACCEPTED.slice(1),
    '+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0',
    '+0 write(4, ..., 59000) = 58000',
    '+0 > P. 1:10001(10000) ack 1',
  ]);
  assert.deepEqual(r, { ok: true, errors: [] });
});

test('tcpi_rwnd_limited and tcpi_busy_time count the time a zero window holds data back', async () => {
  const r = await run([
    '`../common/defaults.sh`',
    '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3',
    '+0...0.010 connect(3, ..., ...) = 0',
    '+0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>',
    '+.01 < S. 0:0(0) ack 1 win 0 <mss 1000,nop,nop,sackOK>',
    '+0 > . 1:1(0) ack 1',
    '+0 %{ assert tcpi_rwnd_limited == 0, tcpi_rwnd_limited }%',
    '+0 write(3, ..., 1000) = 1000',
    '+.2 < . 1:1(0) ack 1 win 2000',
    '+0 > P. 1:1001(1000) ack 1',
    '+0 %{ assert 196000 <= tcpi_rwnd_limited <= 204000, tcpi_rwnd_limited; assert tcpi_busy_time >= tcpi_rwnd_limited, tcpi_busy_time }%',
  ]);
  assert.deepEqual(r, { ok: true, errors: [] });
});

test('TCP_CM_INQ is 1 once only the FIN is left to read', async () => {
  const r = await run([
    ...ACCEPTED,
    '+0 setsockopt(4, SOL_TCP, TCP_INQ, [1], 4) = 0',
    '+0 < P. 1:101(100) ack 1 win 257',
    '+0 < F. 101:101(0) ack 1 win 257',
    '+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 100}], msg_flags=0, ' +
      'msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=1}]}, 0) = 100',
  ]);
  assert.deepEqual(r, { ok: true, errors: [] });
});

test('`tc qdisc add … pfifo limit 0` drops every segment the host sends', async () => {
  const r = await run([
    ...ACCEPTED,
    '+0 `tc qdisc add dev tun0 root pfifo limit 0`',
    '+0 write(4, ..., 100) = 100',
    '+0 > P. 1:101(100) ack 1',
  ]);
  assert.equal(r.ok, false);
  assert.match(r.errors[0]!, /Timed out waiting for packet/);
  const back = await run([
    ...ACCEPTED,
    '+0 `tc qdisc add dev tun0 root pfifo limit 0`',
    '+0 `tc qdisc delete dev tun0 root`',
    '+0 write(4, ..., 100) = 100',
    '+0 > P. 1:101(100) ack 1',
  ]);
  assert.deepEqual(back, { ok: true, errors: [] });
});
