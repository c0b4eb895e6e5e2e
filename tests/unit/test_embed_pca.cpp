#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <vector>

#include "core/rng.h"
#include "embed/pca.h"

namespace photoatlas::embed {
namespace {

// Data whose principal axes and variances are known exactly: `directions` (cols x r,
// orthonormal) with sample variances `variances`, plus a mean offset. The scores are made
// exactly uncorrelated and centred, so the covariance is exactly U diag(variances) Uᵀ.
struct KnownData {
  FloatMatrix data;
  Eigen::MatrixXd directions;
  std::vector<double> variances;
};

KnownData known_data(std::size_t rows, std::size_t cols, const std::vector<double>& variances, std::uint64_t seed) {
  const auto r = static_cast<Eigen::Index>(variances.size());
  Rng rng(seed);
  Eigen::MatrixXd a(static_cast<Eigen::Index>(cols), r);
  for (Eigen::Index j = 0; j < a.cols(); ++j)
    for (Eigen::Index i = 0; i < a.rows(); ++i) a(i, j) = standard_normal(rng);
  Eigen::HouseholderQR<Eigen::MatrixXd> qa(a);
  Eigen::MatrixXd directions = qa.householderQ() * Eigen::MatrixXd::Identity(a.rows(), r);

  Eigen::MatrixXd s(static_cast<Eigen::Index>(rows), r);
  for (Eigen::Index j = 0; j < s.cols(); ++j)
    for (Eigen::Index i = 0; i < s.rows(); ++i) s(i, j) = standard_normal(rng);
  s.rowwise() -= s.colwise().mean();
  Eigen::HouseholderQR<Eigen::MatrixXd> qs(s);
  Eigen::MatrixXd scores = qs.householderQ() * Eigen::MatrixXd::Identity(s.rows(), r);
  for (Eigen::Index j = 0; j < r; ++j) scores.col(j) *= std::sqrt(variances[j] * static_cast<double>(rows - 1));

  KnownData out;
  out.data = FloatMatrix(rows, cols);
  const Eigen::MatrixXd x = scores * directions.transpose();
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j)
      out.data.at(i, j) = static_cast<float>(3.0 + 0.5 * static_cast<double>(j % 7) + x(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)));
  out.directions = directions;
  out.variances = variances;
  return out;
}

double dot_row(const FloatMatrix& m, std::size_t row, const Eigen::VectorXd& v) {
  double s = 0.0;
  for (std::size_t j = 0; j < m.cols; ++j) s += m.at(row, j) * v(static_cast<Eigen::Index>(j));
  return s;
}

double row_dot(const FloatMatrix& m, std::size_t a, std::size_t b) {
  double s = 0.0;
  for (std::size_t j = 0; j < m.cols; ++j) s += static_cast<double>(m.at(a, j)) * m.at(b, j);
  return s;
}

void expect_orthonormal(const FloatMatrix& components) {
  for (std::size_t a = 0; a < components.rows; ++a)
    for (std::size_t b = 0; b <= a; ++b) EXPECT_NEAR(row_dot(components, a, b), a == b ? 1.0 : 0.0, 1e-5) << a << "," << b;
}

void expect_sign_convention(const FloatMatrix& components) {
  for (std::size_t c = 0; c < components.rows; ++c) {
    std::size_t arg = 0;
    for (std::size_t j = 1; j < components.cols; ++j)
      if (std::fabs(components.at(c, j)) > std::fabs(components.at(c, arg))) arg = j;
    EXPECT_GT(components.at(c, arg), 0.0f) << "component " << c;
  }
}

void expect_all_finite(const PcaResult& r) {
  for (float v : r.projected.values) ASSERT_TRUE(std::isfinite(v));
  for (float v : r.components.values) ASSERT_TRUE(std::isfinite(v));
  for (double v : r.explained_variance) ASSERT_TRUE(std::isfinite(v));
  ASSERT_TRUE(std::isfinite(r.total_variance));
}

// Checks a result against the known decomposition: variances, directions (up to sign),
// the trace, and that projected = (data - mean) componentsᵀ reconstructs the data.
void expect_matches_known(const KnownData& known, const PcaResult& r, std::size_t k) {
  ASSERT_EQ(r.explained_variance.size(), k);
  ASSERT_EQ(r.components.rows, k);
  ASSERT_EQ(r.projected.cols, k);
  double total = 0.0;
  for (double v : known.variances) total += v;
  EXPECT_NEAR(r.total_variance, total, 1e-4 * total);
  for (std::size_t c = 0; c < k; ++c) {
    const double expected = c < known.variances.size() ? known.variances[c] : 0.0;
    EXPECT_NEAR(r.explained_variance[c], expected, 1e-4 * known.variances[0]) << "component " << c;
    if (c < known.variances.size()) {
      EXPECT_NEAR(std::fabs(dot_row(r.components, c, known.directions.col(static_cast<Eigen::Index>(c)))), 1.0, 1e-5);
    }
  }
  expect_orthonormal(r.components);
  expect_sign_convention(r.components);
  for (std::size_t i = 0; i < known.data.rows; ++i) {
    for (std::size_t j = 0; j < known.data.cols; ++j) {
      double rebuilt = r.mean[j];
      for (std::size_t c = 0; c < k; ++c) rebuilt += static_cast<double>(r.projected.at(i, c)) * r.components.at(c, j);
      ASSERT_NEAR(rebuilt, known.data.at(i, j), 1e-3) << i << "," << j;
    }
  }
}

