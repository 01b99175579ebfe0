/**
 * Tokenizer for packetdrill scripts.
 *
 * Like packetdrill's own scanner it takes, at each point, the longest token
 * any rule can match, preferring the earlier rule on a tie; reserved words
 * are therefore only reserved when they stand alone (`mss` is a keyword,
 * `mss1` a word). A word that names a user definition (`--define` or `-D`)
 * is replaced by the defined value.
 */

import type { Position } from './ast.js';

export type TokenKind =
  | 'keyword'
  | 'ellipsis'
  | 'option'
  | 'float'
  | 'integer'
  | 'hex'
  | 'word'
  | 'string'
  | 'backquoted'
  | 'code'
  | 'ipv4'
  | 'ipv6'
  | 'char'
  | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Text as written (for definitions: the substituted value). */
  readonly text: string;
  /** Decoded value: the word, option name, string contents, code text... */
  readonly value: string;
  readonly pos: Position;
}

/** An error in the script text, reported with its position. */
export class PacketdrillSyntaxError extends Error {
  constructor(
    readonly file: string,
    readonly pos: Position,
    readonly detail: string,
  ) {
    super(`${file}:${pos.line}:${pos.column}: ${detail}`);
    this.name = 'PacketdrillSyntaxError';
  }
}

/** The reserved words of the language, by spelling. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  'sa_family', 'sin_port', 'sin_addr', 'msg_name', 'msg_iov', 'msg_flags', 'msg_control',
  'cmsg_data', 'cmsg_level', 'cmsg_type', 'ee_errno', 'ee_origin', 'ee_type', 'ee_code',
  'ee_info', 'ee_data', 'scm_sec', 'scm_nsec', 'fd', 'u32', 'u64', 'ptr', 'events',
  'revents', 'onoff', 'linger', 'htons', 'ipv4', 'ipv6', 'icmp', 'udp', 'GREv0', 'gre',
  'raw', 'sum', 'off', 'key', 'seq', 'none', 'checksum', 'sequence#', 'present', 'encap',
  'psp', 'spi', 'mpls', 'label', 'tc', 'ttl', 'inet_addr', 'inet6_addr', 'ack', 'eol',
  'ecr', 'mss', 'mtu', 'nop', 'sack', 'sackOK', 'md5', 'TS', 'FO', 'FOEXP', 'ECN', 'e0b',
  'e1b', 'ceb', 'tos', 'flowlabel', 'flags', 'Flags', 'val', 'win', 'urg', 'wscale',
  'ect01', 'ect0', 'ect1', 'noecn', 'ce', 'id',
]); // prettier-ignore

/** Canonical spelling for keywords with aliases. */
const KEYWORD_ALIAS: Readonly<Record<string, string>> = { GREv0: 'gre', Flags: 'flags' };

const SEG = '[0-9a-fA-F]{1,4}';
const V4 = '[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+';
const IPV6_FORMS = [
  '[:][:]',
  `(?:${SEG}[:]){7}${SEG}`,
  `(?:${SEG}[:]){1,7}[:]`,
  `(?:${SEG}[:]){1,6}[:]${SEG}`,
  `(?:${SEG}[:]){1,5}(?:[:]${SEG}){1,2}`,
  `(?:${SEG}[:]){1,4}(?:[:]${SEG}){1,3}`,
  `(?:${SEG}[:]){1,3}(?:[:]${SEG}){1,4}`,
  `(?:${SEG}[:]){1,2}(?:[:]${SEG}){1,5}`,
  `${SEG}[:](?:(?:[:]${SEG}){1,6})`,
  `[:](?:[:]${SEG}){1,7}`,
  `[:][:]ffff[:]${V4}`,
  `[:][:]ffff[:](?:0){1,4}[:]${V4}`,
  `(?:${SEG}[:]){1,4}[:]${V4}`,
].map((s) => new RegExp(s, 'y'));

