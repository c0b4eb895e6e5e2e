#include "embed/pca.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <vector>

#include "core/parallel.h"
#include "core/rng.h"

namespace photoatlas::embed {
namespace {

using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Eigen::MatrixXd;
using Eigen::MatrixXf;
using Eigen::VectorXd;

// All large products run on tiles of the centred data (kTileRows x kTileCols, 512 KiB of float):
// float GEMM inside a tile, where SIMD pays and no sum is longer than 512 terms, and double
// accumulation across tiles. Every output block is owned by one task and summed in a fixed
// order, so results do not depend on the thread count. The centred copy of the data never
// exists as a whole, only tile by tile.
constexpr std::size_t kTileRows = 256;
constexpr std::size_t kTileCols = 512;

// Eigenvalues below this fraction of the largest are float round-off in the Gram path:
// their directions carry no data and are replaced by an orthonormal completion.
constexpr double kNullRelative = 1e-6;

std::size_t tile_count(std::size_t n, std::size_t tile) { return (n + tile - 1) / tile; }

class CentredData {
 public:
  CentredData(const FloatMatrix& data, std::vector<double> mean) : data_(data), mean_(std::move(mean)) {}
  std::size_t rows() const { return data_.rows; }
  std::size_t cols() const { return data_.cols; }

  // out = data[r0:r0+nr, c0:c0+nc] - mean[c0:c0+nc].
  void tile(std::size_t r0, std::size_t nr, std::size_t c0, std::size_t nc, RowMatrixXf& out) const {
    out.resize(static_cast<Eigen::Index>(nr), static_cast<Eigen::Index>(nc));
    for (std::size_t i = 0; i < nr; ++i) {
      const float* src = data_.row(r0 + i) + c0;
      const double* mu = mean_.data() + c0;
      float* dst = out.data() + i * nc;
      for (std::size_t j = 0; j < nc; ++j) dst[j] = static_cast<float>(src[j] - mu[j]);
    }
  }

