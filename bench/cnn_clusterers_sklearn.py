#!/usr/bin/python3
"""Other clusterers on the default CNN features, for comparison with K-Means (scikit-learn, Debian's
python3-sklearn): the features are read from a bench_cnn_quality cache file, assembled as the
default (mixed6 and mixed7 quadrants, each signed sqrt + L2, concatenated, L2), reduced to PCA-50 as
in the pipeline, then clustered by K-Means, Ward, a full-covariance Gaussian mixture and spectral
clustering on the k-NN graph; NMI against the labels, mean over seeds.

usage: bench/cnn_clusterers_sklearn.py CACHE.bin LABELS.csv K
  CACHE.bin: written by bench_cnn_quality --cache; LABELS.csv: path,...,label (the label last).
"""
import csv
import struct
import sys

import numpy as np
from sklearn.cluster import AgglomerativeClustering, KMeans, SpectralClustering
from sklearn.decomposition import PCA
from sklearn.metrics import normalized_mutual_info_score as nmi
from sklearn.mixture import GaussianMixture


def read_cache(path, wanted):
    with open(path, "rb") as f:
        u64 = lambda: struct.unpack("<Q", f.read(8))[0]
        paths = [f.read(u64()).decode() for _ in range(u64())]
        sets = {}
        for _ in range(u64()):
            name = f.read(u64()).decode()
            rows, cols = u64(), u64()
            if name in wanted:
                sets[name] = np.frombuffer(f.read(rows * cols * 4), dtype=np.float32).reshape(rows, cols)
            else:
                f.seek(rows * cols * 4, 1)
    return paths, sets


def sqrt_l2(m):
    m = np.sign(m) * np.sqrt(np.abs(m))
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def main():
    cache, labels_csv, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
    paths, sets = read_cache(cache, {"mixed6:spp", "mixed7:spp"})
    with open(labels_csv) as f:
        label_of = {row[0].split("/")[-1]: row[-1] for row in csv.reader(f)}
    y = [label_of[p.split("/")[-1]] for p in paths]
    x = np.hstack([sqrt_l2(sets["mixed6:spp"]), sqrt_l2(sets["mixed7:spp"])])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    z = PCA(50, random_state=0).fit_transform(x)
    seeds = range(5)
    mean = lambda f: np.mean([f(s) for s in seeds])
    print(f"K-Means (10 restarts)      {mean(lambda s: nmi(y, KMeans(k, n_init=10, random_state=s).fit_predict(z))):.3f}")
    print(f"Ward                       {nmi(y, AgglomerativeClustering(k).fit_predict(z)):.3f}")
    print(f"Gaussian mixture (full)    {mean(lambda s: nmi(y, GaussianMixture(k, covariance_type='full', random_state=s).fit(z).predict(z))):.3f}")
    for neighbours in (5, 10, 15, 20, 30):
        spectral = lambda s: nmi(y, SpectralClustering(k, affinity="nearest_neighbors", n_neighbors=neighbours,
                                                       random_state=s).fit_predict(z))
        print(f"spectral, {neighbours:2d}-NN graph      {mean(spectral):.3f}")


main()
