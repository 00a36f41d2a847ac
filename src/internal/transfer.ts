/**
 * @internal
 * Iterators passed to other threads: a `ParallelIterator`, one of its shards,
 * or a `LocalIterator` made from a gather plus local transformations can be a
 * plain argument (or result) of a threads.js worker function whose module
 * imports pariter. It crosses as plain data — the shards' plans, the way of
 * reading them, and the local functions by their source text — and the
 * receiving thread reads it with workers of its own, a cold run like any
 * gather, so each reader reads its own copy.
 */
import { UsageError } from '../errors';
import { LocalIterator } from '../localIterator';
import type { GatherDescription, ParallelDescription } from './iteratorTypes';
import { ParallelIterator } from '../parallelIterator';
import type { OpSpec, ShippedFn } from './protocol';
import { loadFunction, shipFunction } from './shipping';
import type { Stage } from './stages';
import { registerValueSerializer } from './threadHost';

const TAG = '__pariterIterator';

type Message =
  | { readonly [TAG]: 'parallel'; readonly parallel: ParallelDescription }
  | {
      readonly [TAG]: 'local';
      readonly gather: GatherDescription;
      readonly ops: readonly OpSpec[];
      readonly label: string;
    };

function opOf(stage: Stage, owner: string): OpSpec {
  switch (stage.op) {
    case 'forEach':
      if (stage.original !== undefined) {
        return {
          op: 'forEach',
          fn: shipFunction('fn', stage.original),
          maxConcurrency: stage.maxConcurrency,
        };
      }
      break;
    case 'filter':
      if (stage.original !== undefined)
        return { op: 'filter', fn: shipFunction('fn', stage.original) };
      break;
    case 'batch':
    case 'flatten':
      return stage;
    case 'shuffle':
      return { op: 'localShuffle', size: stage.size, seed: stage.seed };
    case 'transform':
      break;
  }
  throw new UsageError(
    `${owner} cannot be sent to another thread: its ${stage.op === 'transform' ? 'transform(operator)' : 'zipWithSourceActor()'} cannot be shipped; apply it in the receiving thread`,
  );
}

/** A local function loaded in this thread on its first call. */
function lazy(shipped: ShippedFn): (item: unknown) => Promise<unknown> {
  let loaded: Promise<(item: unknown) => unknown> | undefined;
  return async (item) => (await (loaded ??= loadFunction(shipped)))(item);
}

function stageOf(op: OpSpec): Stage {
  switch (op.op) {
    case 'forEach':
      return { op: 'forEach', fn: lazy(op.fn), maxConcurrency: op.maxConcurrency };
    case 'filter':
      return { op: 'filter', fn: lazy(op.fn) };
    case 'localShuffle':
      return { op: 'shuffle', size: op.size, seed: op.seed };
    case 'transform':
      throw new UsageError('A transform cannot be rebuilt from a message');
    case 'batch':
    case 'flatten':
      return op;
  }
}

function serialize(value: unknown, next: (value: unknown) => unknown): unknown {
  if (value instanceof ParallelIterator) {
    return { [TAG]: 'parallel', parallel: value.describe() } satisfies Message;
  }
  if (value instanceof LocalIterator) {
    const gather = value.source.describe?.();
    if (!gather) {
      throw new UsageError(
        `${String(value)} cannot be sent to another thread: only a gather or shard of a ParallelIterator, with local transformations, can`,
      );
    }
    if (value.source.started?.()) {
      // The receiving thread would start a fresh cold run: the items read
      // here would come again. Refuse, and stop the run here.
      value.return().catch(() => undefined);
      throw new UsageError(
        `${String(value)} cannot be sent to another thread once it was read from: the receiving thread would start over and read the same items again. Send it before the first next(), take() or for await (it has been stopped)`,
      );
    }
    const ops = value.stages.map((stage) => opOf(stage, String(value)));
    return { [TAG]: 'local', gather, ops, label: value.label } satisfies Message;
  }
  return next(value);
}

function deserialize(message: unknown, next: (message: unknown) => unknown): unknown {
  const tagged = message as Partial<Message> | null;
  if (typeof tagged !== 'object' || tagged === null || !(TAG in tagged)) return next(message);
  const m = tagged as Message;
  if (m[TAG] === 'parallel') return ParallelIterator.fromDescription(m.parallel);
  const { parallel, read, options, indices } = m.gather;
  const base = ParallelIterator.fromDescription(parallel).local(read, options, indices);
  return new LocalIterator(base.source, m.ops.map(stageOf), m.label);
}

registerValueSerializer({ serialize, deserialize });
