import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '../../src/kernel/kernel.js';
import { Prandom } from '../../src/kernel/random.js';
import { HZ, NSEC_PER_SEC, VirtualClock } from '../../src/kernel/time.js';
import { Net } from '../../src/net/core/net_namespace.js';
import {
  COOKIEMASK,
  MAX_SYNCOOKIE_AGE,
  TCP_SYNCOOKIE_PERIOD,
  TS_OPT_ECN,
  TS_OPT_SACK,
  TS_OPT_WSCALE_MASK,
  __cookie_v4_check,
  __cookie_v4_init_sequence,
  check_tcp_syn_cookie,
  cookie_init_timestamp,
  cookie_timestamp_decode,
  msstab,
  secure_tcp_syn_cookie,
  tcp_cookie_time,
} from '../../src/net/ipv4/syncookies.js';

function mknet(seed = 1): Net {
  return new Net(new Kernel('h', new VirtualClock(), new Prandom(seed)));
}

const PEER = 0xc0a80002; // 192.168.0.2, the SYN's source
const US = 0xc0a80001;
const SPORT = 51000;
const DPORT = 80;
const ISN = 0xfffffff0; // near the wrap on purpose
const PERIOD_NS = 60 * NSEC_PER_SEC;

test('constants are Linux’s', () => {
  assert.deepEqual(msstab, [536, 1300, 1440, 1460]);
  assert.equal(COOKIEMASK, 0xffffff);
  assert.equal(MAX_SYNCOOKIE_AGE, 2);
  assert.equal(TCP_SYNCOOKIE_PERIOD, 60 * HZ);
  assert.equal(TS_OPT_WSCALE_MASK, 0xf);
  assert.equal(TS_OPT_SACK, 0x10);
  assert.equal(TS_OPT_ECN, 0x20);
});

test('tcp_cookie_time counts minutes of jiffies', () => {
  assert.equal(tcp_cookie_time(0), 0);
  assert.equal(tcp_cookie_time(PERIOD_NS - 1), 0);
  assert.equal(tcp_cookie_time(PERIOD_NS), 1);
  assert.equal(tcp_cookie_time(5 * PERIOD_NS + 123), 5);
});

test('the syncookie secrets are drawn once, on first use', () => {
  const net = mknet();
  assert.equal(net.syncookie_secret, undefined);
  const c = secure_tcp_syn_cookie(net, PEER, US, SPORT, DPORT, ISN, 3, 1);
  const [s0, s1] = net.syncookie_secret!;
  assert.notDeepEqual(Array.from(s0), Array.from(s1));
  assert.equal(secure_tcp_syn_cookie(net, PEER, US, SPORT, DPORT, ISN, 3, 1), c);
  assert.equal(net.syncookie_secret![0], s0);
  assert.equal(secure_tcp_syn_cookie(mknet(1), PEER, US, SPORT, DPORT, ISN, 3, 1), c, 'same seed');
  assert.notEqual(secure_tcp_syn_cookie(mknet(2), PEER, US, SPORT, DPORT, ISN, 3, 1), c, 'other seed');
});

test('secure_tcp_syn_cookie / check_tcp_syn_cookie round-trip data at any count', () => {
  const net = mknet();
  for (const count of [0, 1, 255, 256, 0x12345, 0xffffffff]) {
    for (let data = 0; data < 4; data++) {
      const cookie = secure_tcp_syn_cookie(net, PEER, US, SPORT, DPORT, ISN, count, data);
      assert.ok(cookie >= 0 && cookie <= 0xffffffff);
      assert.equal(check_tcp_syn_cookie(net, cookie, PEER, US, SPORT, DPORT, ISN, count), data);
      assert.equal(
        check_tcp_syn_cookie(net, cookie, PEER, US, SPORT, DPORT, ISN, (count + 1) >>> 0),
        data,
        'one period later',
      );
      assert.equal(check_tcp_syn_cookie(net, cookie, PEER, US, SPORT, DPORT, ISN, (count + 2) >>> 0), -1);
      assert.equal(
        check_tcp_syn_cookie(net, cookie, PEER, US, SPORT, DPORT, ISN, (count - 1) >>> 0),
        -1,
        'from the future',
      );
    }
  }
});

