/**
 * `%{ … }%` code blocks. packetdrill hands them to Python with the TCP_INFO snapshot of their
 * event time bound to tcpi_* names; this evaluates the subset of Python the scripts use:
 * statements split by newlines and `;` (a backslash joins lines, `#` starts a comment),
 * `assert expr[, message]`, `print(...)`, assignments (`=`, `+=`, `-=`, `*=`) and expressions
 * with Python's precedence: `or`, `and`, `not`, chained comparisons, `|`, `^`, `&`, shifts,
 * `+ -`, `* / // %`, unary `- + ~`, numbers, strings, tuples and `'%d' % value` formatting.
 * Variables persist from block to block, as in the one Python program packetdrill runs.
 */

export type Value = number | string | boolean | Value[];

/** An error the code raised; `kind` is the Python exception name. */
export class CodeError extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
  }
}

type Tok =
  | { t: 'num'; v: number }
  | { t: 'str'; v: string }
  | { t: 'name'; v: string }
  | { t: 'op'; v: string }
  | { t: 'end' };

const OPS = [
  '**',
  '//',
  '<<',
  '>>',
  '<=',
  '>=',
  '==',
  '!=',
  '+=',
  '-=',
  '*=',
  '+',
  '-',
  '*',
  '/',
  '%',
  '<',
  '>',
  '(',
  ')',
  ',',
  '=',
  '&',
  '|',
  '^',
  '~',
  '[',
  ']',
];

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    const num = /^(0[xX][0-9a-fA-F]+|\d+(\.\d*)?([eE][-+]?\d+)?|\.\d+)/.exec(src.slice(i));
    if (num) {
      out.push({ t: 'num', v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (name) {
      out.push({ t: 'name', v: name[0] });
      i += name[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) {
          const e = src[j + 1]!;
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          j += 2;
        } else s += src[j++];
      }
      if (j >= src.length) throw new CodeError('SyntaxError', 'unterminated string');
      out.push({ t: 'str', v: s });
      i = j + 1;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new CodeError('SyntaxError', `invalid syntax at ${JSON.stringify(src.slice(i, i + 10))}`);
    out.push({ t: 'op', v: op });
    i += op.length;
  }
  out.push({ t: 'end' });
  return out;
}

/** Split code into simple statements: lines (backslash joins them), `;`, comments dropped. */
export function statements(code: string): string[] {
  const joined = code.replace(/\\\r?\n/g, ' ');
  const out: string[] = [];
  for (const rawLine of joined.split(/\r?\n/)) {
    let cur = '';
    let quote: string | null = null;
    for (let i = 0; i < rawLine.length; i++) {
      const c = rawLine[i]!;
      if (quote) {
        cur += c;
        if (c === '\\' && i + 1 < rawLine.length) cur += rawLine[++i];
        else if (c === quote) quote = null;
      } else if (c === '"' || c === "'") {
        quote = c;
        cur += c;
      } else if (c === '#') break;
      else if (c === ';') {
        out.push(cur);
        cur = '';
      } else cur += c;
    }
    out.push(cur);
  }
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

function truthy(v: Value): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'string') return v.length > 0;
  return v !== 0 && v !== false;
}

function num(v: Value, op: string): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  throw new CodeError('TypeError', `unsupported operand type for ${op}: '${typeName(v)}'`);
}

function typeName(v: Value): string {
  return Array.isArray(v) ? 'tuple' : typeof v === 'string' ? 'str' : typeof v === 'boolean' ? 'bool' : 'int';
}

/** Python's str() of a value. */
export function pyStr(v: Value): string {
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v);
  if (typeof v === 'string') return v;
  return `(${v.map((x) => (typeof x === 'string' ? `'${x}'` : pyStr(x))).join(', ')}${v.length === 1 ? ',' : ''})`;
}

