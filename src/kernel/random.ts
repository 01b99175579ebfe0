// The world's seeded PRNG (xoshiro128**, seeded through splitmix32). All randomness in the
// kernel (ISNs, ephemeral ports, autobind names, loss) comes from here, so a seed fixes a run.

export class Prandom {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** get_random_u32(). */
  get_random_u32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** get_random_u32_below(ceil): uniform in [0, ceil). */
  get_random_u32_below(ceil: number): number {
    return Math.floor((this.get_random_u32() / 0x1_0000_0000) * ceil);
  }

  /** A float in [0, 1), for impairment models. */
  float(): number {
    return this.get_random_u32() / 0x1_0000_0000;
  }

  /** get_random_bytes(). */
  get_random_bytes(buf: Uint8Array): void {
    for (let i = 0; i < buf.length; i += 4) {
      let v = this.get_random_u32();
      for (let j = i; j < i + 4 && j < buf.length; j++, v >>>= 8) buf[j] = v & 0xff;
    }
  }

  /** A new generator seeded from this one, for an independent stream (one per host). */
  fork(): Prandom {
    return new Prandom(this.get_random_u32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
