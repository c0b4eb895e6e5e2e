#include "pipeline/mpi_pca.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include <Eigen/Dense>

#if PHOTOATLAS_WITH_MPI
#include <mpi.h>
#endif

namespace photoatlas::pipeline {

#if PHOTOATLAS_WITH_MPI

namespace {

using MatrixD = Eigen::MatrixXd;
using MatrixF = Eigen::MatrixXf;
using RowsF = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

// The sum over the ranks, identical on every rank (reduced on rank 0, then broadcast: an
// all-reduce may add in a different order on different ranks, and every rank must continue from
// the same numbers).
void sum_over_ranks(double* data, int count) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0)
    MPI_Reduce(MPI_IN_PLACE, data, count, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
  else
    MPI_Reduce(data, nullptr, count, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
  MPI_Bcast(data, count, MPI_DOUBLE, 0, MPI_COMM_WORLD);
}

void sum_over_ranks(MatrixD& m) { sum_over_ranks(m.data(), static_cast<int>(m.size())); }

// Centred rows times `right` (cols x l): X·R − 1·(μᵀR), without forming the centred data.
MatrixD centred_times(const RowsF& x, const Eigen::RowVectorXd& mean, const MatrixD& right) {
  const MatrixF product = x * right.cast<float>();
  MatrixD out = product.cast<double>();
  out.rowwise() -= mean * right;
  return out;
}

// Centred rowsᵀ times `left` (rows x l), summed over the ranks: Xᵀ·L − μ·(1ᵀL).
MatrixD centred_transpose_times(const RowsF& x, const Eigen::RowVectorXd& mean, const MatrixD& left) {
  MatrixD out = (x.transpose() * left.cast<float>()).cast<double>();
  out -= mean.transpose() * left.colwise().sum();
  sum_over_ranks(out);
  return out;
}

enum class Rows { Distributed, Local };

// Orthonormal columns spanning the tall matrix `y` (SVQB): Q = Y·W·Λ^(-1/2) from the
// eigendecomposition of the Gram matrix YᵀY (summed over the ranks when y's rows are spread over
// them), dropping directions whose eigenvalue is round-off (a sample of rank below l). Every rank
// keeps the same columns. Half the work of a Householder QR with its Q formed, on d x l matrices.
MatrixD orthonormal_columns(const MatrixD& y, Rows rows = Rows::Distributed) {
  MatrixD gram = y.transpose() * y;
  if (rows == Rows::Distributed) sum_over_ranks(gram);
  Eigen::SelfAdjointEigenSolver<MatrixD> eigen(gram);
  const Eigen::VectorXd& values = eigen.eigenvalues();  // ascending
  const double largest = values.size() ? values(values.size() - 1) : 0.0;
  std::vector<Eigen::Index> kept;
  for (Eigen::Index i = values.size() - 1; i >= 0; --i)
    if (values(i) > largest * 1e-12 && values(i) > 0) kept.push_back(i);
  MatrixD scale(y.cols(), static_cast<Eigen::Index>(kept.size()));
  for (std::size_t c = 0; c < kept.size(); ++c)
    scale.col(static_cast<Eigen::Index>(c)) = eigen.eigenvectors().col(kept[c]) / std::sqrt(values(kept[c]));
  return y * scale;
}

}  // namespace

DistributedPcaResult distributed_pca(const FloatMatrix& local_rows, const DistributedPcaOptions& options) {
  const RowsF x(local_rows.values.data(), static_cast<Eigen::Index>(local_rows.rows),
                static_cast<Eigen::Index>(local_rows.cols));
  const Eigen::Index d = x.cols();

  // Rows, column sums and the sum of squares, over all ranks: the mean and the total variance.
  Eigen::VectorXd moments(d + 2);
  moments.setZero();
  for (Eigen::Index i = 0; i < x.rows(); ++i)  // row by row: never a double copy of the rows
    for (Eigen::Index j = 0; j < d; ++j) {
      const double v = x(i, j);
      moments(j) += v;
      moments(d + 1) += v * v;
    }
  moments(d) = static_cast<double>(x.rows());
  sum_over_ranks(moments.data(), static_cast<int>(moments.size()));
  const double n = moments(d);
  if (n < 2) throw std::runtime_error("distributed PCA needs at least two photos");
  const Eigen::RowVectorXd mean = (moments.head(d) / n).transpose();
  const double total_squares = moments(d + 1) - n * mean.squaredNorm();

  const Eigen::Index k = std::min<Eigen::Index>({options.components, static_cast<Eigen::Index>(n), d});
  const Eigen::Index l = std::min<Eigen::Index>({k + options.oversampling, static_cast<Eigen::Index>(n), d});

  // The random test matrix: the same seed and generator on every rank give the same matrix.
  std::mt19937_64 rng(options.seed ^ 0x9e3779b97f4a7c15ULL);
  std::normal_distribution<double> normal;
  MatrixD omega(d, l);
  for (Eigen::Index j = 0; j < l; ++j)
    for (Eigen::Index i = 0; i < d; ++i) omega(i, j) = normal(rng);

  // Range of the centred data: Y = Xc·Ω, refined by power iterations Y = Xc·orth(Xcᵀ·orth(Y)).
  // The passes go on past power_iterations until the top-k Ritz values (squared singular values
  // of Qᵀ·Xc, from the l x l Gram matrix of Z, which each pass computes anyway) settle: a flat
  // spectrum (signed-sqrt + L2 CNN features) needs more passes than a steep one (raw pixels).
  MatrixD y = centred_times(x, mean, omega);
  Eigen::VectorXd previous_ritz;
  for (int it = 0; it < options.max_power_iterations; ++it) {
    const MatrixD q = orthonormal_columns(y);
    const MatrixD z = centred_transpose_times(x, mean, q);  // d x l, the same on every rank
    const Eigen::SelfAdjointEigenSolver<MatrixD> ritz(z.transpose() * z, Eigen::EigenvaluesOnly);
    const Eigen::VectorXd top = ritz.eigenvalues().tail(std::min<Eigen::Index>(k, z.cols()));
    const bool settled = previous_ritz.size() == top.size() &&
                         ((top - previous_ritz).cwiseAbs().array() <=
                          options.ritz_tolerance * top.cwiseAbs().array().max(1e-300))
                             .all();
    if (it >= options.power_iterations && settled) break;
    previous_ritz = top;
    y = centred_times(x, mean, orthonormal_columns(z, Rows::Local));
  }
  const MatrixD q = orthonormal_columns(orthonormal_columns(y));  // twice: orthonormal to round-off

  // B = Qᵀ·Xc (l x d); its right singular vectors are the principal axes.
  const MatrixD bt = centred_transpose_times(x, mean, q);  // d x l = Bᵀ
  Eigen::SelfAdjointEigenSolver<MatrixD> eigen(bt.transpose() * bt);
  // Fewer directions than k when the data has lower rank: the rest stay zero (no variance), so the
  // output has k columns as embed::pca's has.
  const Eigen::Index found = std::min<Eigen::Index>(k, bt.cols());
  MatrixD axes = MatrixD::Zero(d, k);  // columns: unit principal axes, largest variance first
  double kept = 0.0;
  for (Eigen::Index c = 0; c < found; ++c) {
    const Eigen::Index e = bt.cols() - 1 - c;
    const double value = std::max(eigen.eigenvalues()(e), 0.0);
    kept += value;
    Eigen::VectorXd axis = bt * eigen.eigenvectors().col(e);
    const double norm = axis.norm();
    if (norm > 0) axis /= norm;
    Eigen::Index arg = 0;
    axis.cwiseAbs().maxCoeff(&arg);
    if (axis(arg) < 0) axis = -axis;  // embed::pca's sign convention
    axes.col(c) = axis;
  }

  DistributedPcaResult result;
  result.variance_kept = total_squares > 0 ? kept / total_squares : 1.0;
  const MatrixD projected = centred_times(x, mean, axes);
  result.projected = FloatMatrix(local_rows.rows, static_cast<std::size_t>(k));
  for (Eigen::Index i = 0; i < projected.rows(); ++i)
    for (Eigen::Index j = 0; j < k; ++j)
      result.projected.at(static_cast<std::size_t>(i), static_cast<std::size_t>(j)) = static_cast<float>(projected(i, j));
  return result;
}

#else

DistributedPcaResult distributed_pca(const FloatMatrix&, const DistributedPcaOptions&) {
  throw std::runtime_error("this photoatlas was built without MPI");
}

#endif

}  // namespace photoatlas::pipeline
