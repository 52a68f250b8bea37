#!/usr/bin/env python3
"""PyTorch peer of the XlmEdge benchmark, run by the benchmark console as a child process.

Runs xlm_torch.XlmTorch (eager PyTorch, next to this file) on the same checkpoint and the same
input ids as the other engines, on CPU under torch.inference_mode with the same thread count.
Modes:
  sweep  --cases CASES.json --out PREFIX   timings + outputs in the layout of EngineResult.cs
  cold   --ids 0,17,5,1                     load and run once (the parent times the process)
  info                                      versions, the BLAS library torch loaded, install size
Every mode but info needs --ckpt.
"""
import argparse
import json
import os
import sys
import time


def peak_rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def mapped_libraries(pattern=None):
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and ".so" in parts[5]:
                path = os.path.realpath(parts[5])
                if pattern is None or any(p in os.path.basename(path).lower() for p in pattern):
                    libs.add(path)
    return sorted(libs)


def setup(args):
    import torch
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import xlm_torch
    return torch, xlm_torch


def fill_mask(torch, model, ids, langs, am, mask_pos):
    rows = model.logits(ids, langs, am)[:, mask_pos, :]
    probs = torch.softmax(rows, dim=-1)
    top_p, top_ids = probs.topk(5, dim=-1)
    return rows, top_ids, top_p


def sweep(args):
    torch, xlm_torch = setup(args)
    t0 = time.perf_counter()
    model = xlm_torch.XlmTorch(args.ckpt)
    load_ms = (time.perf_counter() - t0) * 1e3
    with open(args.cases) as f:
        cases = json.load(f)
    out_cases = []
    rows_file = open(args.out + ".rows.bin", "wb")
    hidden_file = open(args.out + ".hidden.bin", "wb")
    with torch.inference_mode():
        for c in cases:
            ids = torch.tensor(c["ids"], dtype=torch.int64)
            langs = torch.full_like(ids, c["language_id"])
            am = torch.ones_like(ids)
            pos = c["mask_position"]
            if c["kind"] == "fill-mask":
                def call():
                    return fill_mask(torch, model, ids, langs, am, pos)
            else:
                def call():
                    return model.encode(ids, langs, am)
            for _ in range(c["warmup"]):
                call()
            times = []
            for _ in range(c["iterations"]):
                s = time.perf_counter()
                result = call()
                times.append((time.perf_counter() - s) * 1e3)
            entry = {"name": c["name"], "times_ms": times}
            if c["kind"] == "fill-mask":
                rows, top_ids, _ = result
                entry["top_ids"] = top_ids.tolist()
                entry["top_logits"] = rows.gather(1, top_ids).tolist()
                entry["has_rows"], entry["has_hidden"] = True, False
                rows_file.write(rows.contiguous().numpy().astype("<f4").tobytes())
            else:
                entry["has_rows"], entry["has_hidden"] = False, True
                hidden_file.write(result.contiguous().numpy().astype("<f4").tobytes())
            out_cases.append(entry)
            t = sorted(times)
            print("  %-12s %-24s median %9.2f ms  (n=%d)" % ("pytorch", c["name"], t[(len(t) - 1) // 2], len(t)),
                  file=sys.stderr, flush=True)
    rows_file.close()
    hidden_file.close()
    blas = ", ".join(mapped_libraries(("blas", "mkl"))) or "none found"
    result = {"engine": "pytorch", "runtime": "torch %s (BLAS %s)" % (torch.__version__, blas),
              "threads": args.threads, "load_ms": load_ms, "peak_rss_kb": peak_rss_kb(), "cases": out_cases}
    with open(args.out + ".json", "w") as f:
        json.dump(result, f, indent=1)


def cold(args):
    torch, xlm_torch = setup(args)
    model = xlm_torch.XlmTorch(args.ckpt)
    ids = torch.tensor([[int(x) for x in args.ids.split(",")]])
    pos = ids[0].tolist().index(5)
    with torch.inference_mode():
        _, top_ids, _ = fill_mask(torch, model, ids, torch.zeros_like(ids), torch.ones_like(ids), pos)
    print(json.dumps({"top1": int(top_ids[0, 0]), "peak_rss_kb": peak_rss_kb()}))


def info(args):
    torch, _ = setup(args)
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))  # loads the BLAS library
    torch_dir = os.path.dirname(torch.__file__)
    package_bytes = 0
    for root, _, files in os.walk(torch_dir):
        for fn in files:
            p = os.path.join(root, fn)
            if not os.path.islink(p):
                package_bytes += os.path.getsize(p)
    libs = mapped_libraries()
    print(json.dumps({
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "config": torch.__config__.show(),
        "blas": mapped_libraries(("blas", "mkl")),
        "package_bytes": package_bytes,
        "mapped_library_bytes": sum(os.path.getsize(p) for p in libs),
        "mapped_library_count": len(libs),
    }))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["sweep", "cold", "info"])
    ap.add_argument("--ckpt")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--cases")
    ap.add_argument("--out")
    ap.add_argument("--ids")
    args = ap.parse_args()
    {"sweep": sweep, "cold": cold, "info": info}[args.mode](args)


if __name__ == "__main__":
    main()
