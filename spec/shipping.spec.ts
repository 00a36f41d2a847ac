/**
 * Functions that run in shards, as users' real code writes them: any valid
 * arrow or method, whatever `Function.prototype.toString` was replaced with,
 * compiled by TypeScript to older targets, instrumented for coverage; with
 * paths, `require` and stack traces that belong to the file that wrote them.
 */
import test from 'ava';
import { ArgumentTypeError, ShardError, fromItems, fromRange, stateful } from 'pariter';
import { within } from './helpers/hang';

/** Items of a shard function run over `fromRange(n)`, in order. */
async function mapped(fn: (x: number) => unknown, n = 4): Promise<unknown[]> {
  return within(
    fromRange(n, 1)
      .forEach(fn)
      .take(n + 1),
    `forEach over fromRange(${n})`,
  );
}

/** A function whose source text is exactly `text`, as a user's file would define it. */
const defined = <F>(text: string): F => new Function(`return (${text});`)() as F;

test.serial('valid arrows without parentheses and with comments are shipped', async (t) => {
  t.deepEqual(await mapped(defined('ñ => ñ * 2')), [0, 2, 4, 6]);
  t.deepEqual(await mapped(defined('async ü => ü * 2')), [0, 2, 4, 6]);
  t.deepEqual(await mapped(defined('x /* c */ => x * 2')), [0, 2, 4, 6]);
  t.deepEqual(await mapped(defined('(x /* ) => */) => x * 2')), [0, 2, 4, 6]);
  t.deepEqual(await mapped(defined('(\n  x\n) =>\n  x * 2')), [0, 2, 4, 6]);
  t.deepEqual(await mapped(defined('$ => `${$}`')), ['0', '1', '2', '3']);
});

test.serial(
  'methods in shorthand are shipped: named, computed, async, generator, private',
  async (t) => {
    const obj = defined<Record<string, (x: number) => unknown>>(
      `({ double(x) { return x * 2; }, ['tri' + 'ple'](x = 0) { return x * 3; },
        async 'quoted name'(x) { return x + 1; }, *pair(x) { yield x; } })`,
    );
    t.deepEqual(await mapped(obj.double!), [0, 2, 4, 6]);
    t.deepEqual(await mapped(obj.triple!), [0, 3, 6, 9]);
    t.deepEqual(await mapped(obj['quoted name']!), [1, 2, 3, 4]);
    const gen = await within(
      fromRange(2, 1)
        .forEach(obj.pair!)
        .forEach((g) => [...(g as Iterable<number>)])
        .take(4),
      'a generator method',
    );
    t.deepEqual(gen, [[0], [1]]);
    const Private = defined<new () => { fn(): (x: number) => unknown }>(
      'class { #m(x) { return -x; } fn() { return this.#m; } }',
    );
    t.deepEqual(await mapped(new Private().fn()), [-0, -1, -2, -3]);
  },
);

test.serial('a replaced Function.prototype.toString does not change what is shipped', async (t) => {
  const original = Object.getOwnPropertyDescriptor(Function.prototype, 'toString')!;
  Object.defineProperty(Function.prototype, 'toString', {
    ...original,
    value: () => '() => "replaced"',
  });
  try {
    t.deepEqual(await mapped((x) => x * 10), [0, 10, 20, 30]);
    const counts = await within(
      fromItems([1, 1, 1], 1)
        .forEach(
          stateful(() => {
            let n = 0;
            return (x: number) => (n += x);
          }),
        )
        .take(4),
      'a stateful function',
    );
    t.deepEqual(counts, [1, 2, 3]);
  } finally {
    Object.defineProperty(Function.prototype, 'toString', original);
  }
});

test.serial('a call() instance with #private members is refused at the call', (t) => {
  class Counter {
    #total = 0;
    call(x: number): number {
      return (this.#total += x);
    }
  }
  class Doubler {
    #twice(x: number): number {
      return x * 2;
    }
    call(x: number): number {
      return this.#twice(x);
    }
  }
  for (const instance of [new Counter(), new Doubler()]) {
    const error = t.throws(() => fromRange(4).forEach(instance), {
      instanceOf: ArgumentTypeError,
    });
    t.regex(error?.message ?? '', /`fn`.*#private.*stateful\(\(\) =>/s);
  }
  // The same state in a plain field is fine.
  class PlainCounter {
    total = 0;
    call(x: number): number {
      return (this.total += x);
    }
  }
  t.notThrows(() => fromRange(4).forEach(new PlainCounter()));
});

test.serial('a shard function that throws is still a ShardError', async (t) => {
  await t.throwsAsync(
    mapped(() => {
      throw new Error('boom');
    }),
    { instanceOf: ShardError },
  );
});