TEST(Pca, TallDataRecoversKnownDecomposition) {
  const KnownData known = known_data(400, 30, {25.0, 9.0, 4.0, 1.0, 0.25}, 1);
  PcaOptions options;
  options.components = 8;
  const PcaResult r = pca(known.data, options);
  expect_matches_known(known, r, 8);
}

TEST(Pca, WideDataRecoversKnownDecompositionThroughGram) {
  const KnownData known = known_data(40, 300, {25.0, 9.0, 4.0, 1.0, 0.25}, 2);
  PcaOptions options;
  options.components = 8;
  const PcaResult r = pca(known.data, options);
  expect_matches_known(known, r, 8);
}

TEST(Pca, RandomizedRecoversKnownDecomposition) {
  const KnownData known = known_data(200, 500, {25.0, 9.0, 4.0, 1.0, 0.25}, 3);
  PcaOptions options;
  options.components = 5;
  options.solver = PcaSolver::Randomized;
  const PcaResult r = pca(known.data, options);
  expect_matches_known(known, r, 5);
}

TEST(Pca, ProjectionIsCentredDataTimesComponents) {
  const KnownData known = known_data(120, 60, {16.0, 4.0, 1.0}, 4);
  PcaOptions options;
  options.components = 3;
  const PcaResult r = pca(known.data, options);
  for (std::size_t i = 0; i < known.data.rows; ++i)
    for (std::size_t c = 0; c < 3; ++c) {
      double expected = 0.0;
      for (std::size_t j = 0; j < known.data.cols; ++j)
        expected += (static_cast<double>(known.data.at(i, j)) - r.mean[j]) * r.components.at(c, j);
      EXPECT_NEAR(r.projected.at(i, c), expected, 1e-4);
    }
}

TEST(Pca, RandomizedMatchesExactOnWideMatrix) {
  // 300 x 5000: ten strong directions over isotropic noise.
  std::vector<double> variances;
  for (int c = 0; c < 10; ++c) variances.push_back(100.0 / (1.0 + c));
  KnownData known = known_data(300, 5000, variances, 5);
  Rng rng(99);
  for (float& v : known.data.values) v += static_cast<float>(0.05 * standard_normal(rng));

  PcaOptions options;
  options.components = 10;
  options.solver = PcaSolver::Exact;
  const PcaResult exact = pca(known.data, options);
  options.solver = PcaSolver::Randomized;
  const PcaResult randomized = pca(known.data, options);
  ASSERT_EQ(randomized.components.rows, 10u);
  for (std::size_t c = 0; c < 10; ++c) {
    EXPECT_NEAR(randomized.explained_variance[c], exact.explained_variance[c], 1e-3 * exact.explained_variance[c]);
    // Signs are fixed by the same convention, so the directions agree without a sign flip.
    double cosine = 0.0;
    for (std::size_t j = 0; j < exact.components.cols; ++j)
      cosine += static_cast<double>(exact.components.at(c, j)) * randomized.components.at(c, j);
    EXPECT_GT(cosine, 0.999) << "component " << c;
  }
  EXPECT_DOUBLE_EQ(randomized.total_variance, exact.total_variance);
}

TEST(Pca, ComponentsClippedToSmallerDimension) {
  Rng rng(6);
  FloatMatrix tall(7, 3), wide(3, 10);
  for (float& v : tall.values) v = static_cast<float>(standard_normal(rng));
  for (float& v : wide.values) v = static_cast<float>(standard_normal(rng));
  PcaOptions options;  // 50 components requested
  for (const FloatMatrix* m : {&tall, &wide}) {
    const PcaResult r = pca(*m, options);
    EXPECT_EQ(r.components.rows, 3u);
    EXPECT_EQ(r.projected.cols, 3u);
    EXPECT_EQ(r.explained_variance.size(), 3u);
    expect_all_finite(r);
    expect_orthonormal(r.components);
    for (std::size_t c = 1; c < r.explained_variance.size(); ++c)
      EXPECT_LE(r.explained_variance[c], r.explained_variance[c - 1] + 1e-9);
  }
  // Three centred rows span two dimensions: the third component carries nothing.
  const PcaResult r = pca(wide, options);
  EXPECT_NEAR(r.explained_variance[2], 0.0, 1e-5 * r.explained_variance[0]);
  double sum = 0.0;
  for (double v : r.explained_variance) sum += v;
  EXPECT_NEAR(sum, r.total_variance, 1e-4 * r.total_variance);
}

