#!/usr/bin/env python3
"""Lines up tilefuse-bench's results beside the peers of anchors_gpu.py, measured in the same run.

usage: join.py OURS.json ANCHORS.jsonl      (tilefuse-bench --json, anchors_gpu.py's $OUT/anchors.jsonl)
       join.py --self-test

Every ratio is a speed ratio, tilefuse over the peer: > 1 means tilefuse is faster
(rate / rate, or the peer's ms / tilefuse's ms). "% floor" is the share of the floor reached:
FLOPs at the measured cuBLAS fp16 8192^3 rate for the compute-bound kernels, bytes at the measured
device-to-device copy rate for the memory-bound ones (100% = at the floor).
Only the standard library is used."""
import json, sys

FLASH_PEERS = ["torch-flash", "cudnn", "triton", "mem-efficient"]


def load_anchors(lines):
    rows = []
    for line in lines:
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass
    return rows


def fmt(v, digits=1):
    return "-" if v is None else f"{v:.{digits}f}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def table(header, rows, left=3):
    """Fixed-width text: the first `left` columns and the last one left-aligned, numbers right-aligned."""
    cells = [[str(c) for c in r] for r in rows]
    width = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
    last = len(header) - 1
    def line(cols):
        return "  ".join(c.ljust(w) if i < left or i == last else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cols, width))).rstrip()
    out = [line(header), "-" * (sum(width) + 2 * last)]
    out += [line(r) for r in cells]
    return "\n".join(out)


def err_note(row):
    e = row.get("error")
    if e:
        return "ERROR: " + (e if len(e) <= 110 else e[:109] + "…")
    return row.get("check", "")


