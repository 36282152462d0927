// A restricted unpickler for the data.pkl that torch.save writes for a state
// dict. It never calls anything: the only "callables" it knows are the few
// globals below, each mapped to our own pure handler, and every other opcode or
// global is rejected with an error naming it and its byte offset. This is what
// makes it safe to read an untrusted checkpoint, which Python's pickle is not.
//
// Accepted: protocol 2 (torch's default) and the extra opcodes protocol 4/5
// streams use for the same data (FRAME, MEMOIZE, STACK_GLOBAL, short strings).

import { TrmError } from "../errors.ts";

export type StorageDType = "float32" | "float64" | "float16" | "bfloat16" | "int64" | "int32" | "int16" | "int8" | "uint8" | "bool";

export interface StorageRef {
  readonly kind: "storage";
  /** The torch class named in the persistent id, e.g. "FloatStorage". */
  readonly className: string;
  readonly dtype: StorageDType;
  readonly itemSize: number;
  /** Zip entry name under `<folder>/data/`. */
  readonly key: string;
  /** Device it was saved from ("cpu", "cuda:0"); irrelevant for reading. */
  readonly location: string;
  /** Number of elements (not bytes) in the storage. */
  readonly numel: number;
}

export interface TensorRef {
  readonly kind: "tensor";
  readonly storage: StorageRef;
  readonly storageOffset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

export interface PickleTuple {
  readonly kind: "tuple";
  readonly items: readonly PickleValue[];
}

export interface PickleList {
  readonly kind: "list";
  readonly items: PickleValue[];
}

export type DictKey = string | number | boolean | null;

export interface PickleDict {
  readonly kind: "dict";
  /** True for collections.OrderedDict; entries keep insertion order either way. */
  readonly ordered: boolean;
  readonly entries: Map<DictKey, PickleValue>;
}

/** An allowed global, only meaningful as a REDUCE callee or storage type. */
export interface PickleGlobal {
  readonly kind: "global";
  readonly module: string;
  readonly name: string;
}

export type PickleValue = null | boolean | number | string | PickleTuple | PickleList | PickleDict | PickleGlobal | StorageRef | TensorRef;

const STORAGE_TYPES: Readonly<Record<string, { dtype: StorageDType; itemSize: number }>> = {
  FloatStorage: { dtype: "float32", itemSize: 4 },
  DoubleStorage: { dtype: "float64", itemSize: 8 },
  HalfStorage: { dtype: "float16", itemSize: 2 },
  BFloat16Storage: { dtype: "bfloat16", itemSize: 2 },
  LongStorage: { dtype: "int64", itemSize: 8 },
  IntStorage: { dtype: "int32", itemSize: 4 },
  ShortStorage: { dtype: "int16", itemSize: 2 },
  CharStorage: { dtype: "int8", itemSize: 1 },
  ByteStorage: { dtype: "uint8", itemSize: 1 },
  BoolStorage: { dtype: "bool", itemSize: 1 },
};

const ORDERED_DICT = "collections OrderedDict";
const REBUILD_TENSOR_V2 = "torch._utils _rebuild_tensor_v2";
const REBUILD_PARAMETER = "torch._utils _rebuild_parameter";

function isAllowedGlobal(module: string, name: string): boolean {
  const qualified = `${module} ${name}`;
  if (qualified === ORDERED_DICT || qualified === REBUILD_TENSOR_V2 || qualified === REBUILD_PARAMETER) return true;
  return module === "torch" && Object.hasOwn(STORAGE_TYPES, name);
}

// Names of every standard opcode, so a rejection says which one it met.
const OPCODE_NAMES: Readonly<Record<number, string>> = {
  0x28: "MARK", 0x29: "EMPTY_TUPLE", 0x2e: "STOP", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x42: "BINBYTES",
  0x43: "SHORT_BINBYTES", 0x46: "FLOAT", 0x47: "BINFLOAT", 0x49: "INT", 0x4a: "BININT", 0x4b: "BININT1", 0x4c: "LONG",
  0x4d: "BININT2", 0x4e: "NONE", 0x50: "PERSID", 0x51: "BINPERSID", 0x52: "REDUCE", 0x53: "STRING", 0x54: "BINSTRING",
  0x55: "SHORT_BINSTRING", 0x56: "UNICODE", 0x58: "BINUNICODE", 0x5d: "EMPTY_LIST", 0x61: "APPEND", 0x62: "BUILD",
  0x63: "GLOBAL", 0x64: "DICT", 0x65: "APPENDS", 0x67: "GET", 0x68: "BINGET", 0x69: "INST", 0x6a: "LONG_BINGET",
  0x6c: "LIST", 0x6f: "OBJ", 0x70: "PUT", 0x71: "BINPUT", 0x72: "LONG_BINPUT", 0x73: "SETITEM", 0x74: "TUPLE",
  0x75: "SETITEMS", 0x7d: "EMPTY_DICT", 0x80: "PROTO", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
  0x85: "TUPLE1", 0x86: "TUPLE2", 0x87: "TUPLE3", 0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8a: "LONG1", 0x8b: "LONG4",
  0x8c: "SHORT_BINUNICODE", 0x8d: "BINUNICODE8", 0x8e: "BINBYTES8", 0x8f: "EMPTY_SET", 0x90: "ADDITEMS",
  0x91: "FROZENSET", 0x92: "NEWOBJ_EX", 0x93: "STACK_GLOBAL", 0x94: "MEMOIZE", 0x95: "FRAME", 0x96: "BYTEARRAY8",
  0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
};

function opcodeLabel(code: number): string {
  const hex = `0x${code.toString(16).padStart(2, "0")}`;
  return code in OPCODE_NAMES ? `${OPCODE_NAMES[code]} (${hex})` : `unknown opcode ${hex}`;
}

/** Errors carry the opcode and offset being executed when things went wrong. */
class PickleContext {
  opcode = 0;
  offset = 0;

