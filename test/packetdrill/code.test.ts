import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CodeEnv, CodeError, statements } from '../../src/tools/packetdrill/code.js';
import {
  CODE_SYMBOLS,
  TCP_INFO_LAYOUT,
  TCP_INFO_LEN,
  decodeTcpInfo,
  encodeTcpInfo,
  type TcpInfo,
} from '../../src/tools/packetdrill/tcp_info.js';

function fails(env: CodeEnv, code: string, kind: string, message?: string): void {
  try {
    env.run(code);
  } catch (e) {
    assert.ok(e instanceof CodeError, String(e));
    assert.equal(e.kind, kind);
    if (message !== undefined) assert.equal(e.message, message);
    return;
  }
  assert.fail(`no ${kind}: ${code}`);
}

test('statements: lines, semicolons, backslash continuations, comments, strings', () => {
  assert.deepEqual(statements(' assert a == 1, a;\\\n  assert b <= 2 # note\n\nprint("x; # y")\n'), [
    'assert a == 1, a',
    'assert b <= 2',
    'print("x; # y")',
  ]);
});

test('asserts the corpus writes: comparisons, chains, masks, messages', () => {
  const env = new CodeEnv(CODE_SYMBOLS);
  env.bind({
    tcpi_snd_cwnd: 10,
    tcpi_rwnd_limited: 100000,
    tcpi_options: 7,
    tcpi_ca_state: 3,
    tcpi_rtt: 20000,
  });
  env.run('assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd');
  env.run('assert 98000 <= tcpi_rwnd_limited <= 110000, tcpi_rwnd_limited');
  env.run('assert (tcpi_options & TCPI_OPT_SYN_DATA) == 0, tcpi_options');
  env.run('assert tcpi_options & TCPI_OPT_SACK != 0');
  env.run('assert tcpi_ca_state == TCP_CA_Recovery, tcpi_ca_state');
  fails(env, 'assert tcpi_snd_cwnd == 20, tcpi_snd_cwnd', 'AssertionError', '10');
  fails(env, 'assert 1 <= tcpi_snd_cwnd <= 5', 'AssertionError', '');
  fails(env, "assert tcpi_rtt < 100, 'rtt=%d us' % tcpi_rtt", 'AssertionError', 'rtt=20000 us');
  fails(
    env,
    "assert tcpi_ca_state == TCP_CA_Open, 'ca_state: %d rtt: %d' % (tcpi_ca_state, tcpi_rtt)",
    'AssertionError',
    'ca_state: 3 rtt: 20000',
  );
  fails(env, 'assert tcpi_nonesuch == 1', 'NameError', "name 'tcpi_nonesuch' is not defined");
  fails(env, 'assert 1 ==', 'SyntaxError');
});

test('variables persist between blocks; print, arithmetic, augmented assignment', () => {
  const env = new CodeEnv(CODE_SYMBOLS);
  env.bind({ tcpi_snd_cwnd: 58 });
  env.run('print(tcpi_snd_cwnd); cwnd = 58; assert tcpi_snd_cwnd == cwnd, tcpi_snd_cwnd');
  env.bind({ tcpi_snd_cwnd: 59 });
  env.run('print(tcpi_snd_cwnd); cwnd += 1; assert tcpi_snd_cwnd == cwnd, tcpi_snd_cwnd');
  env.run('TCP_INFINITE_SSTHRESH = 0x7fffffff\nx = (3 + 4) * 2 - 10 // 3 % 2\nassert x == 13, x');
  env.run('assert -7 // 2 == -4 and 7 % -2 == -1 and 2 ** 10 == 1024 and 1 << 4 == 16');
  env.run('assert not (1 > 2) and (0 or 5) == 5 and 6 ^ 3 == 5 and ~0 == -1');
  env.run('print "py2", 1');
  assert.deepEqual(env.output, ['58', '59', 'py2 1']);
  assert.equal(env.get('TCP_INFINITE_SSTHRESH'), 0x7fffffff);
  fails(env, 'y = 1 / 0', 'ZeroDivisionError');
});

test('tcp_info: Linux byte layout, bit-fields, 64-bit counters; short buffers give fewer fields', () => {
  assert.equal(TCP_INFO_LEN, 248);
  // Offsets from include/uapi/linux/tcp.h.
  const at = (n: keyof TcpInfo) => TCP_INFO_LAYOUT.find(([k]) => k === n)![1];
  assert.equal(at('tcpi_rto'), 8);
  assert.equal(at('tcpi_snd_cwnd'), 80);
  assert.equal(at('tcpi_pacing_rate'), 104);
  assert.equal(at('tcpi_segs_out'), 136);
  assert.equal(at('tcpi_delivery_rate'), 160);
  assert.equal(at('tcpi_busy_time'), 168);
  assert.equal(at('tcpi_rwnd_limited'), 176);
  assert.equal(at('tcpi_delivered'), 192);
  assert.equal(at('tcpi_bytes_sent'), 200);
  assert.equal(at('tcpi_snd_wnd'), 228);
  assert.equal(at('tcpi_total_rto_time'), 244);
  const b = new Uint8Array(TCP_INFO_LEN);
  const dv = new DataView(b.buffer);
  b[0] = 1; // ESTABLISHED
  b[1] = 4; // Loss
  b[6] = 0x87; // snd_wscale 7 (low nibble), rcv_wscale 8
  b[7] = 0x05; // app limited, fastopen_client_fail 2
  dv.setUint32(80, 10, true);
  dv.setBigUint64(176, 123456789012n, true);
  dv.setUint16(240, 3, true);
  const info = decodeTcpInfo(b);
  assert.equal(info.tcpi_state, 1);
  assert.equal(info.tcpi_ca_state, 4);
  assert.equal(info.tcpi_snd_wscale, 7);
  assert.equal(info.tcpi_rcv_wscale, 8);
  assert.equal(info.tcpi_delivery_rate_app_limited, 1);
  assert.equal(info.tcpi_fastopen_client_fail, 2);
  assert.equal(info.tcpi_snd_cwnd, 10);
  assert.equal(info.tcpi_rwnd_limited, 123456789012);
  assert.equal(info.tcpi_total_rto, 3);
  assert.deepEqual(encodeTcpInfo(info as TcpInfo), b);
  const short = decodeTcpInfo(b.subarray(0, 104));
  assert.equal(short.tcpi_total_retrans, 0);
  assert.equal(short.tcpi_pacing_rate, undefined);
  assert.equal(CODE_SYMBOLS.TCP_CLOSE_WAIT, 8);
  assert.equal(CODE_SYMBOLS.TCPI_OPT_SYN_DATA, 32);
});