 private:
  const FloatMatrix& data_;
  std::vector<double> mean_;
};

struct Moments {
  std::vector<double> mean;
  double sum_squares = 0.0;  // sum of squared deviations from the mean over all entries
};

// Two passes (mean, then deviations) because one-pass variance cancels badly on raw pixels.
Moments column_moments(const FloatMatrix& data, int threads) {
  const std::size_t n = data.rows, d = data.cols;
  const std::size_t blocks = tile_count(d, kTileCols);
  Moments m;
  m.mean.assign(d, 0.0);
  std::vector<double> block_ss(blocks, 0.0);
  parallel_for_dynamic(blocks, threads, [&](std::size_t b) {
    const std::size_t c0 = b * kTileCols, c1 = std::min(d, c0 + kTileCols);
    double* mu = m.mean.data();
    // Per-column accumulators keep the inner loops free of a loop-carried sum, so they vectorise.
    std::vector<double> ss(c1 - c0, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      const float* row = data.row(i);
      for (std::size_t j = c0; j < c1; ++j) mu[j] += row[j];
    }
    for (std::size_t j = c0; j < c1; ++j) mu[j] /= static_cast<double>(n);
    for (std::size_t i = 0; i < n; ++i) {
      const float* row = data.row(i) + c0;
      const double* mub = mu + c0;
      for (std::size_t j = 0; j < c1 - c0; ++j) {
        const double dev = row[j] - mub[j];
        ss[j] += dev * dev;
      }
    }
    double total = 0.0;
    for (double v : ss) total += v;
    block_ss[b] = total;
  });
  for (double ss : block_ss) m.sum_squares += ss;
  return m;
}

// Xc * w, w is cols x l; result rows x l.
MatrixXd centred_times(const CentredData& x, const MatrixXd& w, int threads) {
  const std::size_t n = x.rows(), d = x.cols();
  const MatrixXf wf = w.cast<float>();
  MatrixXd out = MatrixXd::Zero(static_cast<Eigen::Index>(n), w.cols());
  parallel_for_dynamic(tile_count(n, kTileRows), threads, [&](std::size_t rb) {
    const std::size_t r0 = rb * kTileRows, nr = std::min(kTileRows, n - r0);
    RowMatrixXf tile;
    MatrixXf partial;
    for (std::size_t c0 = 0; c0 < d; c0 += kTileCols) {
      const std::size_t nc = std::min(kTileCols, d - c0);
      x.tile(r0, nr, c0, nc, tile);
      partial.noalias() = tile * wf.middleRows(static_cast<Eigen::Index>(c0), static_cast<Eigen::Index>(nc));
      out.middleRows(static_cast<Eigen::Index>(r0), static_cast<Eigen::Index>(nr)) += partial.cast<double>();
    }
  });
  return out;
}

// Xcᵀ * u, u is rows x l; result cols x l.
MatrixXd centred_transpose_times(const CentredData& x, const MatrixXd& u, int threads) {
  const std::size_t n = x.rows(), d = x.cols();
  const MatrixXf uf = u.cast<float>();
  MatrixXd out = MatrixXd::Zero(static_cast<Eigen::Index>(d), u.cols());
  parallel_for_dynamic(tile_count(d, kTileCols), threads, [&](std::size_t cb) {
    const std::size_t c0 = cb * kTileCols, nc = std::min(kTileCols, d - c0);
    RowMatrixXf tile;
    MatrixXf partial;
    for (std::size_t r0 = 0; r0 < n; r0 += kTileRows) {
      const std::size_t nr = std::min(kTileRows, n - r0);
      x.tile(r0, nr, c0, nc, tile);
      partial.noalias() =
          tile.transpose() * uf.middleRows(static_cast<Eigen::Index>(r0), static_cast<Eigen::Index>(nr));
      out.middleRows(static_cast<Eigen::Index>(c0), static_cast<Eigen::Index>(nc)) += partial.cast<double>();
    }
  });
  return out;
}

// Xc Xcᵀ (rows x rows) when `row_side`, else Xcᵀ Xc (cols x cols). One task per lower tile pair.
MatrixXd centred_gram(const CentredData& x, bool row_side, int threads) {
  const std::size_t m = row_side ? x.rows() : x.cols();      // output size
  const std::size_t inner = row_side ? x.cols() : x.rows();  // summed dimension
  const std::size_t out_tile = row_side ? kTileRows : kTileCols;
  const std::size_t inner_tile = row_side ? kTileCols : kTileRows;
  const std::size_t tiles = tile_count(m, out_tile);
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  for (std::size_t a = 0; a < tiles; ++a)
    for (std::size_t b = 0; b <= a; ++b) pairs.emplace_back(a, b);
  MatrixXd gram = MatrixXd::Zero(static_cast<Eigen::Index>(m), static_cast<Eigen::Index>(m));
  parallel_for_dynamic(pairs.size(), threads, [&](std::size_t p) {
    const auto [a, b] = pairs[p];
    const std::size_t a0 = a * out_tile, na = std::min(out_tile, m - a0);
    const std::size_t b0 = b * out_tile, nb = std::min(out_tile, m - b0);
    RowMatrixXf ta, tb;
    MatrixXf partial;
    MatrixXd acc = MatrixXd::Zero(static_cast<Eigen::Index>(na), static_cast<Eigen::Index>(nb));
    for (std::size_t s0 = 0; s0 < inner; s0 += inner_tile) {
      const std::size_t ns = std::min(inner_tile, inner - s0);
      if (row_side) {
        x.tile(a0, na, s0, ns, ta);
        if (a != b) x.tile(b0, nb, s0, ns, tb);
        partial.noalias() = ta * (a != b ? tb : ta).transpose();
      } else {
        x.tile(s0, ns, a0, na, ta);
        if (a != b) x.tile(s0, ns, b0, nb, tb);
        partial.noalias() = ta.transpose() * (a != b ? tb : ta);
      }
      acc += partial.cast<double>();
    }
    gram.block(static_cast<Eigen::Index>(a0), static_cast<Eigen::Index>(b0), acc.rows(), acc.cols()) = acc;
  });
  return gram.selfadjointView<Eigen::Lower>();
}

// Orthonormal basis of the column space. CholeskyQR2 (two rounds of Q R⁻¹ with R from the
// Cholesky of QᵀQ) is GEMM-bound and ~3x faster than Householder on tall thin matrices, and
// orthonormal to machine precision while cond(A) < ~1e6; rank-deficient or ill-conditioned
// input (tiny or constant data) falls back to Householder, which is always orthonormal.
MatrixXd orthonormalise(const MatrixXd& a) {
  MatrixXd q = a;
  bool ok = a.cols() > 0;
  for (int round = 0; round < 2 && ok; ++round) {
    MatrixXd g = MatrixXd::Zero(q.cols(), q.cols());
    g.selfadjointView<Eigen::Lower>().rankUpdate(q.transpose());
    Eigen::LLT<MatrixXd> llt(g);
    const VectorXd diag = llt.matrixLLT().diagonal();
    ok = llt.info() == Eigen::Success && diag.allFinite() && diag.minCoeff() > 1e-6 * diag.maxCoeff();
    if (ok) llt.matrixU().solveInPlace<Eigen::OnTheRight>(q);
  }
  if (ok) return q;
  Eigen::HouseholderQR<MatrixXd> qr(a);
  return qr.householderQ() * MatrixXd::Identity(a.rows(), a.cols());
}

// Leading eigenpairs of a symmetric matrix, descending.
void top_eigenpairs(const MatrixXd& sym, std::size_t k, VectorXd& values, MatrixXd& vectors) {
  Eigen::SelfAdjointEigenSolver<MatrixXd> solver(sym);
  if (solver.info() != Eigen::Success) throw std::runtime_error("pca: eigendecomposition did not converge");
  const Eigen::Index kk = static_cast<Eigen::Index>(k);
  values = solver.eigenvalues().tail(kk).reverse();
  vectors = solver.eigenvectors().rightCols(kk).rowwise().reverse();
}

// Removes from `e` its components along the first `count` columns of v, twice ("twice is
// enough", Parlett), so the result is orthogonal to working precision.
void orthogonalise_against(const MatrixXd& v, Eigen::Index count, VectorXd& e) {
  for (int pass = 0; pass < 2; ++pass)
    for (Eigen::Index p = 0; p < count; ++p) e -= v.col(p).dot(e) * v.col(p);
}

// Directions (columns of v, cols x k) from the Gram path: normalised and orthogonalised against
// the earlier ones (float tiles leave them orthogonal only to ~1e-7); null directions, which
// carry no data, are replaced by standard unit vectors completed into the orthonormal basis.
void finish_directions(MatrixXd& v, const std::vector<bool>& null) {
  const Eigen::Index d = v.rows(), k = v.cols();
  Eigen::Index next_unit = 0;
  for (Eigen::Index c = 0; c < k; ++c) {
    VectorXd e = v.col(c);
    if (!null[static_cast<std::size_t>(c)]) {
      orthogonalise_against(v, c, e);
      const double norm = e.norm();
      if (norm > 0.0 && std::isfinite(norm)) {
        v.col(c) = e / norm;
        continue;
      }
    }
    // The first unit vector mostly outside the span so far; if none is (only when c is close
    // to d), the one with the largest residual, which is at least sqrt((d - c) / d).
    VectorXd best;
    double best_norm = -1.0;
    for (Eigen::Index j = 0; j < d && best_norm <= 0.5; ++j) {
      const Eigen::Index unit = (next_unit + j) % d;
      e = VectorXd::Unit(d, unit);
      orthogonalise_against(v, c, e);
      const double norm = e.norm();
      if (norm > best_norm) {
        best = e / norm;
        best_norm = norm;
        if (norm > 0.5) next_unit = unit + 1;
      }
    }
    v.col(c) = best;
  }
}

bool use_exact(const PcaOptions& o, std::size_t m, std::size_t k) {
  switch (o.solver) {
    case PcaSolver::Exact: return true;
    case PcaSolver::Randomized: return false;
    case PcaSolver::Auto: break;
  }
  return m <= static_cast<std::size_t>(std::max(0, o.exact_max_dim)) ||
         2 * (k + static_cast<std::size_t>(std::max(0, o.oversampling))) >= m;
}

}  // namespace

PcaResult pca(const FloatMatrix& data, const PcaOptions& options, const ProgressCallback& progress) {
  const std::size_t n = data.rows, d = data.cols;
  const int threads = resolve_threads(options.num_threads);
  const std::size_t m = std::min(n, d);
  const std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(std::max(0, options.components)), m);
  const double dof = n > 1 ? static_cast<double>(n - 1) : 1.0;

