import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModuleParams, module_param_path } from '../../src/kernel/module_param.js';
import { EACCES, EINVAL, ENOENT, ERANGE } from '../../src/uapi/errno.js';
import { World } from '../../src/sim/world.js';

function table(): { t: ModuleParams; v: { i: number; u: number; b: number; ro: number } } {
  const v = { i: 3, u: 7, b: 1, ro: 41 };
  const t = new ModuleParams();
  t.register('m', 'i', { type: 'int', perm: 0o644, get: () => v.i, set: (x) => (v.i = x) });
  t.register('m', 'u', { type: 'uint', perm: 0o644, get: () => v.u, set: (x) => (v.u = x) });
  t.register('m', 'b', { type: 'bool', perm: 0o644, get: () => v.b, set: (x) => (v.b = x) });
  t.register('m', 'ro', { type: 'int', perm: 0o444, get: () => v.ro, set: (x) => (v.ro = x) });
  return { t, v };
}

test('int parameters parse as param_set_int (kstrtoint, base 0) does', () => {
  const { t, v } = table();
  // What Linux 6.18 takes for tcp_cubic's hystart_detect: echo's newline, 0x hex, 0 octal, '+'.
  for (const [text, want] of [
    ['2\n', 2],
    ['0x3', 3],
    ['010', 8],
    ['+5', 5],
    ['-1', -1],
    ['-0x10', -16],
    ['2147483647', 2147483647],
    ['-2147483648', -2147483648],
  ] as const) {
    assert.equal(t.write('m', 'i', text), 0, text);
    assert.equal(v.i, want, text);
  }
  // What it refuses: garbage, blanks around the number, two newlines, out of int's range.
  for (const [text, err] of [
    ['garbage', -EINVAL],
    ['', -EINVAL],
    [' 3', -EINVAL],
    ['3 ', -EINVAL],
    ['3x', -EINVAL],
    ['1e1', -EINVAL],
    ['3\n\n', -EINVAL],
    ['08', -EINVAL],
    ['0x', -EINVAL],
    ['--3', -EINVAL],
    ['99999999999', -ERANGE],
    ['2147483648', -ERANGE],
    ['-2147483649', -ERANGE],
    ['99999999999999999999999', -ERANGE],
  ] as const) {
    v.i = 42;
    assert.equal(t.write('m', 'i', text), err, JSON.stringify(text));
    assert.equal(v.i, 42, 'a refused write changes nothing');
  }
  assert.equal(t.read('m', 'i'), '42');
});

test('uint and bool parameters; read-only and unknown ones', () => {
  const { t, v } = table();
  assert.equal(t.write('m', 'u', '4294967295'), 0);
  assert.equal(v.u, 4294967295);
  assert.equal(t.write('m', 'u', '-1'), -EINVAL);
  assert.equal(t.write('m', 'u', '4294967296'), -ERANGE);
  // param_set_bool: kstrtobool's first letters; shown as Y/N.
  for (const [text, want] of [
    ['n', 0],
    ['Y', 1],
    ['0\n', 0],
    ['yes', 1],
    ['off', 0],
    ['on', 1],
  ] as const) {
    assert.equal(t.write('m', 'b', text), 0, text);
    assert.equal(v.b, want, text);
  }
  assert.equal(t.read('m', 'b'), 'Y');
  assert.equal(t.write('m', 'b', 'maybe'), -EINVAL);
  assert.equal(t.write('m', 'b', 'o'), -EINVAL);
  // 0444: the sysfs file cannot be opened for writing.
  assert.equal(t.write('m', 'ro', '50'), -EACCES);
  assert.equal(v.ro, 41);
  assert.equal(t.write('m', 'nope', '1'), -ENOENT);
  assert.equal(t.read('m', 'nope'), null);
  assert.deepEqual(t.names(), ['m/b', 'm/i', 'm/ro', 'm/u']);
  assert.deepEqual(module_param_path('/sys/module/tcp_cubic/parameters/beta'), {
    module: 'tcp_cubic',
    name: 'beta',
  });
  assert.equal(module_param_path('/sys/module/tcp_cubic/beta'), null);
});

test('host.sysfs: tcp_cubic parameters at Linux defaults, one set per host (kernel)', () => {
  const w = new World({ seed: 1 });
  const a = w.addHost('a');
  const b = w.addHost('b');
  const dir = '/sys/module/tcp_cubic/parameters/';
  // The values and modes of Linux 6.18.
  const defaults: Record<string, string> = {
    beta: '717',
    bic_scale: '41',
    fast_convergence: '1',
    hystart: '1',
    hystart_ack_delta_us: '2000',
    hystart_detect: '3',
    hystart_low_window: '16',
    initial_ssthresh: '0',
    tcp_friendliness: '1',
  };
  assert.deepEqual(
    a.sysfs.names(),
    Object.keys(defaults).map((n) => dir + n),
  );
  for (const [n, val] of Object.entries(defaults)) assert.equal(a.sysfs.read(dir + n), val, n);
  a.sysfs.write(dir + 'hystart', '0\n');
  a.sysfs.write(dir + 'hystart_low_window', 8);
  assert.equal(a.sysfs.read(dir + 'hystart'), '0');
  assert.equal(a.sysfs.read(dir + 'hystart_low_window'), '8');
  assert.equal(b.sysfs.read(dir + 'hystart'), '1', 'another host is another kernel');
  assert.throws(() => a.sysfs.write(dir + 'hystart', 'on'), { code: 'EINVAL' });
  assert.throws(() => a.sysfs.write(dir + 'hystart', '4294967296'), { code: 'ERANGE' });
  assert.throws(() => a.sysfs.write(dir + 'bic_scale', '50'), { code: 'EACCES' });
  assert.throws(() => a.sysfs.write(dir + 'nope', '1'), { code: 'ENOENT' });
  assert.throws(() => a.sysfs.read('/sys/module/tcp_cubic/nope'), { code: 'ENOENT' });
});
