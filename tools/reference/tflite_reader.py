"""A small, independent TFLite FlatBuffers reader for the reference scripts: constant tensors
by name (float32), written from the schema without sharing code with tsface's TypeScript reader."""
import struct
import tarfile

import numpy as np


class _Buf:
    def __init__(self, data):
        self.d = data

    def u32(self, o):
        return struct.unpack_from("<I", self.d, o)[0]

    def i32(self, o):
        return struct.unpack_from("<i", self.d, o)[0]

    def u16(self, o):
        return struct.unpack_from("<H", self.d, o)[0]

    def field(self, table, i):
        vt = table - self.i32(table)
        if 4 + 2 * i >= self.u16(vt):
            return None
        off = self.u16(vt + 4 + 2 * i)
        return table + off if off else None

    def ref(self, o):
        return o + self.u32(o)

    def vec(self, table, i):
        f = self.field(table, i)
        if f is None:
            return 0, 0
        v = self.ref(f)
        return v + 4, self.u32(v)

    def tables(self, table, i):
        start, n = self.vec(table, i)
        return [self.ref(start + 4 * k) for k in range(n)]


def constants(data):
    """{tensor name: float32 ndarray} for every constant FLOAT32 tensor of the first subgraph."""
    b = _Buf(data)
    model = b.ref(0)
    buffers = b.tables(model, 4)
    sub = b.tables(model, 2)[0]
    out = {}
    for t in b.tables(sub, 0):
        s, n = b.vec(t, 0)
        shape = [b.i32(s + 4 * k) for k in range(n)]
        f = b.field(t, 1)
        ttype = b.d[f] if f is not None else 0
        f = b.field(t, 2)
        buf = b.u32(f) if f is not None else 0
        s, n = b.vec(t, 3)
        name = bytes(b.d[s:s + n]).decode()
        if ttype != 0 or buf == 0:
            continue
        s, n = b.vec(buffers[buf], 0)
        if n == 0:
            continue
        out[name] = np.frombuffer(bytes(b.d[s:s + n]), dtype="<f4").reshape(shape).copy()
    return out


def from_npm_tarball(tgz, member):
    with tarfile.open(tgz, "r:gz") as tar:
        return tar.extractfile(member).read()


def operators(data):
    """[(builtin code, inputs, outputs, options)] of the first subgraph, and its tensors
    [(name, shape, constant or None)]. Options: padding 'SAME'/'VALID', strides."""
    b = _Buf(data)
    model = b.ref(0)
    codes = []
    for oc in b.tables(model, 1):
        f = b.field(oc, 0)
        dep = struct.unpack_from("<b", b.d, f)[0] if f is not None else 0
        f = b.field(oc, 3)
        code = b.i32(f) if f is not None else 0
        codes.append(max(dep, code))
    sub = b.tables(model, 2)[0]
    consts = constants(data)
    tensors = []
    for t in b.tables(sub, 0):
        s, n = b.vec(t, 3)
        name = bytes(b.d[s:s + n]).decode()
        s, n = b.vec(t, 0)
        tensors.append((name, [b.i32(s + 4 * k) for k in range(n)], consts.get(name)))
    ops = []
    for op in b.tables(sub, 3):
        f = b.field(op, 0)
        code = codes[b.u32(f) if f is not None else 0]
        s, n = b.vec(op, 1)
        ins = [b.i32(s + 4 * k) for k in range(n)]
        s, n = b.vec(op, 2)
        outs = [b.i32(s + 4 * k) for k in range(n)]
        opts = {}
        f = b.field(op, 4)
        if f is not None and code in (3, 4):
            o = b.ref(f)
            pf, swf, shf = b.field(o, 0), b.field(o, 1), b.field(o, 2)
            opts["padding"] = "VALID" if (pf is not None and b.d[pf] == 1) else "SAME"
            opts["stride_w"] = b.i32(swf) if swf is not None else 1
            opts["stride_h"] = b.i32(shf) if shf is not None else 1
        ops.append((code, ins, outs, opts))
    return ops, tensors