  fail(message: string): never {
    throw new TrmError("bad_pickle", `pickle ${opcodeLabel(this.opcode)} at byte ${this.offset}: ${message}`);
  }
}

function describe(value: PickleValue): string {
  if (value === null) return "None";
  if (typeof value === "boolean") return `bool ${value ? "True" : "False"}`;
  if (typeof value === "number") return `number ${value}`;
  if (typeof value === "string") return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (value.kind === "global") return `global ${value.module}.${value.name}`;
  if (value.kind === "dict") return value.ordered ? "OrderedDict" : "dict";
  return value.kind;
}

function expectTuple(ctx: PickleContext, value: PickleValue, what: string): readonly PickleValue[] {
  if (value === null || typeof value !== "object" || value.kind !== "tuple") ctx.fail(`${what} must be a tuple, found ${describe(value)}`);
  return value.items;
}

function expectDict(ctx: PickleContext, value: PickleValue, what: string): PickleDict {
  if (value === null || typeof value !== "object" || value.kind !== "dict") ctx.fail(`${what} must be a dict, found ${describe(value)}`);
  return value;
}

function expectNonNegativeInt(ctx: PickleContext, value: PickleValue, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) ctx.fail(`${what} must be a non-negative integer, found ${describe(value)}`);
  return value;
}

function expectIntTuple(ctx: PickleContext, value: PickleValue, what: string): number[] {
  return expectTuple(ctx, value, what).map((item, i) => expectNonNegativeInt(ctx, item, `${what}[${i}]`));
}

function expectTensor(ctx: PickleContext, value: PickleValue, what: string): TensorRef {
  if (value === null || typeof value !== "object" || value.kind !== "tensor") ctx.fail(`${what} must be a tensor, found ${describe(value)}`);
  return value;
}