/** printf-style `fmt % args` as Python's str.__mod__ does for %d %i %u %x %X %o %s %r %f %%. */
function format(fmt: string, arg: Value): string {
  const args = Array.isArray(arg) ? arg : [arg];
  let k = 0;
  const s = fmt.replace(
    /%([-+ 0#]*)(\d*)(?:\.(\d+))?([diuxXosrf%])/g,
    (_m, flags: string, width: string, prec: string | undefined, conv: string) => {
      if (conv === '%') return '%';
      if (k >= args.length) throw new CodeError('TypeError', 'not enough arguments for format string');
      const a = args[k++]!;
      let t: string;
      switch (conv) {
        case 'd':
        case 'i':
        case 'u':
          t = String(Math.trunc(num(a, '%')));
          break;
        case 'x':
          t = Math.trunc(num(a, '%')).toString(16);
          break;
        case 'X':
          t = Math.trunc(num(a, '%')).toString(16).toUpperCase();
          break;
        case 'o':
          t = Math.trunc(num(a, '%')).toString(8);
          break;
        case 'f':
          t = num(a, '%').toFixed(prec === undefined ? 6 : Number(prec));
          break;
        default:
          t = pyStr(a);
      }
      const w = Number(width || 0);
      if (t.length < w)
        t = flags.includes('-') ? t.padEnd(w) : t.padStart(w, flags.includes('0') ? '0' : ' ');
      return t;
    },
  );
  if (k < args.length)
    throw new CodeError('TypeError', 'not all arguments converted during string formatting');
  return s;
}

class Parser {
  private i = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly env: CodeEnv,
  ) {}

  private peek(): Tok {
    return this.toks[this.i]!;
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.v === v;
  }
  private isName(v: string): boolean {
    const t = this.peek();
    return t.t === 'name' && t.v === v;
  }
  private eat(v: string): void {
    if (!this.isOp(v)) throw new CodeError('SyntaxError', `expected '${v}'`);
    this.i++;
  }
  /** Consume a `,` if one is next. */
  acceptComma(): boolean {
    if (!this.isOp(',')) return false;
    this.i++;
    return true;
  }
  atEnd(): boolean {
    return this.peek().t === 'end';
  }
  expectEnd(): void {
    if (!this.atEnd()) throw new CodeError('SyntaxError', 'invalid syntax');
  }

  /** expression, or a bare tuple `a, b`. */
  exprList(): Value {
    const first = this.expr();
    if (!this.isOp(',')) return first;
    const items = [first];
    while (this.isOp(',')) {
      this.i++;
      if (this.atEnd() || this.isOp(')')) break;
      items.push(this.expr());
    }
    return items;
  }

  expr(): Value {
    let v = this.and();
    while (this.isName('or')) {
      this.i++;
      const r = this.and();
      v = truthy(v) ? v : r;
    }
    return v;
  }
  private and(): Value {
    let v = this.not();
    while (this.isName('and')) {
      this.i++;
      const r = this.not();
      v = truthy(v) ? r : v;
    }
    return v;
  }
  private not(): Value {
    if (this.isName('not')) {
      this.i++;
      return !truthy(this.not());
    }
    return this.comparison();
  }
  private comparison(): Value {
    let left = this.bitor();
    let result: Value | null = null;
    for (;;) {
      const t = this.peek();
      if (t.t !== 'op' || !['<', '>', '<=', '>=', '==', '!='].includes(t.v)) break;
      this.i++;
      const right = this.bitor();
      const ok = compare(t.v, left, right);
      result = result === null ? ok : result && ok;
      left = right;
    }
    return result === null ? left : result;
  }
  private bitor(): Value {
    let v = this.bitxor();
    while (this.isOp('|')) {
      this.i++;
      v = num(v, '|') | num(this.bitxor(), '|');
    }
    return v;
  }
  private bitxor(): Value {
    let v = this.bitand();
    while (this.isOp('^')) {
      this.i++;
      v = num(v, '^') ^ num(this.bitand(), '^');
    }
    return v;
  }
  private bitand(): Value {
    let v = this.shift();
    while (this.isOp('&')) {
      this.i++;
      v = Number(BigInt(Math.trunc(num(v, '&'))) & BigInt(Math.trunc(num(this.shift(), '&'))));
    }
    return v;
  }
  private shift(): Value {
    let v = this.arith();
    for (;;) {
      if (this.isOp('<<')) {
        this.i++;
        v = num(v, '<<') * 2 ** num(this.arith(), '<<');
      } else if (this.isOp('>>')) {
        this.i++;
        v = Math.floor(num(v, '>>') / 2 ** num(this.arith(), '>>'));
      } else return v;
    }
  }
  private arith(): Value {
    let v = this.term();
    for (;;) {
      if (this.isOp('+')) {
        this.i++;
        const r = this.term();
        v = typeof v === 'string' && typeof r === 'string' ? v + r : num(v, '+') + num(r, '+');
      } else if (this.isOp('-')) {
        this.i++;
        v = num(v, '-') - num(this.term(), '-');
      } else return v;
    }
  }
  private term(): Value {
    let v = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.t !== 'op' || !['*', '/', '//', '%'].includes(t.v)) return v;
      this.i++;
      const r = this.unary();
      if (t.v === '%' && typeof v === 'string') {
        v = format(v, r);
        continue;
      }
      const a = num(v, t.v);
      const b = num(r, t.v);
      if (t.v === '*') v = a * b;
      else {
        if (b === 0) throw new CodeError('ZeroDivisionError', 'division by zero');
        v = t.v === '/' ? a / b : t.v === '//' ? Math.floor(a / b) : a - b * Math.floor(a / b);
      }
    }
  }
  private unary(): Value {
    if (this.isOp('-')) {
      this.i++;
      return -num(this.unary(), '-');
    }
    if (this.isOp('+')) {
      this.i++;
      return num(this.unary(), '+');
    }
    if (this.isOp('~')) {
      this.i++;
      return -num(this.unary(), '~') - 1;
    }
    return this.power();
  }
  private power(): Value {
    const v = this.atom();
    if (this.isOp('**')) {
      this.i++;
      return num(v, '**') ** num(this.unary(), '**');
    }
    return v;
  }
  private atom(): Value {
    const t = this.peek();
    this.i++;
    switch (t.t) {
      case 'num':
        return t.v;
      case 'str': {
        let s = t.v;
        while (this.peek().t === 'str') s += (this.toks[this.i++] as { v: string }).v;
        return s;
      }
      case 'name': {
        if (t.v === 'True') return true;
        if (t.v === 'False') return false;
        if (this.isOp('(')) return this.call(t.v);
        return this.env.get(t.v);
      }
      case 'op':
        if (t.v === '(') {
          if (this.isOp(')')) {
            this.i++;
            return [];
          }
          const first = this.expr();
          if (this.isOp(')')) {
            this.i++;
            return first;
          }
          const items = [first];
          while (this.isOp(',')) {
            this.i++;
            if (this.isOp(')')) break;
            items.push(this.expr());
          }
          this.eat(')');
          return items;
        }
        break;
      default:
        break;
    }
    throw new CodeError('SyntaxError', 'invalid syntax');
  }
  private call(name: string): Value {
    this.eat('(');
    const args: Value[] = [];
    while (!this.isOp(')')) {
      args.push(this.expr());
      if (!this.isOp(',')) break;
      this.i++;
    }
    this.eat(')');
    switch (name) {
      case 'print':
        this.env.output.push(args.map(pyStr).join(' '));
        return 0;
      case 'int':
        return Math.trunc(num(args[0] ?? 0, 'int'));
      case 'abs':
        return Math.abs(num(args[0] ?? 0, 'abs'));
      case 'min':
        return Math.min(...args.map((a) => num(a, 'min')));
      case 'max':
        return Math.max(...args.map((a) => num(a, 'max')));
      case 'str':
        return pyStr(args[0] ?? '');
      case 'hex':
        return '0x' + Math.trunc(num(args[0] ?? 0, 'hex')).toString(16);
      default:
        throw new CodeError('NameError', `name '${name}' is not defined`);
    }
  }
}