  PcaResult result;
  result.projected = FloatMatrix(n, k);
  result.components = FloatMatrix(k, d);
  if (n == 0 || d == 0) return result;

  const bool exact = use_exact(options, m, k);
  const int power_iterations = std::max(0, options.power_iterations);
  const std::size_t total_steps = exact ? 3 : static_cast<std::size_t>(2 * power_iterations + 3);
  std::size_t step = 0;
  report(progress, step, total_steps);

  Moments moments = column_moments(data, threads);
  result.total_variance = moments.sum_squares / dof;
  result.mean.assign(moments.mean.begin(), moments.mean.end());
  const CentredData x(data, std::move(moments.mean));
  report(progress, ++step, total_steps);
  if (k == 0) return result;

  MatrixXd v;           // cols x k directions
  MatrixXd projected;   // rows x k
  VectorXd variance;    // k eigenvalues of Xcᵀ Xc (not yet divided by dof)
  if (exact && d <= n) {
    // Covariance side: the eigenvectors are the directions, orthonormal by construction.
    top_eigenpairs(centred_gram(x, false, threads), k, variance, v);
    report(progress, ++step, total_steps);
  } else if (exact) {
    // Gram side (wide data): directions are Xcᵀ u / sqrt(λ); never forms the cols x cols covariance.
    MatrixXd u;
    top_eigenpairs(centred_gram(x, true, threads), k, variance, u);
    report(progress, ++step, total_steps);
    v = centred_transpose_times(x, u, threads);
    std::vector<bool> null(k);
    const double floor = kNullRelative * std::max(variance(0), 0.0);
    for (std::size_t c = 0; c < k; ++c) null[c] = !(variance(static_cast<Eigen::Index>(c)) > floor);
    finish_directions(v, null);
  } else {
    // Randomized range finder on the row space (Halko, Martinsson & Tropp 2011, alg. 4.4):
    // start from Xcᵀ Ω so the Gaussian test matrix is rows x l rather than cols x l.
    const std::size_t l = std::min(m, k + static_cast<std::size_t>(std::max(0, options.oversampling)));
    MatrixXd omega(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(l));
    Rng rng(derive_seed(options.seed, 0));
    for (Eigen::Index j = 0; j < omega.cols(); ++j)
      for (Eigen::Index i = 0; i < omega.rows(); ++i) omega(i, j) = standard_normal(rng);
    MatrixXd z = orthonormalise(centred_transpose_times(x, omega, threads));
    report(progress, ++step, total_steps);
    for (int q = 0; q < power_iterations; ++q) {
      const MatrixXd y = orthonormalise(centred_times(x, z, threads));
      report(progress, ++step, total_steps);
      z = orthonormalise(centred_transpose_times(x, y, threads));
      report(progress, ++step, total_steps);
    }
    // Xc ≈ Xc Z Zᵀ; the SVD of the thin W = Xc Z gives both the directions and the projection.
    const MatrixXd w = centred_times(x, z, threads);
    Eigen::JacobiSVD<MatrixXd> svd(w, Eigen::ComputeThinU | Eigen::ComputeThinV);
    const Eigen::Index kk = static_cast<Eigen::Index>(k);
    v = z * svd.matrixV().leftCols(kk);
    projected = svd.matrixU().leftCols(kk) * svd.singularValues().head(kk).asDiagonal();
    variance = svd.singularValues().head(kk).array().square();
  }
  if (projected.size() == 0) projected = centred_times(x, v, threads);
  report(progress, ++step, total_steps);

  for (std::size_t c = 0; c < k; ++c) {
    const Eigen::Index ci = static_cast<Eigen::Index>(c);
    Eigen::Index arg = 0;
    v.col(ci).cwiseAbs().maxCoeff(&arg);
    const double sign = v(arg, ci) < 0.0 ? -1.0 : 1.0;
    const double ev = std::max(variance(ci), 0.0) / dof;
    result.explained_variance.push_back(ev);
    // Whitening a direction with no variance would only amplify round-off.
    const double whiten_scale = ev > kNullRelative * result.explained_variance.front() ? 1.0 / std::sqrt(ev) : 0.0;
    const double scale = sign * (options.whiten ? whiten_scale : 1.0);
    for (std::size_t j = 0; j < d; ++j) result.components.at(c, j) = static_cast<float>(sign * v(static_cast<Eigen::Index>(j), ci));
    for (std::size_t i = 0; i < n; ++i)
      result.projected.at(i, c) = static_cast<float>(scale * projected(static_cast<Eigen::Index>(i), ci));
  }
  return result;
}

}  // namespace photoatlas::embed
