// A minimal ONNX model writer, so the bench builds its peer models itself
// (no Python, no protobuf library). It knows just enough of onnx.proto
// (IR 8, opset 17) for float32 graphs: nodes with int / ints / float
// attributes, float32 and int64 initializers, float32 inputs and outputs.
//
// Protobuf wire format: each field is a varint key (field number << 3 | wire
// type) then its value; wire type 0 = varint, 2 = length-delimited (strings,
// bytes, embedded messages, packed repeated scalars), 5 = 32-bit.

class Writer {
  private chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value)); // negative int64 → two's complement, 10 bytes
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.push(Uint8Array.from(out));
  }

  private key(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  int(field: number, value: number | bigint): this {
    this.key(field, 0);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, 2);
    this.varint(value.length);
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  packedInts(field: number, values: readonly number[]): this {
    const inner = new Writer();
    for (const v of values) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

const FLOAT = 1; // TensorProto.DataType
const INT64 = 7;
const ATTR_FLOAT = 1; // AttributeProto.AttributeType
const ATTR_INT = 2;
const ATTR_INTS = 7;

export type Attribute = number | number[] | { float: number };

export interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, Attribute>;
}

export interface Initializer {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

export interface ValueInfo {
  name: string;
  dims: number[];
}

export interface Graph {
  name: string;
  nodes: Node[];
  initializers: Initializer[];
  inputs: ValueInfo[]; // float32
  outputs: ValueInfo[]; // float32
}

function tensor(w: Writer, t: Initializer): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.data instanceof Float32Array ? FLOAT : INT64);
  w.string(8, t.name);
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)); // raw_data, little-endian
}

function valueInfo(w: Writer, v: ValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.int(1, FLOAT);
      tt.message(2, (shape) => {
        for (const d of v.dims) shape.message(1, (dim) => dim.int(1, d));
      });
    }),
  );
}

function attribute(w: Writer, name: string, value: Attribute): void {
  w.string(1, name);
  if (typeof value === "number") w.int(3, value).int(20, ATTR_INT);
  else if (Array.isArray(value)) w.packedInts(8, value).int(20, ATTR_INTS);
  else w.float(2, value.float).int(20, ATTR_FLOAT);
}

/** Serialises a ModelProto (IR 8, default-domain opset 17) holding `graph`. */
export function encodeModel(graph: Graph): Uint8Array {
  const w = new Writer();
  w.int(1, 8); // ir_version
  w.string(2, "trm-worker bench");
  w.message(7, (g) => {
    graph.nodes.forEach((n, i) =>
      g.message(1, (node) => {
        for (const x of n.inputs) node.string(1, x);
        for (const y of n.outputs) node.string(2, y);
        node.string(3, `${n.op}_${i}`);
        node.string(4, n.op);
        for (const [k, v] of Object.entries(n.attrs ?? {})) node.message(5, (a) => attribute(a, k, v));
      }),
    );
    g.string(2, graph.name);
    for (const t of graph.initializers) g.message(5, (m) => tensor(m, t));
    for (const v of graph.inputs) g.message(11, (m) => valueInfo(m, v));
    for (const v of graph.outputs) g.message(12, (m) => valueInfo(m, v));
  });
  w.message(8, (o) => o.string(1, "").int(2, 17)); // opset_import
  return w.finish();
}

/** Builds a graph node by node, naming intermediates. */
export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Initializer[] = [];
  private next = 0;

  constant(data: Float32Array | BigInt64Array, dims: number[], name = `c${this.next++}`): string {
    this.initializers.push({ name, dims, data });
    return name;
  }

  ints(values: number[]): string {
    return this.constant(BigInt64Array.from(values.map(BigInt)), [values.length]);
  }

  scalar(value: number): string {
    return this.constant(Float32Array.of(value), []);
  }

  op(op: string, inputs: string[], attrs?: Record<string, Attribute>, outputs = 1): string[] {
    const names = Array.from({ length: outputs }, () => `t${this.next++}`);
    this.nodes.push({ op, inputs, outputs: names, attrs });
    return names;
  }

  op1(op: string, inputs: string[], attrs?: Record<string, Attribute>): string {
    return this.op(op, inputs, attrs)[0];
  }

  /** Renames the last node's (first) output. */
  output(name: string): void {
    const last = this.nodes[this.nodes.length - 1];
    const old = last.outputs[0];
    last.outputs[0] = name;
    for (const n of this.nodes) n.inputs = n.inputs.map((x) => (x === old ? name : x));
  }

  graph(name: string, inputs: ValueInfo[], outputs: ValueInfo[]): Graph {
    return { name, nodes: this.nodes, initializers: this.initializers, inputs, outputs };
  }
}