def join(ours, anchors):
    """Returns the report text."""
    rows = ours.get("rows", [])
    find = lambda **kw: [a for a in anchors if all(a.get(k) == v for k, v in kw.items())]
    ceil = {a.get("what", ""): a for a in find(section="ceiling")}
    cublas16 = next((a["tflops"] for w, a in ceil.items() if w.endswith("torch.float16") and "tflops" in a), None)
    cublas_bf16 = next((a["tflops"] for w, a in ceil.items() if w.endswith("torch.bfloat16") and "tflops" in a), None)
    copy_peer = next((a["gbps"] for w, a in ceil.items() if "copy" in w and "gbps" in a), None)
    copy_ours = ours.get("copy_gbps")
    env = next(iter(find(section="env")), {})
    out = []
    out.append(f"tilefuse-bench on {ours.get('device', '?')}; anchors on {env.get('gpu', '?')} "
               f"(torch {env.get('torch', '?')})")
    out.append(f"ceilings: cuBLAS 8192^3 fp16 {fmt(cublas16)} / bf16 {fmt(cublas_bf16)} TFLOP/s; "
               f"d2d copy {fmt(copy_peer, 0)} GB/s (anchors), {fmt(copy_ours, 0)} GB/s (tilefuse-bench); "
               f"sync gap in tilefuse times {fmt(1e3 * ours['sync_gap_ms'] if 'sync_gap_ms' in ours else None)} us")
    out.append("ratios: tilefuse speed / peer speed (>1 = tilefuse faster); % floor: FLOPs at cuBLAS fp16 "
               "or bytes at the d2d copy rate")
    copy_ref = copy_peer or copy_ours

    sec = [r for r in rows if r.get("section") == "basic"]
    if sec:
        out.append("\n## memory-bound kernels")
        body = []
        for r in sec:
            body.append([r["kernel"], r["shape"], r.get("dtype", ""), fmt(r.get("ms"), 4), fmt(r.get("gbps"), 0),
                         fmt(100 * ratio(r.get("gbps"), copy_ref) if ratio(r.get("gbps"), copy_ref) else None),
                         err_note(r)])
        out.append(table(["kernel", "shape", "dtype", "ms", "GB/s", "% floor", "check / error"], body))

    sec = [r for r in rows if r.get("section") == "matmul"]
    if sec:
        out.append("\n## matmul (cuBLAS measured at 8192^3)")
        body = []
        for r in sec:
            tf = r.get("tflops")
            body.append([r["kernel"], r["shape"], r.get("dtype", ""), fmt(r.get("ms"), 4), fmt(tf),
                         fmt(cublas16), fmt(ratio(tf, cublas16), 2), fmt(ratio(tf, cublas_bf16), 2),
                         fmt(100 * ratio(tf, cublas16) if ratio(tf, cublas16) else None), err_note(r)])
        out.append(table(["kernel", "shape", "dtype", "ms", "TFLOP/s", "cuBLAS fp16", "x cuBLAS16", "x cuBLAS-bf16",
                          "% floor", "error"], body))

    sec = [r for r in rows if r.get("section") == "flash_fwd"]
    if sec:
        out.append("\n## FlashAttention forward, fp16, TFLOP/s (16k tokens: B = 16384/N, H = 2048/D)")
        body = []
        for r in sec:
            peers = {}
            for name in FLASH_PEERS:
                m = find(section="flash_fwd", impl=name, D=r.get("D"), N=r.get("N"), causal=r.get("causal"))
                peers[name] = next((a.get("tflops") for a in m if "tflops" in a), None)
            tf = r.get("tflops")
            body.append([str(r.get("D")), str(r.get("N")), "causal" if r.get("causal") else "-", fmt(tf)]
                        + [fmt(peers[n]) for n in FLASH_PEERS]
                        + [fmt(ratio(tf, peers["torch-flash"]), 2), fmt(ratio(tf, peers["cudnn"]), 2),
                           fmt(ratio(tf, peers["triton"]), 2),
                           fmt(100 * ratio(tf, cublas16) if ratio(tf, cublas16) else None), err_note(r)])
        out.append(table(["D", "N", "mask", "tilefuse", "FA2", "cuDNN", "Triton", "mem-eff", "x FA2", "x cuDNN",
                          "x Triton", "% floor", "error"], body))

    sec = [r for r in rows if r.get("section") == "decode"]
    if sec:
        out.append("\n## decode attention, fp16, GQA (ms; GB/s of KV read)")
        body = []
        for r in sec:
            m = find(section="decode", impl="torch-sdpa", L=r.get("L"), B=r.get("B"), D=r.get("D"))
            peer = next((a for a in m if "ms" in a), {})
            body.append([str(r.get("L")), fmt(r.get("ms"), 4), fmt(r.get("gbps"), 0), fmt(peer.get("ms"), 4),
                         fmt(peer.get("gbps"), 0), fmt(ratio(peer.get("ms"), r.get("ms")), 2),
                         fmt(100 * ratio(r.get("gbps"), copy_ref) if ratio(r.get("gbps"), copy_ref) else None),
                         err_note(r)])
        out.append(table(["L", "tilefuse ms", "GB/s", "SDPA ms", "SDPA GB/s", "x SDPA", "% floor", "error"], body,
                         left=1))

    sec = [r for r in rows if r.get("section") == "tssa"]
    if sec:
        out.append("\n## TSSA forward, fp16 (ms)")
        body = []
        for r in sec:
            key = dict(section="tssa", b=r.get("b"), h=r.get("h"), n=r.get("n"), d=r.get("d"))
            eager = next((a.get("ms") for a in find(impl="eager", **key) if "ms" in a), None)
            comp = next((a.get("ms") for a in find(impl="torch.compile", **key) if "ms" in a), None)
            body.append([str(r.get("n")), fmt(r.get("ms"), 4), fmt(eager, 4), fmt(comp, 4),
                         fmt(ratio(eager, r.get("ms")), 2), fmt(ratio(comp, r.get("ms")), 2),
                         fmt(100 * ratio(r.get("gbps"), copy_ref) if ratio(r.get("gbps"), copy_ref) else None),
                         err_note(r)])
        out.append(table(["n", "tilefuse ms", "eager ms", "compile ms", "x eager", "x compile", "% floor", "error"],
                         body, left=1))
    errs = [a for a in anchors if "error" in a]
    if errs:
        out.append("\nanchor errors: " + "; ".join(f"{a.get('section')}/{a.get('impl', '')}: {a['error'][:120]}"
                                                   for a in errs))
    return "\n".join(out) + "\n"


