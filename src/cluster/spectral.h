// Spectral clustering (Ng, Jordan & Weiss 2001; von Luxburg 2007): K-Means on the leading
// eigenvectors of the normalised k-nearest-neighbour graph of the points instead of on the
// points themselves. Groups that are connected chains of similar photos (a motif seen from many
// angles, a scene type with many variants) are found whole even when they are not round blobs,
// which is what K-Means on the features assumes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cluster/kmeans.h"
#include "core/matrix.h"
#include "core/progress.h"

namespace photoatlas::cluster {

struct SpectralOptions {
  int k = 10;                // clusters (and eigenvectors of the embedding)
  // Graph neighbours per point, the point itself counted (scikit-learn's n_neighbors, default 10):
  // each point is joined to its neighbours - 1 nearest others; the graph is symmetrised as
  // W = (A + Aᵀ) / 2 (weight 1 both ways, 1/2 one way).
  int neighbours = 10;
  // Graph regularisation tau as a fraction of the mean degree: degrees d + tau and a weak tau / N
  // edge between every pair (Zhang & Rohe 2018), so islands of a few near-identical photos do not
  // take eigenvectors of their own. 0.25: the same NMI as none on connected graphs (intel_scenes,
  // imagenet_sample: 0.567 vs 0.567, 0.219 vs 0.221), 1.0 starts to blur (0.561, 0.213).
  double regularisation = 0.25;
  int restarts = 10;         // K-Means restarts on the embedding
  std::uint64_t seed = 0;    // K-Means seeding (the eigensolver's start vector is fixed)
  int num_threads = 0;       // 0 = all cores
};

struct SpectralResult {
  std::vector<int> labels;             // per point, in [0, k); largest cluster first (as kmeans())
  int k = 0;
  FloatMatrix embedding;               // N x (k + 1): the rows K-Means clustered (unit length)
  std::vector<double> eigenvalues;     // of the regularised S (see below), descending, the trivial 1 first (k + 1)
  std::size_t components = 0;          // connected components of the k-NN graph (before regularisation)
  std::vector<std::size_t> sizes;      // points per cluster
};

// The embedding: the k + 1 leading eigenvectors of S = D_tau^-1/2 (W + tau/N 11ᵀ) D_tau^-1/2
// (descending eigenvalue, the trivial 1 included), each row divided by sqrt(degree + tau) (the random-walk eigenvectors, as
// scikit-learn's spectral_embedding) and scaled to unit length (Ng-Jordan-Weiss); then K-Means.
// Eigenvectors by implicitly restarted Lanczos (Spectra, on the sparse S; dense for a few hundred
// points). Deterministic for a given seed and thread count. Fewer than k + 2 points: each point
// (up to k) its own cluster. Throws std::invalid_argument for k < 1, neighbours < 2 or
// restarts < 1; std::runtime_error when the eigensolver fails.
SpectralResult spectral_clustering(const FloatMatrix& data, const SpectralOptions& options,
                                   const ProgressCallback& progress = {});

}  // namespace photoatlas::cluster
