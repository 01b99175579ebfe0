// Shifts by a variable count on values that may not fit 32 bits (include/linux/bitops.h,
// math64.h territory). `2 ** n` with a non-constant n compiles to a Math.pow call, which costs
// more than the rest of a small per-packet helper; a table read gives the same double.

/** POW2[n] === 2 ** n, for every count a u8 can hold. */
export const POW2: readonly number[] = Array.from({ length: 256 }, (_, n) => 2 ** n);