test('check_tcp_syn_cookie reads the count from the namespace clock by default', () => {
  const clock = new VirtualClock();
  const net = new Net(new Kernel('h', clock, new Prandom(3)));
  const cookie = secure_tcp_syn_cookie(net, PEER, US, SPORT, DPORT, ISN, 0, 2);
  assert.equal(check_tcp_syn_cookie(net, cookie, PEER, US, SPORT, DPORT, ISN), 2);
  clock.advance(2 * PERIOD_NS);
  assert.equal(check_tcp_syn_cookie(net, cookie, PEER, US, SPORT, DPORT, ISN), -1);
});

test('a cookie decodes for MAX_SYNCOOKIE_AGE periods, then expires', () => {
  const net = mknet();
  const t0 = 10 * PERIOD_NS + 5 * NSEC_PER_SEC;
  const { isn, mss } = __cookie_v4_init_sequence(net, PEER, US, SPORT, DPORT, ISN, 1460, t0);
  assert.equal(mss, 1460);
  const check = (now: number): number => __cookie_v4_check(net, PEER, US, SPORT, DPORT, ISN, isn, now);
  assert.equal(check(t0), 1460);
  assert.equal(check(11 * PERIOD_NS - 1), 1460, 'same period');
  assert.equal(check(11 * PERIOD_NS), 1460, 'next period');
  assert.equal(check(12 * PERIOD_NS - 1), 1460, 'end of the next period');
  assert.equal(check(12 * PERIOD_NS), 0, 'MAX_SYNCOOKIE_AGE periods on');
  assert.equal(check(100 * PERIOD_NS), 0);
  assert.equal(check(10 * PERIOD_NS - 1), 0, 'before it was made');
});

test('a wrong 4-tuple, ISN or cookie does not decode', () => {
  const net = mknet();
  const now = 3 * PERIOD_NS;
  const { isn } = __cookie_v4_init_sequence(net, PEER, US, SPORT, DPORT, ISN, 1400, now);
  const check = (s: number, d: number, sp: number, dp: number, seq: number, cookie: number): number =>
    __cookie_v4_check(net, s, d, sp, dp, seq, cookie, now);
  assert.equal(check(PEER, US, SPORT, DPORT, ISN, isn), 1300);
  assert.equal(check(PEER + 1, US, SPORT, DPORT, ISN, isn), 0);
  assert.equal(check(PEER, US + 1, SPORT, DPORT, ISN, isn), 0);
  assert.equal(check(US, PEER, SPORT, DPORT, ISN, isn), 0);
  assert.equal(check(PEER, US, SPORT + 1, DPORT, ISN, isn), 0);
  assert.equal(check(PEER, US, SPORT, DPORT + 1, ISN, isn), 0);
  assert.equal(check(PEER, US, DPORT, SPORT, ISN, isn), 0);
  assert.equal(check(PEER, US, SPORT, DPORT, (ISN + 0x1000) >>> 0, isn), 0);
  assert.equal(check(PEER, US, SPORT, DPORT, (ISN - 0x1000) >>> 0, isn), 0);
  assert.equal(check(PEER, US, SPORT, DPORT, ISN, (isn + 0x1000) >>> 0), 0);
  assert.equal(check(PEER, US, SPORT, DPORT, ISN, (isn - 7) >>> 0), 0);
  // sseq and data are added linearly (as in Linux): seq and cookie off by the same amount still
  // decode, and a seq off by one moves the data by one, to a neighbouring msstab index.
  assert.equal(check(PEER, US, SPORT, DPORT, (ISN + 5) >>> 0, (isn + 5) >>> 0), 1300);
  assert.equal(check(PEER, US, SPORT, DPORT, (ISN + 1) >>> 0, isn), 536);
  assert.equal(check(PEER, US, SPORT, DPORT, ISN, (isn + 1) >>> 0), 1440);
  assert.equal(check(PEER, US, SPORT, DPORT, ISN, (isn + (1 << 24)) >>> 0), 0);
  // Forgeries: over many tuples, hardly any random cookie passes (4 of 2^24 data values do).
  let passed = 0;
  for (let i = 0; i < 2000; i++) if (check(PEER, US, SPORT, 1000 + i, ISN, isn) !== 0) passed++;
  assert.ok(passed <= 1, `${passed} forged cookies passed`);
});

