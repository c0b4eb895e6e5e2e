#!/usr/bin/python3
"""scikit-learn's KMeans with settings matched to photoatlas' (the peer of bench_kmeans).

usage: /usr/bin/python3 bench/kmeans_sklearn.py DATA LABELS CENTROIDS K RESTARTS MAX_ITER TOL THREADS
Run with Debian's python3 (python3-sklearn 1.2). DATA: uint64 rows, uint64 cols, float32 values;
the data stay float32 (sklearn then computes in float32, as photoatlas' distances do).
algorithm="lloyd", init="k-means++" (sklearn's greedy variant, 2 + ln k trials, as ours),
n_init = RESTARTS, max_iter = MAX_ITER. tol differs in meaning: sklearn stops when the squared
centre shift summed over clusters falls below tol * mean per-feature variance; photoatlas stops when
the relative inertia change falls below tol. Both also stop as soon as no label changes.
Threads: sklearn's OpenMP loop over 256-row chunks with single-threaded BLAS inside (its default
when OMP_NUM_THREADS = THREADS). Timed: fit() only (not the import or the file read).
"""
import json
import sys
import time

import numpy as np
from sklearn.cluster import KMeans


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
    data = np.ascontiguousarray(read(sys.argv[1]))
    k, restarts, max_iter, tol = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
    model = KMeans(n_clusters=k, init="k-means++", n_init=restarts, max_iter=max_iter, tol=tol, algorithm="lloyd",
                   random_state=0)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    model.fit(data)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    write(sys.argv[2], model.labels_.reshape(-1, 1))
    write(sys.argv[3], model.cluster_centers_)
    print(json.dumps({"fit_wall_s": wall, "fit_cpu_s": cpu, "inertia": float(model.inertia_),
                      "iterations": int(model.n_iter_)}))


if __name__ == "__main__":
    main()