def self_test():
    ours = {"device": "GPU", "copy_gbps": 2900.0, "sync_gap_ms": 0.008, "rows": [
        {"section": "basic", "kernel": "vector_add", "shape": "n=8", "dtype": "f32", "ms": 1.0, "gbps": 1450.0,
         "check": "ok (2 sampled)"},
        {"section": "matmul", "kernel": "matmul", "shape": "8192x8192x8192", "dtype": "f16",
         "error": "cannot launch kernel `matmul`: no prebuilt PTX"},
        {"section": "flash_fwd", "kernel": "attention::flash", "shape": "x", "D": 128, "N": 16384, "causal": False,
         "ms": 1.0, "tflops": 341.0},
        {"section": "decode", "kernel": "decode::attention", "shape": "x", "B": 32, "D": 128, "L": 4096, "ms": 0.5,
         "gbps": 1000.0},
        {"section": "tssa", "kernel": "tssa::forward", "shape": "x", "b": 8, "h": 12, "n": 4096, "d": 64,
         "ms": 0.1, "gbps": 100.0}]}
    anchors = load_anchors([
        '{"section": "env", "gpu": "H100", "torch": "2.11"}',
        '{"section": "ceiling", "what": "matmul 8192^3 torch.bfloat16", "tflops": 750.0}',
        '{"section": "ceiling", "what": "matmul 8192^3 torch.float16", "tflops": 682.0}',
        '{"section": "ceiling", "what": "d2d copy 2GiB", "gbps": 2900.0}',
        '{"section": "flash_fwd", "impl": "torch-flash", "D": 128, "N": 16384, "B": 1, "H": 16, "causal": false, "ms": 2, "tflops": 341.0}',
        '{"section": "flash_fwd", "impl": "cudnn", "D": 128, "N": 16384, "B": 1, "H": 16, "causal": false, "ms": 1, "tflops": 682.0}',
        '{"section": "flash_fwd", "impl": "triton", "D": 128, "N": 16384, "causal": false, "error": "boom"}',
        '{"section": "flash_fwd", "impl": "cudnn", "D": 128, "N": 16384, "causal": true, "tflops": 1.0}',
        '{"section": "decode", "impl": "torch-sdpa", "B": 32, "Hq": 32, "Hkv": 8, "D": 128, "L": 4096, "ms": 1.0, "gbps": 500.0}',
        '{"section": "tssa", "impl": "eager", "b": 8, "h": 12, "n": 4096, "d": 64, "ms": 0.4}',
        '{"section": "tssa", "impl": "torch.compile", "b": 8, "h": 12, "n": 4096, "d": 64, "ms": 0.2}',
        'not json', '# flash_fwd: 1.0s'])
    text = join(ours, anchors)
    lines = text.splitlines()
    flash = next(l for l in lines if l.startswith("128 "))
    cols = flash.split()
    # D N mask tilefuse FA2 cuDNN Triton mem-eff xFA2 xcuDNN xTriton %floor
    assert cols[:12] == ["128", "16384", "-", "341.0", "341.0", "682.0", "-", "-", "1.00", "0.50", "-", "50.0"], cols
    va = next(l for l in lines if l.startswith("vector_add"))
    assert "50.0" in va and va.endswith("ok (2 sampled)"), va
    mm = next(l for l in lines if l.startswith("matmul "))
    assert "ERROR: cannot launch kernel `matmul`" in mm, mm
    dec = next(l for l in lines if l.startswith("4096 ") and "1000" in l)
    assert dec.split()[5] == "2.00", dec  # SDPA 1 ms vs 0.5 ms
    ts = next(l for l in lines if l.startswith("4096 ") and "0.4000" in l)
    assert ts.split()[4:6] == ["4.00", "2.00"], ts
    assert "anchor errors: flash_fwd/triton: boom" in text
    print(text)
    print("self-test ok")


def main(argv):
    if argv[1:] == ["--self-test"]:
        self_test()
        return 0
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as fh:
        ours = json.load(fh)
    try:
        with open(argv[2]) as fh:
            anchors = load_anchors(fh)
    except OSError as ex:
        print(f"# no anchors ({ex}); tilefuse numbers only", file=sys.stderr)
        anchors = []
    sys.stdout.write(join(ours, anchors))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
