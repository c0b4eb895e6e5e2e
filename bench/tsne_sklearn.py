#!/usr/bin/python3
"""scikit-learn's TSNE with settings matched to photoatlas' defaults (the peer of bench_tsne).

usage: /usr/bin/python3 bench/tsne_sklearn.py DATA OUT THREADS
Run with Debian's python3 (python3-sklearn). DATA/OUT: uint64 rows, uint64 cols, float32 values.
Matching: perplexity 30, 1000 iterations, early exaggeration 12 for 250 iterations (sklearn's fixed
exploration phase), momentum 0.5 -> 0.8, PCA initialisation scaled to std 1e-4 (sklearn's 'pca'
init does that), Barnes-Hut (angle 0.5) gradient, early stopping off. Learning rate: photoatlas
(like openTSNE) applies its rate to 1/4 of dKL/dy; sklearn applies it to the full gradient, so
the matched rate is ours / 4 = max(N / 12, 50) / 4 (sklearn's own 'auto' is N / 12 / 4 with a
floor of 50 on its own scale, which differs only below N = 2400). Wider data is reduced by PCA
to 50 dimensions first, as photoatlas does.
"""
import sys

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE


def read(path):
    with open(path, "rb") as f:
        rows, cols = np.frombuffer(f.read(16), dtype=np.uint64)
        return np.frombuffer(f.read(), dtype=np.float32).reshape(int(rows), int(cols))


def write(path, m):
    m = np.ascontiguousarray(m, dtype=np.float32)
    with open(path, "wb") as f:
        f.write(np.array(m.shape, dtype=np.uint64).tobytes())
        f.write(m.tobytes())


def main():
    data, out, threads = read(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    if data.shape[1] > 50:
        data = PCA(n_components=50, random_state=0).fit_transform(data).astype(np.float32)
    n = data.shape[0]
    learning_rate = max(n / 12.0, 50.0) / 4.0
    tsne = TSNE(n_components=2, perplexity=30.0, early_exaggeration=12.0, learning_rate=learning_rate,
                n_iter=1000, n_iter_without_progress=100000, min_grad_norm=0.0, init="pca",
                method="barnes_hut", angle=0.5, n_jobs=threads, random_state=0)
    write(out, tsne.fit_transform(data.astype(np.float64)))
    # Peak resident memory (VmHWM is reset by exec, unlike rusage's maxrss).
    with open("/proc/self/status") as f:
        peak = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024.0
    print(f'{{"peak_mb": {peak:.1f}}}')


if __name__ == "__main__":
    main()