// Hooks would need arbitrary callables to be meaningful; torch writes an empty
// OrderedDict when there are none.
function expectNoHooks(ctx: PickleContext, value: PickleValue): void {
  if (expectDict(ctx, value, "backward_hooks").entries.size !== 0) ctx.fail("tensors with backward hooks are not supported");
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
// backward_hooks[, metadata]); torch adds metadata only when it is non-empty.
function rebuildTensorV2(ctx: PickleContext, args: readonly PickleValue[]): TensorRef {
  if (args.length !== 6 && args.length !== 7) ctx.fail(`_rebuild_tensor_v2 takes 6 or 7 arguments, found ${args.length}`);
  const storage = args[0];
  if (storage === null || typeof storage !== "object" || storage.kind !== "storage") ctx.fail(`_rebuild_tensor_v2 storage must come from a persistent id, found ${describe(storage)}`);
  const storageOffset = expectNonNegativeInt(ctx, args[1], "storage_offset");
  const shape = expectIntTuple(ctx, args[2], "size");
  const stride = expectIntTuple(ctx, args[3], "stride");
  if (shape.length !== stride.length) ctx.fail(`tensor size has ${shape.length} dimensions but stride has ${stride.length}`);
  if (typeof args[4] !== "boolean") ctx.fail(`requires_grad must be a bool, found ${describe(args[4])}`);
  expectNoHooks(ctx, args[5]);
  if (args.length === 7) {
    const metadata = expectDict(ctx, args[6], "tensor metadata");
    if (metadata.entries.size !== 0) ctx.fail(`tensor metadata ${[...metadata.entries.keys()].join(", ")} is not supported`);
  }
  return { kind: "tensor", storage, storageOffset, shape, stride };
}

// _rebuild_parameter(data, requires_grad, backward_hooks): a Parameter is just
// its tensor for inference.
function rebuildParameter(ctx: PickleContext, args: readonly PickleValue[]): TensorRef {
  if (args.length !== 3) ctx.fail(`_rebuild_parameter takes 3 arguments, found ${args.length}`);
  const tensor = expectTensor(ctx, args[0], "_rebuild_parameter data");
  if (typeof args[1] !== "boolean") ctx.fail(`requires_grad must be a bool, found ${describe(args[1])}`);
  expectNoHooks(ctx, args[2]);
  return tensor;
}

function reduce(ctx: PickleContext, callable: PickleValue, argsValue: PickleValue): PickleValue {
  if (callable === null || typeof callable !== "object" || callable.kind !== "global") ctx.fail(`can only call an allowed global, found ${describe(callable)}`);
  const args = expectTuple(ctx, argsValue, "REDUCE arguments");
  const qualified = `${callable.module} ${callable.name}`;
  if (qualified === ORDERED_DICT) {
    if (args.length !== 0) ctx.fail(`OrderedDict must be called with no arguments, found ${args.length}`);
    return { kind: "dict", ordered: true, entries: new Map() };
  }
  if (qualified === REBUILD_TENSOR_V2) return rebuildTensorV2(ctx, args);
  if (qualified === REBUILD_PARAMETER) return rebuildParameter(ctx, args);
  return ctx.fail(`${callable.module}.${callable.name} cannot be called; it is only valid as a storage type in a persistent id`);
}

// Persistent ids are ('storage', <storage class>, key, location, numel).
function persistentLoad(ctx: PickleContext, pid: PickleValue): StorageRef {
  const fields = expectTuple(ctx, pid, "persistent id");
  if (fields.length !== 5 || fields[0] !== "storage") ctx.fail(`persistent id must be ('storage', type, key, location, numel), found a ${fields.length}-tuple starting with ${fields.length ? describe(fields[0]) : "nothing"}`);
  const type = fields[1];
  if (type === null || typeof type !== "object" || type.kind !== "global" || type.module !== "torch" || !Object.hasOwn(STORAGE_TYPES, type.name)) {
    ctx.fail(`persistent id storage type must be a torch storage class, found ${describe(type)}`);
  }
  const [key, location] = [fields[2], fields[3]];
  if (typeof key !== "string") ctx.fail(`storage key must be a string, found ${describe(key)}`);
  if (typeof location !== "string") ctx.fail(`storage location must be a string, found ${describe(location)}`);
  const numel = expectNonNegativeInt(ctx, fields[4], "storage numel");
  return { kind: "storage", className: type.name, ...STORAGE_TYPES[type.name]!, key, location, numel };
}

// torch attaches the module version table as `state_dict._metadata`, which
// pickles as BUILD with state {'_metadata': ...}; inference does not need it.
function build(ctx: PickleContext, target: PickleValue, state: PickleValue): void {
  if (target === null || typeof target !== "object" || target.kind !== "dict") ctx.fail(`cannot set the state of ${describe(target)}`);
  const stateDict = expectDict(ctx, state, "BUILD state");
  for (const key of stateDict.entries.keys()) {
    if (key !== "_metadata") ctx.fail(`only the _metadata attribute of a state dict is supported, found ${describe(key)}`);
  }
}

function toDictKey(ctx: PickleContext, key: PickleValue): DictKey {
  if (key === null || typeof key !== "object") return key;
  return ctx.fail(`dict keys must be strings, numbers, bools or None, found ${describe(key)}`);
}

function setItems(ctx: PickleContext, target: PickleValue, items: readonly PickleValue[]): void {
  if (items.length % 2 !== 0) ctx.fail(`expected key/value pairs, found ${items.length} items`);
  const dict = expectDict(ctx, target, "SETITEM target");
  for (let i = 0; i < items.length; i += 2) dict.entries.set(toDictKey(ctx, items[i]!), items[i + 1]!);
}

function appendItems(ctx: PickleContext, target: PickleValue, items: readonly PickleValue[]): void {
  if (target === null || typeof target !== "object" || target.kind !== "list") ctx.fail(`can only append to a list, found ${describe(target)}`);
  for (const item of items) target.items.push(item);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const PROTOCOL_MIN = 2;
const PROTOCOL_MAX = 5;

/**
 * Evaluates a torch state-dict pickle into plain data. Tensors come back as
 * TensorRef pointing at storages that the caller loads from the zip.
 */
export function unpickleTorch(bytes: Uint8Array): PickleValue {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Annotated so that TypeScript treats ctx.fail() as ending control flow.
  const ctx: PickleContext = new PickleContext();
  let pos = 0;
  // Like CPython: MARK moves the current stack onto the metastack.
  let stack: PickleValue[] = [];
  const metastack: PickleValue[][] = [];
  const memo = new Map<number, PickleValue>();

  const need = (count: number): number => {
    if (count > bytes.length - pos) ctx.fail(`needs ${count} argument bytes but the stream ends after ${bytes.length - pos}`);
    const start = pos;
    pos += count;
    return start;
  };
  const u8 = (): number => dv.getUint8(need(1));
  const u16 = (): number => dv.getUint16(need(2), true);
  const u32 = (): number => dv.getUint32(need(4), true);
  const u64 = (): number => {
    const value = dv.getBigUint64(need(8), true);
    if (value > BigInt(bytes.length)) ctx.fail(`length ${value} exceeds the ${bytes.length}-byte stream`);
    return Number(value);
  };
  const text = (length: number): string => {
    const start = need(length);
    try {
      return utf8.decode(bytes.subarray(start, start + length));
    } catch {
      return ctx.fail("string is not valid UTF-8");
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) ctx.fail("missing newline after global name");
    const value = text(end - pos);
    pos++; // the newline
    return value;
  };
  const pop = (): PickleValue => {
    if (stack.length === 0) ctx.fail("stack is empty (above the last MARK)");
    return stack.pop()!;
  };
  const top = (): PickleValue => {
    if (stack.length === 0) ctx.fail("stack is empty (above the last MARK)");
    return stack[stack.length - 1]!;
  };
  const popMark = (): PickleValue[] => {
    const items = stack;
    const outer = metastack.pop();
    if (outer === undefined) ctx.fail("no MARK to pop to");
    stack = outer;
    return items;
  };
  const memoGet = (index: number): PickleValue => {
    if (!memo.has(index)) ctx.fail(`memo index ${index} was never stored`);
    return memo.get(index)!;
  };
  const pushGlobal = (module: string, name: string): void => {
    if (!isAllowedGlobal(module, name)) ctx.fail(`global ${module}.${name} is not allowed; a state dict only references OrderedDict, torch tensor rebuild functions and torch storage types`);
    stack.push({ kind: "global", module, name });
  };
  const tuple = (items: PickleValue[]): PickleTuple => ({ kind: "tuple", items });

  ctx.opcode = bytes.length > 0 ? bytes[0]! : 0;
  if (ctx.opcode !== 0x80) ctx.fail("stream must start with PROTO (protocol 2 or later)");

  for (;;) {
    if (pos >= bytes.length) {
      ctx.offset = pos;
      ctx.fail("stream ended without STOP");
    }
    ctx.offset = pos;
    ctx.opcode = bytes[pos++]!;
    switch (ctx.opcode) {
      case 0x80: { // PROTO
        const protocol = u8();
        if (protocol < PROTOCOL_MIN || protocol > PROTOCOL_MAX) ctx.fail(`protocol ${protocol} is not supported (expected ${PROTOCOL_MIN}..${PROTOCOL_MAX})`);
        break;
      }
      case 0x95: // FRAME: framing only groups opcodes for buffered reads.
        u64();
        break;
      case 0x2e: { // STOP
        if (metastack.length !== 0) ctx.fail("stream stops with an unclosed MARK");
        if (stack.length !== 1) ctx.fail(`stream stops with ${stack.length} values on the stack, expected 1`);
        if (pos !== bytes.length) ctx.fail(`${bytes.length - pos} unexpected bytes follow STOP`);
        return stack[0]!;
      }
      case 0x63: { // GLOBAL
        const module = line();
        const name = line();
        pushGlobal(module, name);
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") ctx.fail(`module and name must be strings, found ${describe(module)} and ${describe(name)}`);
        pushGlobal(module, name);
        break;
      }
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: stack.push(memoGet(u8())); break; // BINGET
      case 0x6a: stack.push(memoGet(u32())); break; // LONG_BINGET
      case 0x28: metastack.push(stack); stack = []; break; // MARK
      case 0x29: stack.push(tuple([])); break; // EMPTY_TUPLE
      case 0x74: { // TUPLE
        const items = popMark(); // replaces `stack`, so read it before pushing
        stack.push(tuple(items));
        break;
      }
      case 0x85: stack.push(tuple([pop()])); break; // TUPLE1
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push(tuple([pop(), b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(tuple([pop(), b, c]));
        break;
      }
      case 0x7d: stack.push({ kind: "dict", ordered: false, entries: new Map() }); break; // EMPTY_DICT
      case 0x5d: stack.push({ kind: "list", items: [] }); break; // EMPTY_LIST
      case 0x61: { // APPEND
        const item = pop();
        appendItems(ctx, top(), [item]);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        appendItems(ctx, top(), items);
        break;
      }
      case 0x73: { // SETITEM
        const value = pop();
        const key = pop();
        setItems(ctx, top(), [key, value]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(ctx, top(), items);
        break;
      }
      case 0x4a: stack.push(dv.getInt32(need(4), true)); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: { // LONG1: little-endian two's complement of the given length
        const length = u8();
        if (length > 8) ctx.fail(`integer of ${length} bytes is too large`);
        const start = need(length);
        let value = 0n;
        for (let i = length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[start + i]!);
        if (length > 0 && bytes[start + length - 1]! >= 0x80) value -= 1n << BigInt(8 * length);
        if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) ctx.fail(`integer ${value} is beyond 2^53`);
        stack.push(Number(value));
        break;
      }
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x58: stack.push(text(u32())); break; // BINUNICODE
      case 0x8c: stack.push(text(u8())); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(text(u64())); break; // BINUNICODE8
      case 0x47: stack.push(dv.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x52: { // REDUCE
        const args = pop();
        const callable = pop();
        stack.push(reduce(ctx, callable, args));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        build(ctx, top(), state);
        break;
      }
      case 0x51: stack.push(persistentLoad(ctx, pop())); break; // BINPERSID
      default:
        ctx.fail("opcode is not allowed in a torch state dict");
    }
  }
}
