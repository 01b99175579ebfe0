// Scripts that must fail, over a TCP connection, each with packetdrill's own message: the
// interpreter is only worth its passes if it catches each kind of mismatch.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScript } from '../../src/tools/packetdrill/parser.js';
import { runScript } from '../../src/tools/packetdrill/runtime.js';

/** A passive open (lines 1-8), then `rest` from line 9. */
const HANDSHAKE = [
  '`../common/defaults.sh`',
  '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3',
  '+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0',
  '+0 bind(3, ..., ...) = 0',
  '+0 listen(3, 1) = 0',
  '+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>',
  '+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>',
  '+.1 < . 1:1(0) ack 1 win 257',
  '+0 accept(3, ..., ...) = 4',
];

async function errors(rest: string[], head = HANDSHAKE): Promise<string[]> {
  const r = await runScript(parseScript([...head, ...rest].join('\n') + '\n', { file: 't.pkt' }), {
    file: 't.pkt',
  });
  assert.equal(r.ok, r.errors.length === 0);
  return r.errors;
}

test('the handshake alone passes', async () => {
  assert.deepEqual(await errors([]), []);
});

test('a wrong errno', async () => {
  assert.deepEqual(await errors(['+0 accept(4, ..., ...) = -1 EAGAIN (Resource temporarily unavailable)']), [
    't.pkt:10: runtime error in accept call: Expected errno 11 (Resource temporarily unavailable) but got 22 (Invalid argument)',
  ]);
});

test('a wrong return value', async () => {
  assert.deepEqual(await errors(['+0 write(4, ..., 1000) = 999']), [
    't.pkt:10: runtime error in write call: Expected result 999 but got 1000',
  ]);
});

test('a missing outbound packet', async () => {
  assert.deepEqual(await errors(['+0 write(4, ..., 0) = 0', '+0 > P. 1:101(100) ack 1']), [
    't.pkt:11: error handling packet: Timed out waiting for packet',
  ]);
});

test('an extra outbound packet fails the next outbound line', async () => {
  // The data segment the script leaves out is what the FIN line sees.
  assert.deepEqual(await errors(['+0 write(4, ..., 100) = 100', '+0 close(4) = 0', '+0 > F. 1:1(0) ack 1']), [
    't.pkt:12: error handling packet: live packet payload: expected 0 bytes vs actual 100 bytes',
  ]);
});

test('a wrong TCP option', async () => {
  const head = HANDSHAKE.map((l) => l.replace('ack 1 <mss 1460,', 'ack 1 <mss 1000,'));
  assert.deepEqual(await errors([], head), [
    't.pkt:7: error handling packet: bad value in outbound TCP option (kind=2): expected: mss 1000 actual: mss 1460\n' +
      'script packet: 0.000000 S. 0:0(0) ack 1 <mss 1000,nop,nop,sackOK,nop,wscale 8>\n' +
      'actual packet: 0.000000 S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 8>',
  ]);
});

test('a wrong flag', async () => {
  assert.deepEqual(await errors(['+0 write(4, ..., 100) = 100', '+0 > . 1:101(100) ack 1']), [
    't.pkt:11: error handling packet: live packet field tcp_psh: expected: 0 (0x0) vs actual: 1 (0x1)\n' +
      'script packet: 0.100000 . 1:101(100) ack 1\n' +
      'actual packet: 0.100000 P. 1:101(100) ack 1 win 256',
  ]);
});

test('a packet earlier than the tolerance allows', async () => {
  assert.deepEqual(await errors(['+0 write(4, ..., 100) = 100', '+.5 > P. 1:101(100) ack 1']), [
    't.pkt:11: error handling packet: timing error: expected outbound packet at 0.600000 sec but happened at 0.100000 sec; tolerance 0.062500 sec',
  ]);
});

test('a packet later than the tolerance allows', async () => {
  // The tail loss probe comes 300 ms after the segment, not 100 ms.
  assert.deepEqual(
    await errors(['+0 write(4, ..., 100) = 100', '+0 > P. 1:101(100) ack 1', '+.1 > P. 1:101(100) ack 1']),
    [
      't.pkt:12: error handling packet: timing error: expected outbound packet at 0.200000 sec but happened at 0.400000 sec; tolerance 0.012500 sec',
    ],
  );
});

test('a script that ends while a blocking call still runs', async () => {
  assert.deepEqual(await errors(['+0...5 read(4, ..., 100) = 10']), [
    't.pkt:10: runtime error: exiting while a blocking system call is in progress',
  ]);
});