TEST(Pca, DegenerateInputsGiveFiniteResults) {
  PcaOptions options;
  options.components = 4;
  const PcaResult empty = pca(FloatMatrix(0, 5), options);
  EXPECT_EQ(empty.projected.rows, 0u);
  EXPECT_EQ(empty.components.rows, 0u);

  FloatMatrix one(1, 6);
  for (std::size_t j = 0; j < 6; ++j) one.at(0, j) = static_cast<float>(j);
  const PcaResult single = pca(one, options);
  ASSERT_EQ(single.components.rows, 1u);
  expect_all_finite(single);
  expect_orthonormal(single.components);
  EXPECT_EQ(single.explained_variance[0], 0.0);
  EXPECT_EQ(single.projected.at(0, 0), 0.0f);

  // Constant data, tall (covariance path) and wide (Gram path).
  FloatMatrix constant_tall(20, 8), constant_wide(5, 40);
  for (float& v : constant_tall.values) v = 2.5f;
  for (float& v : constant_wide.values) v = 2.5f;
  for (const FloatMatrix* constant : {&constant_tall, &constant_wide}) {
    for (PcaSolver solver : {PcaSolver::Exact, PcaSolver::Randomized}) {
      options.solver = solver;
      options.whiten = true;
      const PcaResult r = pca(*constant, options);
      ASSERT_EQ(r.components.rows, 4u);
      expect_all_finite(r);
      expect_orthonormal(r.components);
      EXPECT_EQ(r.total_variance, 0.0);
      for (float v : r.projected.values) EXPECT_EQ(v, 0.0f);
    }
  }

  // Rank one, wide: one real direction, the rest completed into an orthonormal basis.
  FloatMatrix rank_one(6, 30);
  for (std::size_t i = 0; i < 6; ++i)
    for (std::size_t j = 0; j < 30; ++j) rank_one.at(i, j) = static_cast<float>(1.0 + 0.1 * j + (i * 0.5) * std::sin(j + 1.0));
  for (PcaSolver solver : {PcaSolver::Exact, PcaSolver::Randomized}) {
    options.solver = solver;
    options.whiten = false;
    const PcaResult r = pca(rank_one, options);
    ASSERT_EQ(r.components.rows, 4u);
    expect_all_finite(r);
    expect_orthonormal(r.components);
    EXPECT_NEAR(r.explained_variance[0], r.total_variance, 1e-5 * r.total_variance);
    for (std::size_t c = 1; c < 4; ++c) EXPECT_NEAR(r.explained_variance[c], 0.0, 1e-5 * r.total_variance);
  }
}

TEST(Pca, WhiteningGivesUnitVariance) {
  const KnownData known = known_data(200, 20, {25.0, 4.0, 1.0}, 7);
  PcaOptions options;
  options.components = 3;
  options.whiten = true;
  const PcaResult r = pca(known.data, options);
  for (std::size_t c = 0; c < 3; ++c) {
    double ss = 0.0;
    for (std::size_t i = 0; i < r.projected.rows; ++i) ss += static_cast<double>(r.projected.at(i, c)) * r.projected.at(i, c);
    EXPECT_NEAR(ss / static_cast<double>(r.projected.rows - 1), 1.0, 1e-4);
  }
}

TEST(Pca, DeterministicForSeedAndIndependentOfThreads) {
  Rng rng(8);
  FloatMatrix data(150, 700);
  for (float& v : data.values) v = static_cast<float>(standard_normal(rng));
  for (PcaSolver solver : {PcaSolver::Exact, PcaSolver::Randomized}) {
    PcaOptions options;
    options.components = 12;
    options.solver = solver;
    options.seed = 42;
    options.num_threads = 1;
    const PcaResult a = pca(data, options);
    const PcaResult b = pca(data, options);
    options.num_threads = 3;
    const PcaResult c = pca(data, options);
    EXPECT_EQ(a.projected.values, b.projected.values);
    EXPECT_EQ(a.components.values, b.components.values);
    EXPECT_EQ(a.projected.values, c.projected.values);
    EXPECT_EQ(a.components.values, c.components.values);
    EXPECT_EQ(a.explained_variance, c.explained_variance);
  }
}

}  // namespace
}  // namespace photoatlas::embed
