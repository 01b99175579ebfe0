// usernet's own packetdrill scripts for loss recovery: RACK's reordering window and timer, the
// SACK scoreboard's counters at dupthresh, undo by D-SACK and by the echoed timestamp (Eifel),
// and F-RTO telling a spurious timeout from a real one. Times follow HZ = 250 (a 25 ms
// reordering window, padded by 2 ms, waits 7 jiffies: 28 ms).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outcome as run } from '../packetdrill/inline.js';

/** A passive connection: peer MSS 1000, SACK, an RTT of 100 ms, accepted as fd 4. */
const ACCEPTED = [
  '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3',
  '+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0',
  '+0 bind(3, ..., ...) = 0',
  '+0 listen(3, 1) = 0',
  '+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>',
  '+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>',
  '+.1 < . 1:1(0) ack 1 win 320',
  '+0 accept(3, ..., ...) = 4',
];
const DEFAULTS = ['`../common/defaults.sh`'];
/** Without TLP, so that the retransmission timer is what fires. */
const NO_TLP = ['`../common/defaults.sh', 'sysctl -q net.ipv4.tcp_early_retrans=0`'];

test('RACK: a SACK of the last segment waits min_rtt/4 before the fast retransmit (reordering timer)', async () => {
  const r = await run([
    ...DEFAULTS,
    ...ACCEPTED,
    '+0 write(4, ..., 4000) = 4000',
    '+0 > P. 1:4001(4000) ack 1',
    '+.1 < . 1:1(0) ack 1 win 320 <sack 3001:4001,nop,nop>',
    '+0 %{',
    'assert tcpi_ca_state == TCP_CA_Disorder, tcpi_ca_state',
    'assert tcpi_sacked == 1, tcpi_sacked',
    'assert tcpi_lost == 0, tcpi_lost',
    '}%',
    '+.028 > . 1:1001(1000) ack 1',
    '+0 %{',
    'assert tcpi_ca_state == TCP_CA_Recovery, tcpi_ca_state',
    'assert tcpi_lost == 3, tcpi_lost',
    'assert tcpi_retrans == 1, tcpi_retrans',
    '}%',
    '+.1 < . 1:1(0) ack 1001 win 320 <sack 3001:4001,nop,nop>',
    '+0 > . 1001:3001(2000) ack 1',
    '+.1 < . 1:1(0) ack 4001 win 320',
    '+0 %{',
    'assert tcpi_ca_state == TCP_CA_Open, tcpi_ca_state',
    'assert tcpi_lost == 0 and tcpi_sacked == 0 and tcpi_retrans == 0',
    'assert tcpi_total_retrans == 3, tcpi_total_retrans',
    '}%',
  ]);
  assert.deepEqual(r, { ok: true, errors: [] });
});

test('SACK: at dupthresh SACKed segments the hole is lost at once; a D-SACK of the retransmission undoes the reduction', async () => {
  const r = await run([
    ...DEFAULTS,
    ...ACCEPTED,
    '+0 write(4, ..., 10000) = 10000',
    '+0 > P. 1:10001(10000) ack 1',
    '+.1 < . 1:1(0) ack 1 win 320 <sack 1001:2001,nop,nop>',
    '+0 < . 1:1(0) ack 1 win 320 <sack 1001:3001,nop,nop>',
    '+0 < . 1:1(0) ack 1 win 320 <sack 1001:4001,nop,nop>',
    '+0 > . 1:1001(1000) ack 1',
    '+0 %{',
    'assert tcpi_ca_state == TCP_CA_Recovery, tcpi_ca_state',
    'assert tcpi_sacked == 3, tcpi_sacked',
    'assert tcpi_lost == 1, tcpi_lost',
    'assert tcpi_retrans == 1, tcpi_retrans',
    'assert tcpi_snd_ssthresh == 7, tcpi_snd_ssthresh',
    '}%',
    '+.1 < . 1:1(0) ack 10001 win 320',
    '+0 %{',
    'assert tcpi_ca_state == TCP_CA_Open, tcpi_ca_state',
    'assert tcpi_snd_cwnd < 10, tcpi_snd_cwnd',
    '}%',
    '+0 < . 1:1(0) ack 10001 win 320 <sack 1:1001,nop,nop>',
    '+0 %{',
    'assert tcpi_dsack_dups == 1, tcpi_dsack_dups',
    'assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd',
    'assert tcpi_snd_ssthresh > 1000000, tcpi_snd_ssthresh',
    '}%',
  ]);
  assert.deepEqual(r, { ok: true, errors: [] });
});

