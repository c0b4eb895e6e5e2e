#include "cluster/spectral.h"

#include <Eigen/Dense>
#include <Eigen/Sparse>
#include <Spectra/MatOp/SparseSymMatProd.h>
#include <Spectra/SymEigsSolver.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include "embed/knn.h"

namespace photoatlas::cluster {
namespace {

// Below this many points the eigenvectors come from a dense decomposition (Lanczos needs a
// Krylov space of ~2k + 1 vectors, which stops being small against N).
constexpr std::size_t kDenseMaxN = 400;

// Connected components of the graph (breadth first), for the report.
std::size_t count_components(const Eigen::SparseMatrix<double, Eigen::RowMajor>& w) {
  const auto n = static_cast<std::size_t>(w.rows());
  std::vector<char> seen(n, 0);
  std::vector<std::size_t> queue;
  std::size_t components = 0;
  for (std::size_t root = 0; root < n; ++root) {
    if (seen[root]) continue;
    ++components;
    seen[root] = 1;
    queue.assign(1, root);
    while (!queue.empty()) {
      const std::size_t i = queue.back();
      queue.pop_back();
      for (Eigen::SparseMatrix<double, Eigen::RowMajor>::InnerIterator it(w, static_cast<Eigen::Index>(i)); it; ++it) {
        const auto j = static_cast<std::size_t>(it.col());
        if (!seen[j]) seen[j] = 1, queue.push_back(j);
      }
    }
  }
  return components;
}

// y = S x for S = sparse + c u uᵀ, the operator Spectra's Lanczos iterates with.
class RegularisedOp {
 public:
  using Scalar = double;
  RegularisedOp(const Eigen::SparseMatrix<double, Eigen::RowMajor>& sparse, const Eigen::VectorXd& u, double c)
      : sparse_(sparse), u_(u), c_(c) {}
  Eigen::Index rows() const { return sparse_.rows(); }
  Eigen::Index cols() const { return sparse_.cols(); }
  void perform_op(const double* x_in, double* y_out) const {
    Eigen::Map<const Eigen::VectorXd> x(x_in, sparse_.cols());
    Eigen::Map<Eigen::VectorXd> y(y_out, sparse_.rows());
    y.noalias() = sparse_ * x;
    y += (c_ * u_.dot(x)) * u_;
  }