type Rule = readonly [TokenKind, RegExp];
/** Rules in packetdrill's order (order breaks ties between equal lengths). */
const RULES: readonly Rule[] = [
  ['word', /sequence#/y],
  ['ellipsis', /\.\.\./y],
  ['option', /--[a-zA-Z0-9_]+/y],
  ['float', /-?[0-9]*\.[0-9]+/y],
  ['integer', /-?[0-9]+/y],
  ['hex', /0x[0-9a-fA-F]+/y],
  ['word', /[a-zA-Z0-9_]+/y],
  ['string', /"(?:\\[^]|[^"])*"/y],
  ['backquoted', /`(?:\\[^]|[^`])*`/y],
  ['ipv4', new RegExp(V4, 'y')],
];

export interface LexerOptions {
  readonly file?: string;
  /** Symbol definitions (`-D NAME=value`); values may be quoted or back-quoted. */
  readonly defines?: ReadonlyMap<string, string>;
}

function matchAt(re: RegExp, src: string, i: number): number {
  re.lastIndex = i;
  const m = re.exec(src);
  return m === null ? 0 : m[0].length;
}

/** Pull tokenizer; `defines` may be replaced between tokens. */
export class Lexer {
  private i = 0;
  private line = 1;
  private col = 1;
  readonly file: string;
  defines: ReadonlyMap<string, string>;

  constructor(
    private readonly src: string,
    opts: LexerOptions = {},
  ) {
    this.file = opts.file ?? '<script>';
    this.defines = opts.defines ?? new Map();
  }

  error(pos: Position, detail: string): PacketdrillSyntaxError {
    return new PacketdrillSyntaxError(this.file, pos, detail);
  }

  private advance(n: number): void {
    for (let k = 0; k < n; k++) {
      if (this.src.charCodeAt(this.i) === 10) {
        this.line++;
        this.col = 1;
      } else {
        this.col++;
      }
      this.i++;
    }
  }

  private here(): Position {
    return { line: this.line, column: this.col };
  }

  /** Skips blanks and comments. */
  private skip(): void {
    const s = this.src;
    for (;;) {
      const c = s[this.i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') {
        this.advance(1);
      } else if (c === '/' && s[this.i + 1] === '/') {
        const nl = s.indexOf('\n', this.i);
        this.advance((nl < 0 ? s.length : nl + 1) - this.i);
      } else if (c === '/' && s[this.i + 1] === '*') {
        const end = s.indexOf('*/', this.i + 2);
        if (end < 0) throw this.error(this.here(), 'unterminated /* comment');
        this.advance(end + 2 - this.i);
      } else {
        return;
      }
    }
  }

  next(): Token {
    this.skip();
    const s = this.src;
    const pos = this.here();
    if (this.i >= s.length) return { kind: 'eof', text: '', value: '', pos };
    if (s[this.i] === '%' && s[this.i + 1] === '{') {
      const end = s.indexOf('}%', this.i + 2);
      if (end < 0) throw this.error(pos, 'unterminated %{ code block (missing }%)');
      const text = s.slice(this.i, end + 2);
      this.advance(text.length);
      const inner = text
        .slice(2, -2)
        .replace(/^[ \t]+/, '')
        .replace(/[ \t]+$/, '');
      return { kind: 'code', text, value: inner, pos };
    }
    let kind: TokenKind = 'char';
    let len = 1;
    for (const [k, re] of RULES) {
      const n = matchAt(re, s, this.i);
      if (n > len || (n === len && kind === 'char' && n > 0)) {
        kind = k;
        len = n;
      }
    }
    for (const re of IPV6_FORMS) {
      const n = matchAt(re, s, this.i);
      if (n > len) {
        kind = 'ipv6';
        len = n;
      }
    }
    const text = s.slice(this.i, this.i + len);
    const c = text.charCodeAt(0);
    if (kind === 'char' && (c < 32 || c > 126)) {
      throw this.error(pos, `unexpected character ${JSON.stringify(text)}`);
    }
    if (kind === 'char' && (text === '"' || text === '`')) {
      throw this.error(pos, `unterminated ${text === '"' ? 'string' : 'back-quoted command'}`);
    }
    this.advance(len);
    switch (kind) {
      case 'word':
        if (KEYWORDS.has(text)) return { kind: 'keyword', text, value: KEYWORD_ALIAS[text] ?? text, pos };
        return this.word(text, pos);
      case 'option':
        return { kind, text, value: text.slice(2), pos };
      case 'string':
      case 'backquoted':
        return { kind, text, value: text.slice(1, -1), pos };
      default:
        return { kind, text, value: text, pos };
    }
  }

  /** A plain word, or the value of the definition it names. */
  private word(text: string, pos: Position): Token {
    const def = this.defines.get(text);
    if (def === undefined) return { kind: 'word', text, value: text, pos };
    if (def.startsWith('"') && def.length >= 2) {
      return { kind: 'string', text: def, value: def.slice(1, -1), pos };
    }
    if (def.startsWith('`') && def.length >= 2) {
      return { kind: 'backquoted', text: def, value: def.slice(1, -1), pos };
    }
    // strtol(value, &end, 0): decimal, 0x hex or 0 octal, whole string.
    const m = /^[ \t\n]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(def);
    if (m !== null) {
      const digits = m[2]!;
      let v =
        digits.length > 1 && digits[0] === '0' && digits[1] !== 'x' && digits[1] !== 'X'
          ? BigInt('0o' + digits.slice(1))
          : BigInt(digits);
      if (m[1] === '-') v = -v;
      return { kind: 'integer', text: v.toString(), value: v.toString(), pos };
    }
    return { kind: 'word', text: def, value: def, pos };
  }
}
