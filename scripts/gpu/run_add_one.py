#!/usr/bin/env python3
"""Loads PTX files of the `add_one` smoke kernel (codegen/examples/emit_add_one.rs)
on a CUDA GPU through the driver API (ctypes, no toolkit or Rust needed) and
checks the result: p[i] + 1 for i < n, p[i] unchanged beyond.

usage: run_add_one.py FILE.ptx...   (each is loaded and run; prints one line each)
"""
import ctypes
import sys

cuda = ctypes.CDLL("libcuda.so.1")


def check(status, what):
    if status != 0:
        name = ctypes.c_char_p()
        cuda.cuGetErrorName(status, ctypes.byref(name))
        raise RuntimeError(f"{what} failed: {name.value.decode() if name.value else status}")


def main(paths):
    check(cuda.cuInit(0), "cuInit")
    dev = ctypes.c_int()
    check(cuda.cuDeviceGet(ctypes.byref(dev), 0), "cuDeviceGet")
    major, minor = ctypes.c_int(), ctypes.c_int()
    check(cuda.cuDeviceGetAttribute(ctypes.byref(major), 75, dev), "cc major")
    check(cuda.cuDeviceGetAttribute(ctypes.byref(minor), 76, dev), "cc minor")
    name = ctypes.create_string_buffer(256)
    cuda.cuDeviceGetName(name, 256, dev)
    ctx = ctypes.c_void_p()
    check(cuda.cuDevicePrimaryCtxRetain(ctypes.byref(ctx), dev), "cuDevicePrimaryCtxRetain")
    check(cuda.cuCtxSetCurrent(ctx), "cuCtxSetCurrent")
    print(f"device: {name.value.decode()} (compute capability {major.value}.{minor.value})")
    failures = 0
    for path in paths:
        ptx = open(path, "rb").read() + b"\0"
        module = ctypes.c_void_p()
        status = cuda.cuModuleLoadData(ctypes.byref(module), ctypes.c_char_p(ptx))
        if status != 0:
            print(f"{path}: cannot load ({status})")
            failures += 1
            continue
        func = ctypes.c_void_p()
        check(cuda.cuModuleGetFunction(ctypes.byref(func), module, b"add_one"), "cuModuleGetFunction")
        total, n = 1000, 777
        host = (ctypes.c_float * total)(*[float(i) for i in range(total)])
        dptr = ctypes.c_uint64()
        check(cuda.cuMemAlloc_v2(ctypes.byref(dptr), total * 4), "cuMemAlloc")
        check(cuda.cuMemcpyHtoD_v2(dptr, host, total * 4), "cuMemcpyHtoD")
        arg_p, arg_n = ctypes.c_uint64(dptr.value), ctypes.c_int32(n)
        params = (ctypes.c_void_p * 2)(ctypes.addressof(arg_p), ctypes.addressof(arg_n))
        threads = 256
        check(cuda.cuLaunchKernel(func, (total + threads - 1) // threads, 1, 1, threads, 1, 1, 0, None, params, None),
              "cuLaunchKernel")
        check(cuda.cuCtxSynchronize(), "cuCtxSynchronize")
        out = (ctypes.c_float * total)()
        check(cuda.cuMemcpyDtoH_v2(out, dptr, total * 4), "cuMemcpyDtoH")
        cuda.cuMemFree_v2(dptr)
        cuda.cuModuleUnload(module)
        ok = all(out[i] == (i + 1.0 if i < n else float(i)) for i in range(total))
        failures += not ok
        print(f"{path}: {'ok' if ok else 'WRONG RESULT'}")
    return failures


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(1 if main(sys.argv[1:]) else 0)
