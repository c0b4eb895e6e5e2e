#!/usr/bin/python3
"""photoatlas t-SNE vs scikit-learn's TSNE, measured in the same run; writes bench/results/tsne.md.

usage: /usr/bin/python3 bench/tsne_bench.py [--build DIR] [--sizes 5000,20000,100000] [--big]
                                            [--peer-max N] [--timeout S] [--threads T]
  --big        also the 1M-point mixture (ours only)
  --peer-max   run scikit-learn only up to this N (default 20000: beyond, Barnes-Hut on 2 cores
               takes far too long)
Data (fixed seeds): 10-cluster Gaussian mixtures in 50-D; the study's scale, 526 x 4096 clustered
data (PCA to 50 inside the timed run, for both); MNIST test digits (784-D) from
../shared/datasets/mnist10k when present. Quality figures come from `bench_tsne eval`, which
computes one P per dataset and evaluates every embedding against it: KL divergence (exact Z up
to 20k points, sampled beyond), 10-NN preservation and 10-NN label accuracy in 2-D.
CPU seconds are the child process' rusage (wait4): user + system; peak memory is the child's
VmHWM (reported by the child itself: rusage's maxrss would include the forking driver's memory).
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write(path, m):
    m = np.ascontiguousarray(m, dtype=np.float32)
    with open(path, "wb") as f:
        f.write(np.array(m.shape, dtype=np.uint64).tobytes())
        f.write(m.tobytes())


def mixture(n, seed=42, dims=50, clusters=10):
    rng = np.random.RandomState(seed)
    centres = rng.normal(0.0, 3.0, size=(clusters, dims))
    labels = rng.randint(0, clusters, size=n)
    x = centres[labels] + rng.normal(0.0, 1.0, size=(n, dims))
    return x.astype(np.float32), labels


def study(seed=7, n=526, dims=4096, clusters=8):
    """Random-ish clustered data of the study's shape: cluster means plus a shared low-rank
    'photo statistics' part plus pixel noise, in a 0..1 pixel range."""
    rng = np.random.RandomState(seed)
    basis = rng.normal(0.0, 1.0, size=(20, dims))
    centres = rng.normal(0.0, 1.0, size=(clusters, 20)) * 2.0
    labels = rng.randint(0, clusters, size=n)
    latent = centres[labels] + rng.normal(0.0, 1.0, size=(n, 20))
    x = 0.5 + 0.05 * (latent @ basis) + 0.1 * rng.normal(0.0, 1.0, size=(n, dims))
    return x.astype(np.float32), labels


def mnist():
    d = os.path.join(ROOT, "..", "shared", "datasets", "mnist10k")
    images, labels = os.path.join(d, "t10k-images-idx3-ubyte.gz"), os.path.join(d, "t10k-labels-idx1-ubyte.gz")
    if not (os.path.exists(images) and os.path.exists(labels)):
        return None
    with gzip.open(images) as f:
        raw = f.read()
    n = int.from_bytes(raw[4:8], "big")
    x = np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, 784).astype(np.float32) / 255.0
    with gzip.open(labels) as f:
        y = np.frombuffer(f.read()[8:], dtype=np.uint8).astype(np.int64)
    return x, y


def measured(cmd, timeout, env=None):
    """Runs cmd; returns (ok, wall s, cpu s, maxrss MB, stdout)."""
    start = time.time()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.time() - start > timeout:
                proc.kill()
                os.wait4(proc.pid, 0)
                return False, time.time() - start, float("nan"), float("nan"), "timeout"
            time.sleep(0.05)
        wall = time.time() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    ok = proc.returncode == 0
    if not ok:
        sys.stderr.write(text[-2000:])
    return ok, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, text


def median_of(repeat, run):
    """Runs `run` (returning measured()'s tuple) `repeat` times; the run with the median CPU time."""
    results = [run() for _ in range(max(1, repeat))]
    done = sorted((r for r in results if r[0]), key=lambda r: r[2])
    return done[len(done) // 2] if done else results[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build-tsne"))
    ap.add_argument("--sizes", default="5000,20000,100000")
    ap.add_argument("--big", action="store_true")
    ap.add_argument("--peer-max", type=int, default=20000)
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="")
    ap.add_argument("--repeat", type=int, default=1, help="runs per engine and data set; the median CPU time is reported")
    args = ap.parse_args()
    binary = os.path.join(args.build, "bench", "bench_tsne")
    if not os.path.exists(binary):
        sys.exit(f"tsne_bench: {binary} not built (cmake --build {args.build} --target bench_tsne)")
    tmp = tempfile.mkdtemp(prefix="tsne_bench_")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS="1")

    # Generated one at a time (the driver's own memory would otherwise inflate nothing but itself).
    datasets = [("study 526x4096", study)]
    for n in [int(s) for s in args.sizes.split(",") if s]:
        datasets.append((f"mixture {n // 1000}k x 50", lambda n=n: mixture(n)))
    datasets.append(("MNIST 10k x 784", mnist))
    if args.big:
        datasets.append(("mixture 1M x 50", lambda: mixture(1_000_000)))
    if args.only:
        datasets = [d for d in datasets if args.only in d[0]]

    have_peer = subprocess.run(["/usr/bin/python3", "-c", "import sklearn"], capture_output=True).returncode == 0
    if not have_peer:
        print("tsne_bench: scikit-learn peer skipped (apt-get install python3-sklearn)")
    rows = []
    for name, make in datasets:
        made = make()
        if made is None:
            print("tsne_bench: MNIST skipped (../shared/datasets/mnist10k absent)")
            continue
        x, labels = made
        n = x.shape[0]
        data, lab = os.path.join(tmp, "data.bin"), os.path.join(tmp, "labels.bin")
        write(data, x)
        write(lab, labels.reshape(-1, 1))
        del x, made
        results = {}
        ours = os.path.join(tmp, "ours.bin")
        ok, wall, cpu, rss, text = median_of(args.repeat, lambda: measured(
            [binary, "run", data, ours, "--threads", str(args.threads)], args.timeout, env))
        info = json.loads(text.strip().splitlines()[-1]) if ok else {}
        rss = info.get("peak_mb", rss)
        results["photoatlas"] = dict(ok=ok, wall=wall, cpu=cpu, rss=rss, info=info, path=ours)
        print(f"{name}: photoatlas {wall:.2f} s wall, {cpu:.2f} s CPU, {rss:.0f} MB  {info}", flush=True)
        if have_peer and n <= args.peer_max:
            peer = os.path.join(tmp, "sklearn.bin")
            ok, wall, cpu, rss, text = median_of(args.repeat, lambda: measured(
                ["/usr/bin/python3", os.path.join(ROOT, "bench", "tsne_sklearn.py"), data, peer, str(args.threads)],
                args.timeout, env))
            if ok:
                rss = json.loads(text.strip().splitlines()[-1]).get("peak_mb", rss)
            results["scikit-learn"] = dict(ok=ok, wall=wall, cpu=cpu, rss=rss, path=peer)
            print(f"{name}: scikit-learn {wall:.2f} s wall, {cpu:.2f} s CPU, {rss:.0f} MB ({'ok' if ok else text})", flush=True)
        paths = [r["path"] for r in results.values() if r["ok"]]
        ok, _, _, _, text = measured([binary, "eval", data, lab, *paths], args.timeout, env)
        if ok:
            for line in text.strip().splitlines():
                if line.startswith("{"):
                    q = json.loads(line)
                    for r in results.values():
                        if r["ok"] and r["path"] == q["embedding"]:
                            r.update(kl=q["kl"], pres=q["knn_preservation"], acc=q["knn_accuracy"])
        for impl, r in results.items():
            if r["ok"] and r.get("kl", 0) < 0 and "kl_internal" in r.get("info", {}):
                r["kl"] = r["info"]["kl_internal"]  # beyond 200k: the run's own KL (same P, Z interpolated)
            rows.append((name, n, impl, r))
            print(f"  {impl}: KL {r.get('kl', float('nan')):.4f}  10-NN preservation {r.get('pres', float('nan')):.3f}"
                  f"  10-NN accuracy {r.get('acc', float('nan')):.3f}", flush=True)

    lines = ["# t-SNE: photoatlas vs scikit-learn", "",
             f"Machine: {os.cpu_count()} cores ({open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()}), "
             f"{args.threads} threads each. Settings matched: perplexity 30, 1000 iterations, exaggeration 12 for 250, "
             "learning rate N/12 on the ¼-gradient scale (sklearn: N/48 on its full-gradient scale), PCA init, "
             "no early stopping; sklearn = Barnes-Hut (angle 0.5), Debian python3-sklearn. KL, 10-NN preservation and "
             "10-NN label accuracy (2-D) are computed by bench_tsne eval from the same P for both embeddings "
             "(Z exact up to 20k points, from 4000 sampled rows beyond; neighbourhood figures on up to 10000 sampled "
             "points). CPU = user + system seconds of the whole process (data loading, PCA when the input is wider "
             "than 50, affinities, optimisation); peak = the process' VmHWM. The machine is shared with other work: CPU seconds "
             f"are the primary figure. Each figure is the median of {args.repeat} run(s). Engines: iterations run by "
             "each gradient engine (exact pairs, plain FFT interpolation, split kernel, FIt-SNE).", "",
             "| data | N | engine | CPU s | wall s | peak MB | KL | 10-NN pres. | 10-NN acc. | CPU ratio (sklearn/ours) | KL diff |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    by_name = {}
    for name, n, impl, r in rows:
        by_name.setdefault(name, {})[impl] = r
    for name, n, impl, r in rows:
        ratio, kldiff = "", ""
        peer, ours = by_name[name].get("scikit-learn"), by_name[name].get("photoatlas")
        if impl == "photoatlas" and peer and peer["ok"] and r["ok"]:
            ratio = f"**{peer['cpu'] / r['cpu']:.1f}x** (wall {peer['wall'] / r['wall']:.1f}x)"
            if "kl" in r and "kl" in peer:
                kldiff = f"{100.0 * (r['kl'] - peer['kl']) / peer['kl']:+.2f}%"
        elif impl == "photoatlas" and not peer:
            ratio = "peer not run (too slow on 2 cores)"
        if not r["ok"]:
            lines.append(f"| {name} | {n} | {impl} | — | {r['wall']:.0f} (stopped) | — | — | — | — | timeout | |")
            continue
        fmt = lambda k, f: (f % r[k]) if k in r and r[k] >= 0 else "—"
        label = impl
        engines = r.get("info", {}).get("engines", "")
        if engines:  # iterations per gradient engine, e.g. "plain 309, split 691"
            label += " (" + ", ".join(e for e in engines.split(", ") if not e.endswith(" 0")) + ")"
        lines.append(f"| {name} | {n} | {label} | {r['cpu']:.2f} | {r['wall']:.2f} | {r['rss']:.0f} | {fmt('kl', '%.4f')} | "
                     f"{fmt('pres', '%.3f')} | {fmt('acc', '%.3f')} | {ratio} | {kldiff} |")
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    out = os.path.join(ROOT, "bench", "results", "tsne.md")
    if args.only and os.path.exists(out):
        out = os.path.join(ROOT, "bench", "results", f"tsne_{args.only.split()[0]}.md")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
