// The same bridge scenario on Linux (a bridge with three veth ports in a fresh network
// namespace, frames sent and read with AF_PACKET) and on usernet: who receives each frame must
// agree. Needs root and the bridge module; skips with a message otherwise.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { World } from '../../src/index.js';
import { dev_queue_xmit } from '../../src/net/core/dev.js';
import { collect, frame, sleep, MS } from '../sched/helpers.js';

/** Each step: sender index, destination ('h0'…'h2' for a host's MAC, or hex), and a tag. */
const STEPS: [number, string, string][] = [
  [0, 'h1', 'unknown unicast'],
  [1, 'h0', 'reply to a learned station'],
  [0, 'h1', 'unicast once both are learned'],
  [2, 'ffffffffffff', 'broadcast'],
  [1, '01005e000001', 'multicast'],
  [0, '0180c200000e', 'LLDP'],
  [0, '0180c2000001', 'pause'],
  [0, '0180c2000000', 'BPDU with STP off'],
  [2, '020000000099', 'unicast to nobody'],
  [0, 'h2', 'unicast to h2 (known)'],
  [0, 'MCASTSRC', 'multicast source'],
];

const PY = String.raw`
import socket, subprocess, json, time
def sh(c): subprocess.run(c, shell=True, check=True, capture_output=True)
sh("sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1")
sh("ip link add br0 type bridge")
for i in range(3):
    sh(f"ip link add h{i} type veth peer name s{i}")
    sh(f"ip link set s{i} master br0; ip link set s{i} up; ip link set h{i} up")
sh("ip link set br0 up")
time.sleep(0.2)
socks = []
for i in range(3):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((f"h{i}", 0)); s.setblocking(False); socks.append(s)
def mac(i):
    out = subprocess.run(f"ip -j link show h{i}", shell=True, capture_output=True, text=True).stdout
    return bytes.fromhex(json.loads(out)[0]['address'].replace(':', ''))
def drain():
    time.sleep(0.05); out = []
    for s in socks:
        got = []
        while True:
            try: d, a = s.recvfrom(2000)
            except BlockingIOError: break
            if a[3] == 4: continue
            if d[12:14] == b'\x88\xb5': got.append(d[14])
        out.append(got)
    return out
drain()
res = []
for k, (i, dst, _) in enumerate(json.loads(STEPS)):
    src = mac(i)
    if dst == 'MCASTSRC': d, src = mac(1), bytes.fromhex('010203040506')
    elif dst.startswith('h'): d = mac(int(dst[1]))
    else: d = bytes.fromhex(dst)
    socks[i].send(d + src + b'\x88\xb5' + bytes([k]) + bytes(50))
    res.append(drain())
print(json.dumps(res))
`;

function linux(): number[][][] | string {
  const r = spawnSync(
    'unshare',
    ['-n', 'python3', '-c', `STEPS = ${JSON.stringify(JSON.stringify(STEPS))}\n${PY}`],
    {
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  if (r.status !== 0) return (r.stderr || r.error?.message || 'failed').trim().split('\n').at(-1)!;
  return JSON.parse(r.stdout) as number[][][];
}

async function usernet(): Promise<number[][][]> {
  const world = new World({ seed: 3 });
  const hosts = [0, 1, 2].map((i) => world.addHost(`h${i}`));
  const sw = world.bridge('sw', hosts);
  const dev = hosts.map((h) => sw.linkOf(h)!.a);
  const got = hosts.map((h) => collect(h.netns));
  const res: number[][][] = [];
  for (let k = 0; k < STEPS.length; k++) {
    const [i, dst] = STEPS[k];
    let d: Uint8Array;
    let src: Uint8Array | null = null;
    if (dst === 'MCASTSRC') {
      d = dev[1].dev_addr;
      src = Uint8Array.of(1, 2, 3, 4, 5, 6);
    } else if (dst.startsWith('h')) d = dev[Number(dst[1])].dev_addr;
    else d = Uint8Array.from(Buffer.from(dst, 'hex'));
    const skb = frame(dev[i], k << 24, 64, d);
    if (src) skb.head.set(src, skb.data + 6);
    dev_queue_xmit(skb);
    await sleep(world, MS);
    res.push(got.map((g) => g.splice(0).map((a) => a.seq >>> 24)));
  }
  return res;
}

test('bridge forwarding matches Linux frame for frame', async (t) => {
  const want = linux();
  if (typeof want === 'string') {
    t.skip(`Linux bridge in a namespace unavailable: ${want}`);
    return;
  }
  const have = await usernet();
  for (let k = 0; k < STEPS.length; k++) assert.deepEqual(have[k], want[k], STEPS[k][2]);
});