test('__cookie_v4_init_sequence picks the largest msstab entry not above the MSS', () => {
  const net = mknet();
  const cases: [number, number][] = [
    [0, 536],
    [88, 536],
    [535, 536],
    [536, 536],
    [1299, 536],
    [1300, 1300],
    [1439, 1300],
    [1440, 1440],
    [1459, 1440],
    [1460, 1460],
    [8960, 1460],
    [65495, 1460],
  ];
  for (const [mss, want] of cases) {
    const r = __cookie_v4_init_sequence(net, PEER, US, SPORT, DPORT, 12345, mss, 0);
    assert.equal(r.mss, want, `mss ${mss}`);
    assert.equal(__cookie_v4_check(net, PEER, US, SPORT, DPORT, 12345, r.isn, 0), want, `decode ${mss}`);
    assert.equal(check_tcp_syn_cookie(net, r.isn, PEER, US, SPORT, DPORT, 12345, 0), msstab.indexOf(want));
  }
});

test('cookie_init_timestamp keeps options in the low 6 bits and never runs ahead of ts_now', () => {
  // wscale 7, SACK, no ECN.
  const opts = 7 | TS_OPT_SACK;
  assert.equal(cookie_init_timestamp(true, 7, true, false, 1000), (1000 & ~63) | opts); // 960 | 23 = 983
  // Options above ts_now's low bits: the previous 64 ms slot.
  assert.equal(cookie_init_timestamp(true, 7, true, false, 960 + 10), 896 | opts);
  // Exactly equal is allowed.
  assert.equal(cookie_init_timestamp(true, 7, true, false, 960 + opts), 960 + opts);
  // No window scaling: 0xf; ECN bit.
  assert.equal(cookie_init_timestamp(false, 3, false, true, 64 * 100 + 63), 64 * 100 + (0xf | TS_OPT_ECN));
  assert.equal(cookie_init_timestamp(false, 3, false, false, 64 * 100 + 14), 64 * 99 + 0xf);
  // Near zero the slot wraps below 0 as a u32 (the echo only needs the low bits).
  assert.equal(cookie_init_timestamp(false, 0, true, true, 5), 0xffffffff);
  // ts_now is a u32: the top of the range works and results stay u32.
  const ts = cookie_init_timestamp(true, 14, false, false, 0xffffffff);
  assert.equal(ts, 0xffffffce);
  for (let now = 0; now < 300; now++) {
    const v = cookie_init_timestamp(true, 2, true, false, 1_000_000 + now);
    assert.ok(v <= 1_000_000 + now && v > 1_000_000 + now - 64);
    assert.equal(v & 63, 2 | TS_OPT_SACK);
  }
});

test('cookie_timestamp_decode inverts cookie_init_timestamp', () => {
  for (const wscale_ok of [false, true])
    for (const sack_ok of [false, true])
      for (const ecn_ok of [false, true])
        for (const snd_wscale of [0, 1, 7, 14]) {
          const tsval = cookie_init_timestamp(wscale_ok, snd_wscale, sack_ok, ecn_ok, 123456789);
          assert.deepEqual(cookie_timestamp_decode(tsval), {
            wscale_ok,
            snd_wscale: wscale_ok ? snd_wscale : 0,
            sack_ok,
            ecn_ok,
          });
        }
});

test('cookie_timestamp_decode refuses options this host has turned off', () => {
  const withWscale = cookie_init_timestamp(true, 7, true, false, 1 << 20);
  const noWscale = cookie_init_timestamp(false, 0, false, false, 1 << 20);
  assert.equal(cookie_timestamp_decode(withWscale, 0), null, 'tcp_timestamps off');
  assert.equal(cookie_timestamp_decode(withWscale, 1, 0), null, 'SACK used but tcp_sack off');
  assert.equal(cookie_timestamp_decode(withWscale, 1, 1, 0), null, 'wscale used but tcp_window_scaling off');
  assert.deepEqual(cookie_timestamp_decode(noWscale, 1, 0, 0), {
    wscale_ok: false,
    snd_wscale: 0,
    sack_ok: false,
    ecn_ok: false,
  });
  // tcp_timestamps = 2 still decodes (only the offset is off).
  assert.notEqual(cookie_timestamp_decode(withWscale, 2), null);
});