function compare(op: string, a: Value, b: Value): boolean {
  if (typeof a === 'string' || typeof b === 'string' || Array.isArray(a) || Array.isArray(b)) {
    const x = pyStr(a);
    const y = pyStr(b);
    if (op === '==') return typeName(a) === typeName(b) && x === y;
    if (op === '!=') return !(typeName(a) === typeName(b) && x === y);
    if (typeof a !== typeof b) throw new CodeError('TypeError', `'${op}' not supported between these types`);
    return op === '<' ? x < y : op === '>' ? x > y : op === '<=' ? x <= y : x >= y;
  }
  const x = num(a, op);
  const y = num(b, op);
  switch (op) {
    case '<':
      return x < y;
    case '>':
      return x > y;
    case '<=':
      return x <= y;
    case '>=':
      return x >= y;
    case '==':
      return x === y;
    default:
      return x !== y;
  }
}

/** The variables of the program: persistent ones and the snapshot of the block running. */
export class CodeEnv {
  readonly vars = new Map<string, Value>();
  /** What print() wrote, a line per call. */
  readonly output: string[] = [];

  constructor(symbols: Readonly<Record<string, number>> = {}) {
    for (const [k, v] of Object.entries(symbols)) this.vars.set(k, v);
  }

  get(name: string): Value {
    const v = this.vars.get(name);
    if (v === undefined) throw new CodeError('NameError', `name '${name}' is not defined`);
    return v;
  }

