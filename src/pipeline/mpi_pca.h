// PCA of a matrix whose rows are spread over the ranks of an MPI job, without gathering them:
// a randomized range finder (Halko, Martinsson & Tropp 2011) in which every product with the data
// is a local product followed by an all-reduce of a small matrix (d x l or l x l, l = components +
// oversampling), and orthonormalisation by SVQB (Stathopoulos & Wu 2002) on the l x l Gram matrix,
// which copes with rank-deficient samples. Each rank gets the projection of its own rows; only
// those 50-wide rows travel to rank 0. Written here because no Debian library does a distributed
// PCA (ScaLAPACK's PDGESVD needs a block-cyclic copy of the whole matrix, 270 KB per photo).
#pragma once

#include <cstdint>

#include "core/matrix.h"

namespace photoatlas::pipeline {

struct DistributedPcaOptions {
  int components = 50;       // as embed::PcaOptions; clipped to min(total rows, cols)
  int oversampling = 10;     // extra sample directions
  // Passes of XᵀX. 4, not embed::pca's 2: raw pixels have a slowly decaying spectrum, and with 2 the
  // tenth component of 60 intel_scenes photos moved one photo to another cluster (adjusted Rand
  // 0.96 against the exact solver); each pass is one all-reduce of a d x l matrix.
  int power_iterations = 4;
  // Then more passes, up to this many, until every top Ritz value moves by less than
  // ritz_tolerance of itself between passes (K-Means on 60 photos' signed-sqrt CNN features at
  // --pca 10 moved photos between clusters after 4 passes: adjusted Rand 0.78 against the exact solver).
  int max_power_iterations = 40;
  double ritz_tolerance = 1e-7;
  std::uint64_t seed = 0;    // the random test matrix, the same on every rank
};

struct DistributedPcaResult {
  FloatMatrix projected;         // this rank's rows x components: centred rows times the components
  double variance_kept = 0.0;    // fraction of the total variance of all ranks' rows the components keep
};

// Collective over MPI_COMM_WORLD: every rank calls it with its own rows (possibly none), the same
// number of columns and the same options. Signs follow embed::pca (largest |loading| positive).
// Throws std::runtime_error when the build has no MPI.
DistributedPcaResult distributed_pca(const FloatMatrix& local_rows, const DistributedPcaOptions& options);

}  // namespace photoatlas::pipeline