 private:
  const Eigen::SparseMatrix<double, Eigen::RowMajor>& sparse_;
  const Eigen::VectorXd& u_;
  double c_;
};

}  // namespace

SpectralResult spectral_clustering(const FloatMatrix& data, const SpectralOptions& options,
                                   const ProgressCallback& progress) {
  if (options.k < 1) throw std::invalid_argument("spectral clustering: k must be at least 1");
  if (options.neighbours < 2) throw std::invalid_argument("spectral clustering: neighbours must be at least 2");
  if (options.restarts < 1) throw std::invalid_argument("spectral clustering: restarts must be at least 1");
  SpectralResult result;
  const std::size_t n = data.rows;
  if (n == 0) return result;
  const int k = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(options.k), n));
  result.k = k;
  // Too few points for a graph with k + 1 eigenvectors: each point (up to k) is its own cluster.
  if (k == 1 || n <= static_cast<std::size_t>(k) + 1) {
    result.labels.resize(n);
    for (std::size_t i = 0; i < n; ++i) result.labels[i] = static_cast<int>(std::min<std::size_t>(i, k - 1));
    result.sizes.assign(k, 0);
    for (int l : result.labels) ++result.sizes[l];
    result.components = 1;
    return result;
  }
  report(progress, 0, 3);

  // 1. The symmetrised k-nearest-neighbour graph.
  const std::size_t others = std::min<std::size_t>(static_cast<std::size_t>(options.neighbours) - 1, n - 1);
  embed::NeighbourOptions knn;
  knn.num_threads = options.num_threads;
  knn.seed = options.seed;
  const embed::NeighbourGraph graph = embed::nearest_neighbours(data, others, knn);
  std::vector<Eigen::Triplet<double>> entries;
  entries.reserve(2 * n * others);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t t = 0; t < others; ++t) {
      const auto j = static_cast<Eigen::Index>(graph.indices[i * others + t]);
      entries.emplace_back(static_cast<Eigen::Index>(i), j, 0.5);
      entries.emplace_back(j, static_cast<Eigen::Index>(i), 0.5);
    }
  Eigen::SparseMatrix<double, Eigen::RowMajor> w(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
  w.setFromTriplets(entries.begin(), entries.end());  // duplicates (mutual neighbours) add up to 1
  entries = {};
  result.components = count_components(w);
  // Regularised degrees d + tau (tau = options.regularisation x the mean degree) and the weak
  // all-to-all term tau / N (Amini et al. 2013; Zhang & Rohe 2018): the graph is one component
  // (real collections have small islands: bursts of near-identical photos, which would otherwise
  // take eigenvectors of their own, eigenvalue 1 repeated, which Lanczos cannot separate).
  Eigen::VectorXd degree(static_cast<Eigen::Index>(n));
  for (Eigen::Index i = 0; i < w.rows(); ++i) {
    double d = 0.0;
    for (Eigen::SparseMatrix<double, Eigen::RowMajor>::InnerIterator it(w, i); it; ++it) d += it.value();
    degree[i] = d;
  }
  const double tau = std::max(options.regularisation, 0.0) * degree.mean();
  Eigen::VectorXd inv_sqrt_degree(static_cast<Eigen::Index>(n));
  for (Eigen::Index i = 0; i < degree.size(); ++i) inv_sqrt_degree[i] = 1.0 / std::sqrt(degree[i] + tau);
  // S = D_tau^-1/2 (W + tau/N 11ᵀ) D_tau^-1/2 = sparse part + (tau / N) u uᵀ, u = D_tau^-1/2 1
  // (eigenvalues in [-1, 1]; the largest belong to the smoothest vectors).
  Eigen::SparseMatrix<double, Eigen::RowMajor> s = w;
  for (Eigen::Index i = 0; i < s.rows(); ++i)
    for (Eigen::SparseMatrix<double, Eigen::RowMajor>::InnerIterator it(s, i); it; ++it)
      it.valueRef() *= inv_sqrt_degree[i] * inv_sqrt_degree[it.col()];
  const double rank_one = tau / static_cast<double>(n);
  report(progress, 1, 3);

  // 2. The k + 1 leading eigenvectors.
  const int wanted = k + 1;
  Eigen::VectorXd values;
  Eigen::MatrixXd vectors;
  if (n <= kDenseMaxN) {
    Eigen::MatrixXd dense = Eigen::MatrixXd(s) + rank_one * inv_sqrt_degree * inv_sqrt_degree.transpose();
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(dense);
    if (solver.info() != Eigen::Success) throw std::runtime_error("spectral clustering: eigendecomposition failed");
    // Ascending: the largest are the last columns.
    values = solver.eigenvalues().tail(wanted).reverse();
    vectors = solver.eigenvectors().rightCols(wanted).rowwise().reverse();
  } else {
    RegularisedOp op(s, inv_sqrt_degree, rank_one);
    const Eigen::Index ncv = std::min<Eigen::Index>(static_cast<Eigen::Index>(n), std::max(2 * wanted + 1, 30));
    Spectra::SymEigsSolver<RegularisedOp> eigs(op, wanted, ncv);
    eigs.init();  // a fixed start vector: the result is reproducible
    eigs.compute(Spectra::SortRule::LargestAlge, 5000, 1e-8);
    if (eigs.info() != Spectra::CompInfo::Successful)
      throw std::runtime_error("spectral clustering: the eigensolver did not converge (" + std::to_string(n) +
                               " points, " + std::to_string(wanted) + " eigenvectors)");
    values = eigs.eigenvalues();  // descending
    vectors = eigs.eigenvectors();
  }
  result.eigenvalues.assign(values.data(), values.data() + values.size());
  report(progress, 2, 3);

  // 3. Rows of the k + 1 eigenvectors, divided by sqrt(degree), scaled to unit length; K-Means.
  // The trivial eigenvector stays in: on a connected graph it adds one constant coordinate
  // (before the scaling), and when the graph falls apart the eigenvalue 1 repeats and any basis
  // of its eigenspace may come out first; dropping one would merge components (measured on the
  // labelled photo sets: the same NMI with or without it when the graph is connected).
  const int dims = wanted;
  result.embedding = FloatMatrix(n, static_cast<std::size_t>(dims));
  for (std::size_t i = 0; i < n; ++i) {
    const auto row = static_cast<Eigen::Index>(i);
    double norm = 0.0;
    for (int c = 0; c < dims; ++c) {
      const double v = vectors(row, c) * inv_sqrt_degree[row];
      norm += v * v;
    }
    const double scale = norm > 0.0 ? 1.0 / std::sqrt(norm) : 0.0;
    for (int c = 0; c < dims; ++c)
      result.embedding.at(i, static_cast<std::size_t>(c)) =
          static_cast<float>(vectors(row, c) * inv_sqrt_degree[row] * scale);
  }
  KMeansOptions kmeans_options;
  kmeans_options.k = k;
  kmeans_options.restarts = options.restarts;
  kmeans_options.seed = options.seed;
  kmeans_options.num_threads = options.num_threads;
  Clustering clustering = kmeans(result.embedding, kmeans_options);
  result.labels = std::move(clustering.labels);
  result.k = clustering.k;
  result.sizes = std::move(clustering.sizes);
  report(progress, 3, 3);
  return result;
}

}  // namespace photoatlas::cluster
