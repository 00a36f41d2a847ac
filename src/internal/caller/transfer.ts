/**
 * @internal
 * Iterators passed to other threads: a `ParallelIterator`, one of its shards,
 * or a `LocalIterator` made from a gather plus local transformations can be a
 * plain argument (or result) of a threads.js worker function whose module
 * imports pariter. It crosses as plain data — the shards' plans, the way of
 * reading them, and the local functions by their source text — and the
 * receiving thread reads it with workers of its own, a cold run like any
 * gather, so each reader reads its own copy.
 *
 * An actor's constructor and method arguments cross the same way
 * ({@link encodeArgs}), and there an iterator over actors can cross too: each
 * actor shard is described by a new connector port to the actor, moved with
 * the call, through which the receiving thread asks the actor for its runs.
 */
import type { DataPort } from '../common/nodeShapes';
import { UsageError } from '../../errors';
import { LocalIterator } from '../../localIterator';
import type { GatherDescription, ParallelDescription } from './iteratorTypes';
import { ParallelIterator } from '../../parallelIterator';
import type { OpSpec, ShippedFn } from '../wire/protocol';
import { loadFunction, shipFunction } from '../wire/shipping';
import type { Stage } from '../common/stages';
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

/**
 * The message for an iterator, or undefined when `value` is none. With
 * `transfer`, shards over actors cross too (see `ParallelIterator.describe`).
 */
function encode(value: unknown, transfer?: DataPort[]): Message | undefined {
  if (value instanceof ParallelIterator) {
    return { [TAG]: 'parallel', parallel: value.describe(transfer) };
  }
  if (value instanceof LocalIterator) {
    const gather = value.source.describe?.(transfer);
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
    return { [TAG]: 'local', gather, ops, label: value.label };
  }
  return undefined;
}

function isMessage(message: unknown): message is Message {
  return typeof message === 'object' && message !== null && TAG in message;
}

function decode(m: Message): unknown {
  if (m[TAG] === 'parallel') return ParallelIterator.fromDescription(m.parallel);
  const { parallel, read, options, indices } = m.gather;
  const base = ParallelIterator.fromDescription(parallel).local(read, options, indices);
  return new LocalIterator(base.source, m.ops.map(stageOf), m.label);
}

function serialize(value: unknown, next: (value: unknown) => unknown): unknown {
  return encode(value) ?? next(value);
}

function deserialize(message: unknown, next: (message: unknown) => unknown): unknown {
  return isMessage(message) ? decode(message) : next(message);
}

/** Whether `value` is an array or a plain object, whose values are walked. */
function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  if (Array.isArray(value)) return true;
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * `value` with `replace` applied to it or, where it returns undefined, inside
 * arrays and plain objects (8 levels deep); unchanged values are not copied.
 */
function walk(value: unknown, replace: (v: unknown) => unknown, depth = 0): unknown {
  const replaced = replace(value);
  if (replaced !== undefined) return replaced;
  if (!isContainer(value) || depth >= 8) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = walk(value[i], replace, depth + 1);
      if (v !== value[i]) (copy ??= value.slice())[i] = v;
    }
    return copy ?? value;
  }
  const entries = Object.entries(value);
  let changed = false;
  for (const entry of entries) {
    const v = walk(entry[1], replace, depth + 1);
    if (v !== entry[1]) changed = true;
    entry[1] = v;
  }
  return changed ? Object.fromEntries(entries) : value;
}

/**
 * The arguments of an actor's constructor or method, with the iterators in
 * them (also inside arrays and plain objects) as messages, and the ports
 * those messages move (connectors to the actors an iterator reads).
 *
 * @throws UsageError for an iterator that cannot be sent
 */
export function encodeArgs(args: readonly unknown[]): {
  args: unknown[];
  transfer: DataPort[];
} {
  const transfer: DataPort[] = [];
  return { args: args.map((arg) => walk(arg, (v) => encode(v, transfer))), transfer };
}

/** The arguments {@link encodeArgs} made, with their iterators rebuilt in this thread. */
export function decodeArgs(args: readonly unknown[]): unknown[] {
  return args.map((arg) => walk(arg, (v) => (isMessage(v) ? decode(v) : undefined)));
}

registerValueSerializer({ serialize, deserialize });