test('F-RTO: an ACK beyond the retransmitted head proves the timeout spurious; cwnd is restored', async () => {
  const r = await run([
    ...NO_TLP,
    ...ACCEPTED,
    '+0 write(4, ..., 20000) = 20000',
    '+0 > P. 1:10001(10000) ack 1',
    '+.3 > . 1:1001(1000) ack 1',
    '+0 %{',
    'assert tcpi_ca_state == TCP_CA_Loss, tcpi_ca_state',
    'assert tcpi_snd_cwnd == 1, tcpi_snd_cwnd',
    'assert tcpi_lost == 10, tcpi_lost',
    '}%',
    '+.01 < . 1:1(0) ack 2001 win 320',
    '+0 %{',
    'assert tcpi_ca_state == TCP_CA_Open, tcpi_ca_state',
    'assert tcpi_snd_cwnd >= 10, tcpi_snd_cwnd',
    'assert tcpi_lost == 0, tcpi_lost',
    '}%',
    '+0 > P. 10001:12001(2000) ack 1',
  ]);
  assert.deepEqual(r, { ok: true, errors: [] });
});

test('F-RTO: new data SACKed while the next hole stays open proves the loss real; recovery goes on', async () => {
  const r = await run([
    ...NO_TLP,
    ...ACCEPTED,
    '+0 write(4, ..., 20000) = 20000',
    '+0 > P. 1:10001(10000) ack 1',
    '+.3 > . 1:1001(1000) ack 1',
    '+.01 < . 1:1(0) ack 1001 win 320',
    '+0 > . 10001:12001(2000) ack 1',
    '+0 %{',
    'assert tcpi_ca_state == TCP_CA_Loss, tcpi_ca_state',
    '}%',
    '+.01 < . 1:1(0) ack 1001 win 320 <sack 10001:11001,nop,nop>',
    '+0 > . 1001:2001(1000) ack 1',
    '+0 %{',
    'assert tcpi_ca_state == TCP_CA_Loss, tcpi_ca_state',
    'assert tcpi_total_retrans == 2, tcpi_total_retrans',
    '}%',
  ]);
  assert.deepEqual(r, { ok: true, errors: [] });
});

test('Eifel: the ACK that ends recovery echoes the timestamp of the original, so the reduction is undone', async () => {
  // Timestamps on, and an MSS option of 1012 so that segments carry 1000 bytes.
  const r = await run([
    ...DEFAULTS,
    '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3',
    '+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0',
    '+0 bind(3, ..., ...) = 0',
    '+0 listen(3, 1) = 0',
    '+0 < S 0:0(0) win 32792 <mss 1012,sackOK,TS val 100 ecr 0,nop,wscale 7>',
    '+0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 100 ecr 100,nop,wscale 8>',
    '+.1 < . 1:1(0) ack 1 win 320 <nop,nop,TS val 200 ecr 100>',
    '+0 accept(3, ..., ...) = 4',
    '+0 write(4, ..., 10000) = 10000',
    '+0 > P. 1:10001(10000) ack 1 <nop,nop,TS val 200 ecr 200>',
    '+.1 < . 1:1(0) ack 1 win 320 <nop,nop,TS val 300 ecr 200,nop,nop,sack 1001:4001>',
    '+0 > . 1:1001(1000) ack 1 <nop,nop,TS val 300 ecr 300>',
    '+0 %{',
    'assert tcpi_ca_state == TCP_CA_Recovery, tcpi_ca_state',
    'assert tcpi_snd_ssthresh == 7, tcpi_snd_ssthresh',
    '}%',
    '+.1 < . 1:1(0) ack 10001 win 320 <nop,nop,TS val 400 ecr 200>',
    '+0 %{',
    'assert tcpi_ca_state == TCP_CA_Open, tcpi_ca_state',
    'assert tcpi_snd_cwnd >= 10, tcpi_snd_cwnd',
    'assert tcpi_snd_ssthresh > 1000000, tcpi_snd_ssthresh',
    '}%',
  ]);
  assert.deepEqual(r, { ok: true, errors: [] });
});

test('an RTT sample of zero (an ACK in the same instant of virtual time) counts as one jiffy in min_rtt', async () => {
  // Linux's min_rtt filter takes a zero sample as jiffies_to_usecs(1): 4 ms at HZ = 250. Taken
  // as 1 µs it would leave RACK a reordering window (min_rtt / 4) of nothing.
  const r = await run([
    ...DEFAULTS,
    ...ACCEPTED,
    '+0 %{ assert tcpi_min_rtt == 100000, tcpi_min_rtt }%',
    '+0 write(4, ..., 1000) = 1000',
    '+0 > P. 1:1001(1000) ack 1',
    '+0 < . 1:1(0) ack 1001 win 320',
    '+0 %{ assert tcpi_min_rtt == 4000, tcpi_min_rtt }%',
  ]);
  assert.deepEqual(r, { ok: true, errors: [] });
});