  /** Bind the fields of a snapshot (emit_var for each one, as packetdrill does before a block). */
  bind(values: Readonly<Record<string, number | undefined>>): void {
    for (const [k, v] of Object.entries(values)) if (v !== undefined) this.vars.set(k, v);
  }

  /** Run one block; a failed assert is a CodeError('AssertionError', message). */
  run(code: string): void {
    for (const st of statements(code)) this.statement(st);
  }

  private statement(st: string): void {
    const toks = tokenize(st);
    const first = toks[0]!;
    if (first.t === 'name' && first.v === 'assert') {
      const p = new Parser(toks.slice(1), this);
      const cond = p.expr();
      let msg: Value | null = null;
      if (p.acceptComma()) msg = p.expr();
      p.expectEnd();
      // Python evaluates the message only when the assertion fails; evaluating it always is
      // harmless for the messages scripts write (names and formatting of them).
      if (!truthy(cond)) throw new CodeError('AssertionError', msg === null ? '' : pyStr(msg));
      return;
    }
    if (first.t === 'name' && first.v === 'print' && toks[1]?.t !== 'op') {
      // Python 2's print statement.
      const p = new Parser(toks.slice(1), this);
      const v = p.atEnd() ? '' : p.exprList();
      p.expectEnd();
      this.output.push(Array.isArray(v) ? v.map(pyStr).join(' ') : pyStr(v));
      return;
    }
    const second = toks[1];
    if (first.t === 'name' && second?.t === 'op' && ['=', '+=', '-=', '*='].includes(second.v)) {
      const p = new Parser(toks.slice(2), this);
      const v = p.exprList();
      p.expectEnd();
      if (second.v === '=') this.vars.set(first.v, v);
      else {
        const old = this.get(first.v);
        const op = second.v[0]!;
        if (op === '+' && typeof old === 'string' && typeof v === 'string') this.vars.set(first.v, old + v);
        else {
          const a = num(old, op);
          const b = num(v, op);
          this.vars.set(first.v, op === '+' ? a + b : op === '-' ? a - b : a * b);
        }
      }
      return;
    }
    const p = new Parser(toks, this);
    p.exprList();
    p.expectEnd();
  }
}
